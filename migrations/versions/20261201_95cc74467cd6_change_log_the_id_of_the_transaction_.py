"""Change log: the id of the transaction that wrote each change (pulls read below the oldest one running), no global lock

Revision ID: 95cc74467cd6
Revises: c604641b6748
Create Date: 2026-12-01 02:51:00.033273

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '95cc74467cd6'
down_revision = 'c604641b6748'
branch_labels = None
depends_on = None


def upgrade():
    # Changes logged so far were numbered in commit order (under the lock this removes): xact_id 0
    # puts them before every later one, so a device's old cursor c1.<seq> reads as (0, seq).
    with op.batch_alter_table('change', schema=None) as batch_op:
        batch_op.add_column(sa.Column('xact_id', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.drop_index(batch_op.f('ix_change_site_id_seq'))
        batch_op.create_index('ix_change_site_id_xact_id_seq', ['site_id', 'xact_id', 'seq'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("ALTER TABLE change ALTER COLUMN xact_id SET DEFAULT (pg_current_xact_id()::text::bigint)")


def downgrade():
    with op.batch_alter_table('change', schema=None) as batch_op:
        batch_op.drop_index('ix_change_site_id_xact_id_seq')
        batch_op.create_index(batch_op.f('ix_change_site_id_seq'), ['site_id', 'seq'], unique=False)
        batch_op.drop_column('xact_id')
