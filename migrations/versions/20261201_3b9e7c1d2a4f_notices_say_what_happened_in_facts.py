"""Notices keep what happened as a code and its facts, worded in the reader's language

Revision ID: 3b9e7c1d2a4f
Revises: 74c580e88c32
Create Date: 2026-12-01 13:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3b9e7c1d2a4f'
down_revision = '74c580e88c32'
branch_labels = None
depends_on = None

notice = sa.table(
    'notice',
    sa.column('id', sa.Integer),
    sa.column('title', sa.String),
    sa.column('body', sa.Text),
    sa.column('what', sa.String),
    sa.column('facts', sa.JSON),
)


def upgrade():
    with op.batch_alter_table('notice') as batch:
        batch.add_column(sa.Column('what', sa.String(length=40), nullable=False, server_default='text'))
        batch.add_column(sa.Column('facts', sa.JSON(), nullable=True))
    # Notices raised before keep their words, as written then (Chinese).
    connection = op.get_bind()
    for id_, title, body in connection.execute(sa.select(notice.c.id, notice.c.title, notice.c.body)).all():
        connection.execute(
            notice.update().where(notice.c.id == id_).values(facts={'title': title, 'body': body or ''})
        )
    with op.batch_alter_table('notice') as batch:
        batch.alter_column('what', server_default=None)
        batch.alter_column('facts', existing_type=sa.JSON(), nullable=False)
        batch.drop_column('title')
        batch.drop_column('body')


def downgrade():
    with op.batch_alter_table('notice') as batch:
        batch.add_column(sa.Column('title', sa.String(length=200), nullable=False, server_default=''))
        batch.add_column(sa.Column('body', sa.Text(), nullable=False, server_default=''))
    connection = op.get_bind()
    for id_, what, facts in connection.execute(sa.select(notice.c.id, notice.c.what, notice.c.facts)).all():
        if what == 'text':
            title, body = facts.get('title', ''), facts.get('body', '')
        else:  # a code this schema cannot word: its facts, as they are
            title, body = what, ', '.join(f'{k}={v}' for k, v in facts.items())
        connection.execute(notice.update().where(notice.c.id == id_).values(title=title[:200], body=body))
    with op.batch_alter_table('notice') as batch:
        batch.alter_column('title', server_default=None)
        batch.alter_column('body', server_default=None)
        batch.drop_column('facts')
        batch.drop_column('what')
