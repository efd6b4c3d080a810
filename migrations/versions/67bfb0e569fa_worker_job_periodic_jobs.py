"""worker_job: when each periodic job of `carecycle worker` last ran and may run next

Revision ID: 67bfb0e569fa
Revises: 6466c6961503
Create Date: 2026-12-03 18:40:50.503823

"""
import sqlalchemy as sa
from alembic import op

import carecycle.database

# revision identifiers, used by Alembic.
revision = '67bfb0e569fa'
down_revision = '6466c6961503'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('worker_job',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('next_run_at', carecycle.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', carecycle.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', carecycle.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('host', sa.String(length=120), nullable=True),
    sa.Column('result', sa.String(length=300), nullable=True),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.Column('runs', sa.Integer(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_worker_job'))
    )


def downgrade():
    op.drop_table('worker_job')
