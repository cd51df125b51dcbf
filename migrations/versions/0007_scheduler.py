"""reminder preferences and the record of reminders sent

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 01:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    now = sa.text('(CURRENT_TIMESTAMP)')
    op.create_table('reminder_preference',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('topic', sa.String(length=16), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=now, nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_reminder_preference_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminder_preference')),
    sa.UniqueConstraint('user_id', 'topic', name=op.f('uq_reminder_preference_user_id'))
    )
    with op.batch_alter_table('reminder_preference', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reminder_preference_user_id'), ['user_id'], unique=False)

    op.create_table('reminder_sent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=64), nullable=False),
    sa.Column('slot', sa.String(length=32), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=now, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminder_sent')),
    sa.UniqueConstraint('subject', 'slot', name=op.f('uq_reminder_sent_subject'))
    )

    # APScheduler's SQLAlchemyJobStore table (its own column layout), so job definitions persist.
    op.create_table('scheduler_job',
    sa.Column('id', sa.Unicode(length=191), nullable=False),
    sa.Column('next_run_time', sa.Float(precision=25), nullable=True),
    sa.Column('job_state', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scheduler_job'))
    )
    with op.batch_alter_table('scheduler_job', schema=None) as batch_op:
        batch_op.create_index('ix_scheduler_job_next_run_time', ['next_run_time'], unique=False)


def downgrade():
    with op.batch_alter_table('scheduler_job', schema=None) as batch_op:
        batch_op.drop_index('ix_scheduler_job_next_run_time')
    op.drop_table('scheduler_job')
    op.drop_table('reminder_sent')
    with op.batch_alter_table('reminder_preference', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reminder_preference_user_id'))
    op.drop_table('reminder_preference')
