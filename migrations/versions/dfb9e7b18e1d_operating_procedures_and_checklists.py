"""operating procedures (versioned checklists attached to a step) and the marks of their items done

Revision ID: dfb9e7b18e1d
Revises: da4e77d1901a
Create Date: 2026-12-07 09:21:40.680401

"""
import sqlalchemy as sa
from alembic import op

import carecycle.database

# revision identifiers, used by Alembic.
revision = 'dfb9e7b18e1d'
down_revision = 'da4e77d1901a'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('procedure',
    sa.Column('applies_to', sa.String(length=30), nullable=False),
    sa.Column('applies_value', sa.String(length=40), nullable=False),
    sa.Column('current_number', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', carecycle.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('archived_at', carecycle.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_procedure_created_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_procedure'))
    )
    with op.batch_alter_table('procedure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_procedure_applies_to'), ['applies_to'], unique=False)

    op.create_table('procedure_version',
    sa.Column('procedure_id', sa.Uuid(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('created_by_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', carecycle.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_procedure_version_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['procedure_id'], ['procedure.id'], name=op.f('fk_procedure_version_procedure_id_procedure')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_procedure_version')),
    sa.UniqueConstraint('procedure_id', 'number', name='uq_procedure_version_number')
    )
    with op.batch_alter_table('procedure_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_procedure_version_procedure_id'), ['procedure_id'], unique=False)

    op.create_table('checklist_mark',
    sa.Column('version_id', sa.Uuid(), nullable=False),
    sa.Column('subject_type', sa.String(length=30), nullable=False),
    sa.Column('subject_id', sa.Uuid(), nullable=False),
    sa.Column('item', sa.Integer(), nullable=False),
    sa.Column('done_by_id', sa.Uuid(), nullable=False),
    sa.Column('done_at', carecycle.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('undone_by_id', sa.Uuid(), nullable=True),
    sa.Column('undone_at', carecycle.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['done_by_id'], ['user_account.id'], name=op.f('fk_checklist_mark_done_by_id_user_account')),
    sa.ForeignKeyConstraint(['undone_by_id'], ['user_account.id'], name=op.f('fk_checklist_mark_undone_by_id_user_account')),
    sa.ForeignKeyConstraint(['version_id'], ['procedure_version.id'], name=op.f('fk_checklist_mark_version_id_procedure_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checklist_mark'))
    )
    with op.batch_alter_table('checklist_mark', schema=None) as batch_op:
        batch_op.create_index('ix_checklist_mark_subject', ['subject_type', 'subject_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_checklist_mark_version_id'), ['version_id'], unique=False)
        batch_op.create_index('uq_checklist_mark_in_force', ['version_id', 'subject_type', 'subject_id', 'item'], unique=True, sqlite_where=sa.text('undone_at IS NULL'), postgresql_where=sa.text('undone_at IS NULL'))



def downgrade():
    with op.batch_alter_table('checklist_mark', schema=None) as batch_op:
        batch_op.drop_index('uq_checklist_mark_in_force', sqlite_where=sa.text('undone_at IS NULL'), postgresql_where=sa.text('undone_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_checklist_mark_version_id'))
        batch_op.drop_index('ix_checklist_mark_subject')

    op.drop_table('checklist_mark')
    with op.batch_alter_table('procedure_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_procedure_version_procedure_id'))

    op.drop_table('procedure_version')
    with op.batch_alter_table('procedure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_procedure_applies_to'))

    op.drop_table('procedure')
