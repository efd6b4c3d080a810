"""audit_event: grant_id, the break-glass grant an event was recorded under

Revision ID: d7e3b9a15c42
Revises: c4f9a2e71b63
Create Date: 2026-12-02 18:55:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd7e3b9a15c42'
down_revision = 'c4f9a2e71b63'
branch_labels = None
depends_on = None


def upgrade():
    # nullable and left empty on existing events: the chain hash covers grant_id only when it is set
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('grant_id', sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f('ix_audit_event_grant_id'), ['grant_id'], unique=False)


def downgrade():
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_event_grant_id'))
        batch_op.drop_column('grant_id')
