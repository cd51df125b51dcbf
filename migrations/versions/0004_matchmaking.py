"""matchmaking events, profiles and sign-ups

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 01:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('match_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('partner', sa.String(length=100), nullable=True),
    sa.Column('location', sa.String(length=200), nullable=False),
    sa.Column('district', sa.String(length=32), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('signup_deadline', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancel_deadline', sa.DateTime(timezone=True), nullable=True),
    sa.Column('age_min', sa.Integer(), nullable=False),
    sa.Column('age_max', sa.Integer(), nullable=True),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('seats_male', sa.Integer(), nullable=True),
    sa.Column('seats_female', sa.Integer(), nullable=True),
    sa.Column('taken_male', sa.Integer(), nullable=False),
    sa.Column('taken_female', sa.Integer(), nullable=False),
    sa.Column('requires_review', sa.Boolean(), nullable=False),
    sa.Column('checkin_code', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('is_sample', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.CheckConstraint('taken_male >= 0 AND taken_female >= 0', name=op.f('ck_match_event_taken_not_negative')),
    sa.CheckConstraint('taken_male + taken_female <= capacity', name=op.f('ck_match_event_within_capacity')),
    sa.CheckConstraint('seats_male IS NULL OR taken_male <= seats_male', name=op.f('ck_match_event_within_male_seats')),
    sa.CheckConstraint('seats_female IS NULL OR taken_female <= seats_female', name=op.f('ck_match_event_within_female_seats')),
    sa.CheckConstraint('age_min >= 18', name=op.f('ck_match_event_adults_only')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_match_event'))
    )
    with op.batch_alter_table('match_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_match_event_district'), ['district'], unique=False)
        batch_op.create_index('ix_match_event_status_starts', ['status', 'starts_at'], unique=False)

    op.create_table('match_profile',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('nickname', sa.String(length=32), nullable=False),
    sa.Column('birth_year', sa.Integer(), nullable=False),
    sa.Column('gender', sa.String(length=8), nullable=False),
    sa.Column('occupation', sa.String(length=32), nullable=False),
    sa.Column('self_intro', sa.Text(), nullable=False),
    sa.Column('photo_url', sa.String(length=500), nullable=True),
    sa.Column('consent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('intro_verdict', sa.String(length=8), nullable=False),
    sa.Column('intro_reason', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_match_profile_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_match_profile')),
    sa.UniqueConstraint('user_id', name=op.f('uq_match_profile_user_id'))
    )

    op.create_table('match_signup',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('gender', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('single_declared_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('queued_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('checked_in_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['match_event.id'], name=op.f('fk_match_signup_event_id_match_event')),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_match_signup_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_match_signup')),
    sa.UniqueConstraint('event_id', 'user_id', name='uq_match_signup_event_user')
    )
    with op.batch_alter_table('match_signup', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_match_signup_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_match_signup_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_match_signup_status'), ['status'], unique=False)
        batch_op.create_index('ix_match_signup_queue', ['event_id', 'status', 'queued_at'], unique=False)


def downgrade():
    op.drop_table('match_signup')
    op.drop_table('match_profile')
    op.drop_table('match_event')
