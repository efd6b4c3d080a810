"""alert: public (raised from a public form) and possible_flood (past the service-wide ceiling)

Revision ID: c4f9a2e71b63
Revises: 8b3f6d1e4a27
Create Date: 2026-12-02 16:30:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c4f9a2e71b63'
down_revision = '8b3f6d1e4a27'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('public', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('possible_flood', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_column('possible_flood')
        batch_op.drop_column('public')
