"""community recovery plans: actions, linked community groups, 1-, 3- and 6-month reviews

Revision ID: 3c1449a36a09
Revises: 345fe5f0549f
Create Date: 2026-12-07 09:49:15.932318

"""
import sqlalchemy as sa
from alembic import op

import carecycle.crypto
import carecycle.database

# revision identifiers, used by Alembic.
revision = '3c1449a36a09'
down_revision = '345fe5f0549f'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('recovery_plan',
    sa.Column('team_id', sa.Uuid(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('area', sa.String(length=300), nullable=False),
    sa.Column('period_id', sa.Uuid(), nullable=True),
    sa.Column('incident', carecycle.crypto.Sealed(), nullable=False),
    sa.Column('started_on', sa.Date(), nullable=False),
    sa.Column('ended_on', sa.Date(), nullable=False),
    sa.Column('created_by_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', carecycle.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_recovery_plan_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['period_id'], ['mode_change.id'], name=op.f('fk_recovery_plan_period_id_mode_change')),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_recovery_plan_team_id_team')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_plan'))
    )
    with op.batch_alter_table('recovery_plan', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recovery_plan_team_id'), ['team_id'], unique=False)

    op.create_table('recovery_action',
    sa.Column('plan_id', sa.Uuid(), nullable=False),
    sa.Column('owner_id', sa.Uuid(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('created_at', carecycle.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('done_at', carecycle.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('done_by_id', sa.Uuid(), nullable=True),
    sa.Column('description', carecycle.crypto.Sealed(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['done_by_id'], ['user_account.id'], name=op.f('fk_recovery_action_done_by_id_user_account')),
    sa.ForeignKeyConstraint(['owner_id'], ['user_account.id'], name=op.f('fk_recovery_action_owner_id_user_account')),
    sa.ForeignKeyConstraint(['plan_id'], ['recovery_plan.id'], name=op.f('fk_recovery_action_plan_id_recovery_plan')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_action'))
    )
    with op.batch_alter_table('recovery_action', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recovery_action_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_recovery_action_plan_id'), ['plan_id'], unique=False)

    op.create_table('recovery_group',
    sa.Column('plan_id', sa.Uuid(), nullable=False),
    sa.Column('group_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['community_group.id'], name=op.f('fk_recovery_group_group_id_community_group')),
    sa.ForeignKeyConstraint(['plan_id'], ['recovery_plan.id'], name=op.f('fk_recovery_group_plan_id_recovery_plan')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_group')),
    sa.UniqueConstraint('plan_id', 'group_id', name='uq_recovery_group')
    )
    with op.batch_alter_table('recovery_group', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recovery_group_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_recovery_group_plan_id'), ['plan_id'], unique=False)

    op.create_table('recovery_review',
    sa.Column('plan_id', sa.Uuid(), nullable=False),
    sa.Column('months', sa.Integer(), nullable=False),
    sa.Column('written_by_id', sa.Uuid(), nullable=False),
    sa.Column('written_at', carecycle.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('figures', sa.JSON(), nullable=False),
    sa.Column('summary', carecycle.crypto.Sealed(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['recovery_plan.id'], name=op.f('fk_recovery_review_plan_id_recovery_plan')),
    sa.ForeignKeyConstraint(['written_by_id'], ['user_account.id'], name=op.f('fk_recovery_review_written_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_review')),
    sa.UniqueConstraint('plan_id', 'months', name='uq_recovery_review_months')
    )
    with op.batch_alter_table('recovery_review', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recovery_review_plan_id'), ['plan_id'], unique=False)



def downgrade():
    with op.batch_alter_table('recovery_review', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recovery_review_plan_id'))

    op.drop_table('recovery_review')
    with op.batch_alter_table('recovery_group', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recovery_group_plan_id'))
        batch_op.drop_index(batch_op.f('ix_recovery_group_group_id'))

    op.drop_table('recovery_group')
    with op.batch_alter_table('recovery_action', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recovery_action_plan_id'))
        batch_op.drop_index(batch_op.f('ix_recovery_action_owner_id'))

    op.drop_table('recovery_action')
    with op.batch_alter_table('recovery_plan', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recovery_plan_team_id'))

    op.drop_table('recovery_plan')
