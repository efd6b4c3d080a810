"""One open (unsigned) safety-plan draft per case and one open next-contact reminder per case, enforced by
partial unique indexes (two people saving at once on PostgreSQL could create two). Existing duplicate
reminders are closed but the earliest due; duplicate drafts stop the upgrade with the cases to resolve.

Revision ID: c95295e23773
Revises: da67685db0c4
Create Date: 2026-12-03 15:50:21.469429

"""
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import carecycle.database

# revision identifiers, used by Alembic.
revision = 'c95295e23773'
down_revision = 'da67685db0c4'
branch_labels = None
depends_on = None


def upgrade():
    bind = op.get_bind()
    # duplicate open next-contact reminders (the race this index ends): keep the earliest due open, close the rest
    duplicates = bind.execute(sa.text(
        "SELECT id, case_id FROM case_task WHERE kind = 'next_contact' AND done_at IS NULL "
        "ORDER BY case_id, due_at, created_at")).all()
    kept = set()
    for task_id, case_id in duplicates:
        if case_id in kept:
            bind.execute(sa.text("UPDATE case_task SET done_at = :now WHERE id = :id").bindparams(
                sa.bindparam("now", type_=carecycle.database.UTCDateTime(timezone=True))),
                {"now": datetime.now(UTC), "id": task_id})
        else:
            kept.add(case_id)
    drafts = bind.execute(sa.text(
        "SELECT case_id FROM safety_plan_version WHERE signed_at IS NULL GROUP BY case_id HAVING COUNT(*) > 1")).all()
    if drafts:
        raise RuntimeError("these cases have more than one unsigned safety-plan draft; keep one (copy what the other "
                           "holds into it) and sign or set the other aside before upgrading: "
                           + ", ".join(str(row[0]) for row in drafts))
    with op.batch_alter_table('case_task', schema=None) as batch_op:
        batch_op.create_index('uq_case_task_one_open_next_contact', ['case_id'], unique=True,
                              sqlite_where=sa.text("kind = 'next_contact' AND done_at IS NULL"),
                              postgresql_where=sa.text("kind = 'next_contact' AND done_at IS NULL"))
    with op.batch_alter_table('safety_plan_version', schema=None) as batch_op:
        batch_op.create_index('uq_safety_plan_version_one_draft', ['case_id'], unique=True,
                              sqlite_where=sa.text('signed_at IS NULL'), postgresql_where=sa.text('signed_at IS NULL'))


def downgrade():
    with op.batch_alter_table('safety_plan_version', schema=None) as batch_op:
        batch_op.drop_index('uq_safety_plan_version_one_draft')
    with op.batch_alter_table('case_task', schema=None) as batch_op:
        batch_op.drop_index('uq_case_task_one_open_next_contact')
