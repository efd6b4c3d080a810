"""The committed migrations build exactly the schema the models describe."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from carecycle.extensions import db as _db


def test_models_and_migrations_agree(db):
    with _db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, _db.metadata)
    assert diff == [], "run `carecycle db migrate -m ...` and commit the migration: " + repr(diff)
