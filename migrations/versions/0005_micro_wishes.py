"""micro-wishes, claims and their history

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 01:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    # The history of each wish goes to the existing status_change table (subject "wish").
    op.create_table('wish',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('submitter_id', sa.Integer(), nullable=True),
    sa.Column('on_behalf_of', sa.String(length=16), nullable=False),
    sa.Column('alias', sa.String(length=16), nullable=False),
    sa.Column('beneficiary_name', sa.String(length=32), nullable=True),
    sa.Column('school', sa.String(length=100), nullable=True),
    sa.Column('contact_phone', sa.String(length=32), nullable=True),
    sa.Column('age_band', sa.String(length=16), nullable=False),
    sa.Column('guardian_consent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('district', sa.String(length=32), nullable=False),
    sa.Column('item', sa.String(length=50), nullable=False),
    sa.Column('story', sa.Text(), nullable=False),
    sa.Column('price_band', sa.String(length=16), nullable=False),
    sa.Column('info_answer', sa.Text(), nullable=True),
    sa.Column('safety_suggest', sa.String(length=8), nullable=False),
    sa.Column('safety_reason', sa.String(length=100), nullable=True),
    sa.Column('safety_source', sa.String(length=16), nullable=False),
    sa.Column('public_alias', sa.String(length=16), nullable=True),
    sa.Column('public_item', sa.String(length=50), nullable=True),
    sa.Column('public_story', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reject_reason', sa.Text(), nullable=True),
    sa.Column('info_request', sa.Text(), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_by', sa.Integer(), nullable=True),
    sa.Column('donor_org', sa.String(length=100), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claim_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivered_note', sa.Text(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('thank_you', sa.Text(), nullable=True),
    sa.Column('thank_you_sent', sa.Boolean(), nullable=False),
    sa.Column('is_sample', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['claimed_by'], ['app_user.id'], name=op.f('fk_wish_claimed_by_app_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['submitter_id'], ['app_user.id'], name=op.f('fk_wish_submitter_id_app_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wish'))
    )
    with op.batch_alter_table('wish', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wish_claimed_by'), ['claimed_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_wish_district'), ['district'], unique=False)
        batch_op.create_index(batch_op.f('ix_wish_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_wish_submitter_id'), ['submitter_id'], unique=False)
        batch_op.create_index('ix_wish_status_approved', ['status', 'approved_at'], unique=False)
        batch_op.create_index('ix_wish_status_claim_expires', ['status', 'claim_expires_at'], unique=False)


def downgrade():
    with op.batch_alter_table('wish', schema=None) as batch_op:
        batch_op.drop_index('ix_wish_status_claim_expires')
        batch_op.drop_index('ix_wish_status_approved')
        batch_op.drop_index(batch_op.f('ix_wish_submitter_id'))
        batch_op.drop_index(batch_op.f('ix_wish_status'))
        batch_op.drop_index(batch_op.f('ix_wish_district'))
        batch_op.drop_index(batch_op.f('ix_wish_claimed_by'))

    op.drop_table('wish')
