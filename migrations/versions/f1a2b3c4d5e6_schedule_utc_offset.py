"""partner_schedule.utc_offset_minutes: a schedule's own zone when the HSDS data gives one

Revision ID: f1a2b3c4d5e6
Revises: d7e3b1a94c20
Create Date: 2026-12-03 13:45:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'f1a2b3c4d5e6'
down_revision = 'd7e3b1a94c20'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('partner_schedule', schema=None) as batch_op:
        batch_op.add_column(sa.Column('utc_offset_minutes', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('partner_schedule', schema=None) as batch_op:
        batch_op.drop_column('utc_offset_minutes')
