"""partner directory: the HSDS object as another system sent it, and as CareCycle exported it then

Revision ID: a9c4e2f7b310
Revises: 67bfb0e569fa
Create Date: 2026-12-03 21:40:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a9c4e2f7b310'
down_revision = '67bfb0e569fa'
branch_labels = None
depends_on = None

TABLES = ('partner_organisation', 'partner_location', 'partner_service')


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('hsds_source', sa.JSON(), nullable=True))
            batch_op.add_column(sa.Column('hsds_image', sa.JSON(), nullable=True))


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('hsds_image')
            batch_op.drop_column('hsds_source')
