"""audit checkpoints: when the web app last wrote one

Revision ID: 5e1c0a7d2b90
Revises: 1614a6ed32d8
Create Date: 2026-12-01 10:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

import carecycle.database

# revision identifiers, used by Alembic.
revision = '5e1c0a7d2b90'
down_revision = '1614a6ed32d8'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checkpointed_at', carecycle.database.UTCDateTime(timezone=True),
                                      nullable=True))


def downgrade():
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.drop_column('checkpointed_at')
