"""One open ticket per failed item and place; each ticket event keeps the version it made

Revision ID: 8c1e4b7a9d20
Revises: 5d2f8a91c0be
Create Date: 2026-12-03 19:00:00

Two servers receiving two failures of one item at once could each open a ticket. Before the
unique index goes on, such pairs are made one: the oldest stays the item's open ticket, the
later ones keep their history and stay open but no longer stand for the item (item_id NULL), so
a re-check closes the one ticket it should.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8c1e4b7a9d20'
down_revision = '5d2f8a91c0be'
branch_labels = None
depends_on = None

OPEN_ITEM = "state != 'closed' AND item_id IS NOT NULL"


def upgrade():
    with op.batch_alter_table('ticket_event') as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=True))
    op.execute(
        f"""UPDATE ticket SET item_id = NULL WHERE id IN (
              SELECT id FROM (
                SELECT id, row_number() OVER (PARTITION BY location_id, item_id ORDER BY created_at, number) AS n
                FROM ticket WHERE {OPEN_ITEM}) AS ranked
              WHERE n > 1)"""
    )
    op.create_index(
        'ux_ticket_open_item',
        'ticket',
        ['location_id', 'item_id'],
        unique=True,
        sqlite_where=sa.text(OPEN_ITEM),
        postgresql_where=sa.text(OPEN_ITEM),
    )


def downgrade():
    op.drop_index('ux_ticket_open_item', table_name='ticket')
    with op.batch_alter_table('ticket_event') as batch_op:
        batch_op.drop_column('version')
