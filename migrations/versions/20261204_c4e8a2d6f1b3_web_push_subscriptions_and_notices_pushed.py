"""Web Push: each device's subscription; each person's choices; when a notice went to their phones

Revision ID: c4e8a2d6f1b3
Revises: a7d3e5f1b2c9
Create Date: 2026-12-04 14:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4e8a2d6f1b3'
down_revision = 'a7d3e5f1b2c9'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'push_subscription',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('device_id', sa.Uuid(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('endpoint', sa.String(length=1000), nullable=False),
        sa.Column('p256dh', sa.String(length=200), nullable=False),
        sa.Column('auth', sa.String(length=100), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['device_id'], ['device.id'], name=op.f('fk_push_subscription_device_id_device'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_push_subscription_user_id_app_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_push_subscription')),
        sa.UniqueConstraint('endpoint', name=op.f('uq_push_subscription_endpoint')),
    )
    op.create_index(op.f('ix_push_subscription_device_id'), 'push_subscription', ['device_id'], unique=False)
    op.create_index(op.f('ix_push_subscription_user_id'), 'push_subscription', ['user_id'], unique=False)
    op.create_table(
        'push_preference',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('muted', sa.JSON(), nullable=False),
        sa.Column('quiet_start', sa.Time(), nullable=True),
        sa.Column('quiet_end', sa.Time(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_push_preference_user_id_app_user'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_push_preference')),
    )
    with op.batch_alter_table('notice') as batch:
        batch.add_column(sa.Column('pushed_at', sa.DateTime(timezone=True), nullable=True))
        batch.create_index(batch.f('ix_notice_pushed_at'), ['pushed_at'], unique=False)
    # Notices from before pushes existed are old news to a phone.
    notice = sa.table('notice', sa.column('pushed_at'), sa.column('created_at'))
    op.execute(notice.update().values(pushed_at=notice.c.created_at))


def downgrade():
    with op.batch_alter_table('notice') as batch:
        batch.drop_index(batch.f('ix_notice_pushed_at'))
        batch.drop_column('pushed_at')
    op.drop_table('push_preference')
    op.drop_index(op.f('ix_push_subscription_user_id'), table_name='push_subscription')
    op.drop_index(op.f('ix_push_subscription_device_id'), table_name='push_subscription')
    op.drop_table('push_subscription')
