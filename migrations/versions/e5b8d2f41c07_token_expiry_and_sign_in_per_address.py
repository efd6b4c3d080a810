"""api_token.expires_at (existing tokens: created_at + 90 days); sign-in locks per account and
address: user_account.sign_in_cleared_at replaces failed_logins and locked_until, and
user_usual_address keeps keyed hashes of the addresses each user signed in from

Revision ID: e5b8d2f41c07
Revises: d7e3b9a15c42
Create Date: 2026-12-02 18:50:00.000000

"""
from datetime import timedelta

import sqlalchemy as sa
from alembic import op

import carecycle.database

# revision identifiers, used by Alembic.
revision = 'e5b8d2f41c07'
down_revision = 'd7e3b9a15c42'
branch_labels = None
depends_on = None

TOKEN_DAYS_FOR_EXISTING = 90


def upgrade():
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', carecycle.database.UTCDateTime(timezone=True), nullable=True))
    tokens = sa.table('api_token', sa.column('id', sa.Uuid()),
                      sa.column('created_at', carecycle.database.UTCDateTime(timezone=True)),
                      sa.column('expires_at', carecycle.database.UTCDateTime(timezone=True)))
    conn = op.get_bind()
    for token_id, created_at in conn.execute(sa.select(tokens.c.id, tokens.c.created_at)).all():
        conn.execute(tokens.update().where(tokens.c.id == token_id)
                     .values(expires_at=created_at + timedelta(days=TOKEN_DAYS_FOR_EXISTING)))
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.alter_column('expires_at', existing_type=carecycle.database.UTCDateTime(timezone=True),
                              nullable=False)

    # user_account is the parent of most tables: on SQLite a batch (copy, drop, rename) of it fails
    # or cascades while foreign keys are enforced, so these are plain ALTER TABLE statements
    # (SQLite 3.35 and later drop columns in place)
    op.add_column('user_account', sa.Column('sign_in_cleared_at', carecycle.database.UTCDateTime(timezone=True),
                                            nullable=True))
    op.drop_column('user_account', 'locked_until')
    op.drop_column('user_account', 'failed_logins')

    op.create_table('user_usual_address',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('address_key', sa.String(length=64), nullable=False),
    sa.Column('first_seen_at', carecycle.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', carecycle.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_user_usual_address_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_usual_address'))
    )
    op.create_index('ix_user_usual_address_lookup', 'user_usual_address', ['user_id', 'address_key'], unique=False)


def downgrade():
    op.drop_index('ix_user_usual_address_lookup', table_name='user_usual_address')
    op.drop_table('user_usual_address')
    op.add_column('user_account', sa.Column('failed_logins', sa.Integer(), server_default='0', nullable=False))
    op.add_column('user_account', sa.Column('locked_until', carecycle.database.UTCDateTime(timezone=True),
                                            nullable=True))
    op.drop_column('user_account', 'sign_in_cleared_at')
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
