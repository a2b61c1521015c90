"""Routing rule: a site's changes to who takes a failed check's ticket

Revision ID: a7d3e5f1b2c9
Revises: 8c1e4b7a9d20
Create Date: 2026-12-04 14:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7d3e5f1b2c9'
down_revision = '8c1e4b7a9d20'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'routing_rule',
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.Column('skipped', sa.JSON(), nullable=False),
        sa.Column('last_resort_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['last_resort_id'], ['app_user.id'], name=op.f('fk_routing_rule_last_resort_id_app_user')),
        sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_routing_rule_site_id_site')),
        sa.PrimaryKeyConstraint('site_id', name=op.f('pk_routing_rule')),
    )


def downgrade():
    op.drop_table('routing_rule')
