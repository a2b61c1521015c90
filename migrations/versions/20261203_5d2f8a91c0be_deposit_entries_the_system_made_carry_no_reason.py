"""Deposit entries the system made carry no reason: their kind says it, in the reader's language

Revision ID: 5d2f8a91c0be
Revises: 3b9e7c1d2a4f
Create Date: 2026-12-03 16:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5d2f8a91c0be'
down_revision = '3b9e7c1d2a4f'
branch_labels = None
depends_on = None

entry = sa.table('deposit_entry', sa.column('kind', sa.String), sa.column('reason', sa.Text))
WRITTEN = {'deposit': '装修押金', 'refund': '押金退还'}  # what inspections/fitout.py used to write


def upgrade():
    for kind, reason in WRITTEN.items():
        op.execute(entry.update().where(entry.c.kind == kind, entry.c.reason == reason).values(reason=''))


def downgrade():
    for kind, reason in WRITTEN.items():
        op.execute(entry.update().where(entry.c.kind == kind, entry.c.reason == '').values(reason=reason))
