"""referral_partner_token: a partner organisation's FHIR bearer token (hashed, with its prefix,
expiry and revocation), for the Tasks and ServiceRequests addressed to it

Revision ID: b7d4e9a2c615
Revises: a9c4e2f7b310
Create Date: 2026-12-05 21:50:00.000000

"""
import sqlalchemy as sa
from alembic import op

import carecycle.database

# revision identifiers, used by Alembic.
revision = 'b7d4e9a2c615'
down_revision = 'a9c4e2f7b310'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('referral_partner_token',
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=12), nullable=False),
    sa.Column('created_at', carecycle.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', carecycle.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('expires_at', carecycle.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', carecycle.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['partner_organisation.id'],
                            name=op.f('fk_referral_partner_token_organisation_id_partner_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_partner_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_referral_partner_token_token_hash'))
    )
    with op.batch_alter_table('referral_partner_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_partner_token_organisation_id'), ['organisation_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('referral_partner_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_partner_token_organisation_id'))

    op.drop_table('referral_partner_token')
