"""account_change: an administrator's change granting case access waits for a supervisor; user_account.access_pending

Revision ID: d7e3b1a94c20
Revises: e5b8d2f41c07
Create Date: 2026-12-02 19:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

import carecycle.database

# revision identifiers, used by Alembic.
revision = 'd7e3b1a94c20'
down_revision = 'e5b8d2f41c07'
branch_labels = None
depends_on = None


def upgrade():
    # a plain ADD COLUMN (SQLite supports it with a constant default): a batch copy of user_account
    # would have to drop a table every other table refers to
    op.add_column('user_account', sa.Column('access_pending', sa.Boolean(), server_default=sa.false(),
                                            nullable=False))
    # an administrator holds no second role: no team (a team never gave an admin case access)
    op.execute("UPDATE user_account SET team_id = NULL WHERE role = 'admin'")
    op.create_table('account_change',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('team_id', sa.Uuid(), nullable=True),
    sa.Column('requested_by_id', sa.Uuid(), nullable=True),
    sa.Column('requested_at', carecycle.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('previous_role', sa.Enum('resident', 'counsellor', 'social_worker', 'supervisor', 'admin', name='role', native_enum=False, length=20), nullable=True),
    sa.Column('previous_team_id', sa.Uuid(), nullable=True),
    sa.Column('previous_active', sa.Boolean(), nullable=True),
    sa.Column('confirmed_by_id', sa.Uuid(), nullable=True),
    sa.Column('confirmed_at', carecycle.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('declined_by_id', sa.Uuid(), nullable=True),
    sa.Column('declined_at', carecycle.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_account_change_user_id_user_account')),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_account_change_team_id_team')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['user_account.id'], name=op.f('fk_account_change_requested_by_id_user_account')),
    sa.ForeignKeyConstraint(['previous_team_id'], ['team.id'], name=op.f('fk_account_change_previous_team_id_team')),
    sa.ForeignKeyConstraint(['confirmed_by_id'], ['user_account.id'], name=op.f('fk_account_change_confirmed_by_id_user_account')),
    sa.ForeignKeyConstraint(['declined_by_id'], ['user_account.id'], name=op.f('fk_account_change_declined_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_change'))
    )
    with op.batch_alter_table('account_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_change_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_account_change_team_id'), ['team_id'], unique=False)


def downgrade():
    with op.batch_alter_table('account_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_change_team_id'))
        batch_op.drop_index(batch_op.f('ix_account_change_user_id'))
    op.drop_table('account_change')
    op.drop_column('user_account', 'access_pending')  # SQLite >= 3.35 drops it in place
