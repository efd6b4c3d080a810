"""household plan sharing: a signed version shared with the client's resident account

Revision ID: da4e77d1901a
Revises: 55ce5fc7425d
Create Date: 2026-12-07 09:12:27.774285

"""
import sqlalchemy as sa
from alembic import op

import carecycle.database

# revision identifiers, used by Alembic.
revision = 'da4e77d1901a'
down_revision = '55ce5fc7425d'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('household_plan_version', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shared_at', carecycle.database.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('shared_by_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('share_ended_at', carecycle.database.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_household_plan_version_shared_by_id_user_account'), 'user_account', ['shared_by_id'], ['id'])



def downgrade():
    with op.batch_alter_table('household_plan_version', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_household_plan_version_shared_by_id_user_account'), type_='foreignkey')
        batch_op.drop_column('share_ended_at')
        batch_op.drop_column('shared_by_id')
        batch_op.drop_column('shared_at')

