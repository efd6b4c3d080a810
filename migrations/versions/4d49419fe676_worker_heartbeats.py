"""worker_heartbeat: each web worker's host, process, last beat and the key id it seals with (keys reencrypt
waits until every live worker seals with the active key)

Revision ID: 4d49419fe676
Revises: 0d46c2ccf887
Create Date: 2026-12-03 15:59:00.799806

"""
import sqlalchemy as sa
from alembic import op

import carecycle.database

# revision identifiers, used by Alembic.
revision = '4d49419fe676'
down_revision = '0d46c2ccf887'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('worker_heartbeat',
    sa.Column('id', sa.String(length=200), nullable=False),
    sa.Column('host', sa.String(length=120), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('key_id', sa.String(length=20), nullable=False),
    sa.Column('started_at', carecycle.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('seen_at', carecycle.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('stopped_at', carecycle.database.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_worker_heartbeat'))
    )
    with op.batch_alter_table('worker_heartbeat', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_worker_heartbeat_seen_at'), ['seen_at'], unique=False)



def downgrade():
    with op.batch_alter_table('worker_heartbeat', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_worker_heartbeat_seen_at'))

    op.drop_table('worker_heartbeat')
