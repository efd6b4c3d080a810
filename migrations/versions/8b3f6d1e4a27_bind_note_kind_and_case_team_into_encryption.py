"""bind note kind and case, and case team, into the encryption's associated data: re-seal rows

A contact note's body now binds its `kind` and `case_id`, and a case's closure summary and
outcome snapshot bind its `team_id`, so that a database edit of those plain columns makes the
value fail to open. Rows sealed before are opened with the old associated data and sealed
again with the new (under the active key); downgrade does the reverse. It needs the key ring,
so run it as `carecycle db upgrade`.

Revision ID: 8b3f6d1e4a27
Revises: 5e1c0a7d2b90
Create Date: 2026-12-01 12:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '8b3f6d1e4a27'
down_revision = '5e1c0a7d2b90'
branch_labels = None
depends_on = None

BATCH = 500
# table: (sealed columns, bound plain columns, their types)
BINDINGS = {
    "contact_note": (("body",), (("kind", sa.String()), ("case_id", sa.Uuid()))),
    "case_file": (("closure_summary", "outcome_snapshot"), (("team_id", sa.Uuid()),)),
}


def _ring():
    from flask import current_app, has_app_context
    if not has_app_context():
        raise RuntimeError("this migration re-seals encrypted values and needs the key ring: "
                           "run it as `carecycle db upgrade`")
    return current_app.extensions["carecycle_keyring"]


def _reseal(to_bound: bool) -> None:
    from carecycle.crypto import DecryptionError, open_sealed, seal

    conn = op.get_bind()
    ring = None
    for name, (sealed, bound) in BINDINGS.items():
        table = sa.table(name, sa.column("id", sa.Uuid()), *(sa.column(c, sa.Text()) for c in sealed),
                         *(sa.column(b, kind) for b, kind in bound))
        pending = sa.or_(*(table.c[c].is_not(None) for c in sealed))
        last = None
        while True:
            stmt = sa.select(table).where(pending).order_by(table.c.id).limit(BATCH)
            if last is not None:
                stmt = stmt.where(table.c.id > last)
            rows = conn.execute(stmt).mappings().all()
            if not rows:
                break
            ring = ring or _ring()
            for row in rows:
                binding = tuple((b, row[b]) for b, _kind in bound)
                old, new = ((), binding) if to_bound else (binding, ())
                values = {}
                for column in sealed:
                    envelope = row[column]
                    if envelope is None:
                        continue
                    try:
                        plain = open_sealed(envelope, name, column, row["id"], ring, old)
                    except DecryptionError:
                        open_sealed(envelope, name, column, row["id"], ring, new)  # already re-sealed, else raise
                        continue
                    values[column] = seal(plain, name, column, row["id"], ring, new)
                if values:
                    conn.execute(table.update().where(table.c.id == row["id"]).values(**values))
            last = rows[-1]["id"]


def upgrade():
    _reseal(to_bound=True)


def downgrade():
    _reseal(to_bound=False)
