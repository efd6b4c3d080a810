"""Database settings: SQLite with WAL, foreign keys and a busy timeout; aware UTC times."""
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import StatementError

from carecycle.accounts.models import Team


def test_sqlite_runs_with_wal_foreign_keys_and_busy_timeout(db):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite settings")
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 5000


def test_foreign_keys_are_enforced(db):
    import uuid

    from carecycle.accounts.models import User
    db.session.add(User(username="orphan", role="counsellor", password_hash="x", team_id=uuid.uuid4()))
    with pytest.raises(StatementError):  # IntegrityError is one
        db.session.commit()
    db.session.rollback()


def test_times_come_back_aware_in_utc(db):
    team = Team(name="Timekeepers")
    db.session.add(team)
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(Team, team.id).created_at
    assert stored.tzinfo is not None and stored.utcoffset().total_seconds() == 0
    assert abs((datetime.now(UTC) - stored).total_seconds()) < 60


def test_naive_datetimes_are_refused(db):
    team = Team(name="Naive", created_at=datetime.now())
    db.session.add(team)
    with pytest.raises(StatementError):  # IntegrityError is one
        db.session.commit()
    db.session.rollback()
