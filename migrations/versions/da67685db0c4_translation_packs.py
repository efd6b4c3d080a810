"""translation_pack: official translations of instruments, entered by one person and approved by another;
screening_result.translation_sha256: the pack a screening was answered in

Revision ID: da67685db0c4
Revises: a9c3e5f7b1d2
Create Date: 2026-12-03 15:27:12.113776

"""
import sqlalchemy as sa
from alembic import op

import carecycle.database

# revision identifiers, used by Alembic.
revision = 'da67685db0c4'
down_revision = 'a9c3e5f7b1d2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('translation_pack',
    sa.Column('instrument', sa.String(length=20), nullable=False),
    sa.Column('language', sa.String(length=10), nullable=False),
    sa.Column('translates', sa.String(length=20), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=False),
    sa.Column('entered_by_id', sa.Uuid(), nullable=False),
    sa.Column('entered_at', carecycle.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('approved_by_id', sa.Uuid(), nullable=True),
    sa.Column('approved_at', carecycle.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_at', carecycle.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_by_id', sa.Uuid(), nullable=True),
    sa.Column('withdrawn_reason', sa.String(length=300), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['approved_by_id'], ['user_account.id'], name=op.f('fk_translation_pack_approved_by_id_user_account')),
    sa.ForeignKeyConstraint(['entered_by_id'], ['user_account.id'], name=op.f('fk_translation_pack_entered_by_id_user_account')),
    sa.ForeignKeyConstraint(['withdrawn_by_id'], ['user_account.id'], name=op.f('fk_translation_pack_withdrawn_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_translation_pack'))
    )
    with op.batch_alter_table('translation_pack', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_translation_pack_instrument'), ['instrument'], unique=False)
        batch_op.create_index(batch_op.f('ix_translation_pack_sha256'), ['sha256'], unique=False)
        batch_op.create_index('uq_translation_pack_current', ['instrument', 'language'], unique=True, sqlite_where=sa.text('withdrawn_at IS NULL'), postgresql_where=sa.text('withdrawn_at IS NULL'))

    op.add_column('screening_result', sa.Column('translation_sha256', sa.String(length=64), nullable=True))



def downgrade():
    op.drop_column('screening_result', 'translation_sha256')  # SQLite >= 3.35 drops it in place

    with op.batch_alter_table('translation_pack', schema=None) as batch_op:
        batch_op.drop_index('uq_translation_pack_current', sqlite_where=sa.text('withdrawn_at IS NULL'), postgresql_where=sa.text('withdrawn_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_translation_pack_sha256'))
        batch_op.drop_index(batch_op.f('ix_translation_pack_instrument'))

    op.drop_table('translation_pack')
