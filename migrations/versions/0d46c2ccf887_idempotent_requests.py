"""idempotent_request: the first answer to an API POST sent with an Idempotency-Key, replayed to a
retry by the same user within 24 hours (the body encrypted)

Revision ID: 0d46c2ccf887
Revises: c95295e23773
Create Date: 2026-12-03 15:55:11.139770

"""
import sqlalchemy as sa
from alembic import op

import carecycle.crypto
import carecycle.database

# revision identifiers, used by Alembic.
revision = '0d46c2ccf887'
down_revision = 'c95295e23773'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('idempotent_request',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('location', sa.String(length=500), nullable=True),
    sa.Column('body', carecycle.crypto.Sealed(), nullable=True),
    sa.Column('created_at', carecycle.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_idempotent_request_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotent_request')),
    sa.UniqueConstraint('user_id', 'key', name='uq_idempotent_request_user_key')
    )
    with op.batch_alter_table('idempotent_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idempotent_request_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_idempotent_request_user_id'), ['user_id'], unique=False)



def downgrade():
    with op.batch_alter_table('idempotent_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idempotent_request_user_id'))
        batch_op.drop_index(batch_op.f('ix_idempotent_request_created_at'))

    op.drop_table('idempotent_request')
