"""screening_result.unscored: the form's unscored questions (the PHQ-9's difficulty), encrypted

Revision ID: a9c3e5f7b1d2
Revises: f1a2b3c4d5e6
Create Date: 2026-12-03 14:20:00.000000

"""
import sqlalchemy as sa
from alembic import op

import carecycle.crypto

# revision identifiers, used by Alembic.
revision = 'a9c3e5f7b1d2'
down_revision = 'f1a2b3c4d5e6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('screening_result', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unscored', carecycle.crypto.Sealed(), nullable=True))


def downgrade():
    with op.batch_alter_table('screening_result', schema=None) as batch_op:
        batch_op.drop_column('unscored')
