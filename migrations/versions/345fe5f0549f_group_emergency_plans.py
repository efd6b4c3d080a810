"""group emergency plans: a place or group, the clients it covers, meeting point, roles, last drill

Revision ID: 345fe5f0549f
Revises: dfb9e7b18e1d
Create Date: 2026-12-07 09:34:05.342965

"""
import sqlalchemy as sa
from alembic import op

import carecycle.crypto
import carecycle.database

# revision identifiers, used by Alembic.
revision = '345fe5f0549f'
down_revision = 'dfb9e7b18e1d'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('group_plan',
    sa.Column('team_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('meeting_point', sa.String(length=300), nullable=False),
    sa.Column('roles', carecycle.crypto.Sealed(), nullable=True),
    sa.Column('others', sa.Integer(), nullable=False),
    sa.Column('last_drill_id', sa.Uuid(), nullable=True),
    sa.Column('created_by_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', carecycle.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', carecycle.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('archived_at', carecycle.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_group_plan_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_group_plan_team_id_team')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_group_plan'))
    )
    with op.batch_alter_table('group_plan', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_group_plan_team_id'), ['team_id'], unique=False)

    op.create_table('group_plan_member',
    sa.Column('plan_id', sa.Uuid(), nullable=False),
    sa.Column('client_id', sa.Uuid(), nullable=False),
    sa.Column('added_by_id', sa.Uuid(), nullable=False),
    sa.Column('added_at', carecycle.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['added_by_id'], ['user_account.id'], name=op.f('fk_group_plan_member_added_by_id_user_account')),
    sa.ForeignKeyConstraint(['client_id'], ['client.id'], name=op.f('fk_group_plan_member_client_id_client')),
    sa.ForeignKeyConstraint(['plan_id'], ['group_plan.id'], name=op.f('fk_group_plan_member_plan_id_group_plan')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_group_plan_member')),
    sa.UniqueConstraint('plan_id', 'client_id', name='uq_group_plan_member')
    )
    with op.batch_alter_table('group_plan_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_group_plan_member_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_group_plan_member_plan_id'), ['plan_id'], unique=False)



def downgrade():
    with op.batch_alter_table('group_plan_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_group_plan_member_plan_id'))
        batch_op.drop_index(batch_op.f('ix_group_plan_member_client_id'))

    op.drop_table('group_plan_member')
    with op.batch_alter_table('group_plan', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_group_plan_team_id'))

    op.drop_table('group_plan')
