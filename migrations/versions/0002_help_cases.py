"""help cases

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 00:48:26.638771

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    
    op.create_table('help_case',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('openid', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=True),
    sa.Column('urgent', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('source_key', sa.String(length=200), nullable=False),
    sa.Column('evidence', sa.String(length=200), nullable=True),
    sa.Column('transcript', sa.JSON(), nullable=False),
    sa.Column('age_band', sa.String(length=16), nullable=True),
    sa.Column('guardian_consent', sa.Boolean(), nullable=True),
    sa.Column('contact_phone', sa.String(length=32), nullable=True),
    sa.Column('preferred_time', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_help_case')),
    sa.UniqueConstraint('kind', 'source_key', name='uq_help_case_kind_source')
    )
    with op.batch_alter_table('help_case', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_help_case_openid'), ['openid'], unique=False)
        batch_op.create_index(batch_op.f('ix_help_case_status'), ['status'], unique=False)




def downgrade():
    
    with op.batch_alter_table('help_case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_help_case_status'))
        batch_op.drop_index(batch_op.f('ix_help_case_openid'))

    op.drop_table('help_case')

