"""The committed migrations build exactly the schema the models describe."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from carecycle.extensions import db as _db


def test_models_and_migrations_agree(db):
    with _db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, _db.metadata)
    assert diff == [], "run `carecycle db migrate -m ...` and commit the migration: " + repr(diff)


def test_existing_tokens_get_ninety_days_and_existing_accounts_survive(db):
    """e5b8d2f41c07 on a database with an account, its session and its token (on SQLite, where
    foreign keys are enforced, a copy-and-rename of user_account would fail here)."""
    import uuid
    from datetime import UTC, datetime, timedelta

    import sqlalchemy as sa
    from flask_migrate import downgrade, upgrade

    from carecycle.database import UTCDateTime
    when = sa.column
    users = sa.table("user_account", when("id", sa.Uuid()), when("username"), when("password_hash"), when("role"),
                     when("active"), when("must_change_password"), when("failed_logins"),
                     when("locked_until", UTCDateTime()), when("created_at", UTCDateTime()))
    sessions = sa.table("user_session", when("id"), when("user_id", sa.Uuid()), when("created_at", UTCDateTime()),
                        when("last_seen_at", UTCDateTime()))
    tokens = sa.table("api_token", when("id", sa.Uuid()), when("user_id", sa.Uuid()), when("token_hash"),
                      when("prefix"), when("created_at", UTCDateTime()), when("expires_at", UTCDateTime()))
    created = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)
    user_id, token_id = uuid.uuid4(), uuid.uuid4()
    _db.session.remove()
    try:
        downgrade(revision="d7e3b9a15c42")  # the revision before token expiry
        with _db.engine.begin() as conn:
            conn.execute(users.insert().values(id=user_id, username="old", password_hash="x", role="counsellor",
                                               active=True, must_change_password=False, failed_logins=3,
                                               locked_until=created, created_at=created))
            conn.execute(sessions.insert().values(id="s" * 64, user_id=user_id, created_at=created,
                                                  last_seen_at=created))
            conn.execute(sa.text("INSERT INTO api_token (id, user_id, token_hash, prefix, created_at) "
                                 "VALUES (:id, :user, :hash, 'cct_old', :at)").bindparams(
                sa.bindparam("id", type_=sa.Uuid()), sa.bindparam("user", type_=sa.Uuid()),
                sa.bindparam("at", type_=UTCDateTime())),
                {"id": token_id, "user": user_id, "hash": "h" * 64, "at": created})
        upgrade()
        with _db.engine.connect() as conn:
            assert conn.execute(sa.select(tokens.c.expires_at)).scalar_one() == created + timedelta(days=90)
            assert conn.execute(sa.select(users.c.username)).scalar_one() == "old"
            assert conn.execute(sa.select(sessions.c.user_id)).scalar_one() == user_id
    finally:
        _db.session.remove()
        upgrade()


def test_every_migration_downgrades_to_base_and_upgrades_again_to_the_models_schema(db):
    """Head -> base -> head on the test database (SQLite, and PostgreSQL in CI): every downgrade runs
    (none drops what its upgrade did not make), base leaves no table of ours, and the schema built
    again equals the models (Alembic's own comparison finds nothing)."""
    import sqlalchemy as sa
    from flask_migrate import downgrade, upgrade
    _db.session.remove()
    try:
        downgrade(revision="base")
        left = set(sa.inspect(_db.engine).get_table_names()) - {"alembic_version"}
        assert left == set(), left
    finally:
        _db.session.remove()
        upgrade()
    with _db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, _db.metadata)
    assert diff == [], repr(diff)
