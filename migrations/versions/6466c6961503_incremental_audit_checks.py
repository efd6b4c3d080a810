"""audit_verification.last_seq, last_hash, incremental: where a good check of the audit chain ended, so
that the viewer checks only the events since (the same cost at any length)

Revision ID: 6466c6961503
Revises: 4d49419fe676
Create Date: 2026-12-03 16:56:28.376533

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '6466c6961503'
down_revision = '4d49419fe676'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_verification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_seq', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('last_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('incremental', sa.Boolean(), server_default=sa.false(), nullable=False))



def downgrade():
    with op.batch_alter_table('audit_verification', schema=None) as batch_op:
        batch_op.drop_column('incremental')
        batch_op.drop_column('last_hash')
        batch_op.drop_column('last_seq')

