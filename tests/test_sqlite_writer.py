"""SQLite writers wait their turn on the lock file, and every way out of a transaction frees it."""
from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from carecycle import sqlite_writer
from carecycle.sqlite_writer import QueuedWriterConnection


def connect(path):
    connection = sqlite3.connect(str(path), factory=QueuedWriterConnection, isolation_level=None,
                                 check_same_thread=False)
    connection.execute("PRAGMA busy_timeout=15000")
    return connection


@pytest.fixture
def database(tmp_path):
    path = tmp_path / "w.db"
    with connect(path) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute("CREATE TABLE t (n INTEGER)")
    return path


def test_a_second_writer_waits_for_the_first_to_commit(database):
    first, second = connect(database), connect(database)
    first.begin_immediate()
    first.execute("INSERT INTO t VALUES (1)")
    began = threading.Event()

    def write():
        second.begin_immediate()
        began.set()
        second.execute("INSERT INTO t VALUES (2)")
        second.commit()

    thread = threading.Thread(target=write)
    thread.start()
    assert not began.wait(0.2)  # queued behind the first writer
    first.commit()
    assert began.wait(5)
    thread.join(5)
    assert [n for (n,) in first.execute("SELECT n FROM t ORDER BY n")] == [1, 2]
    assert (database.parent / "w.db-writer.lock").exists()


@pytest.mark.parametrize("leave", ["rollback", "close"])
def test_rollback_and_close_free_the_lock(database, leave):
    first, second = connect(database), connect(database)
    first.begin_immediate()
    first.execute("INSERT INTO t VALUES (1)")
    getattr(first, leave)()
    second.begin_immediate()  # would wait (and fail after the timeout) if the lock were still held
    second.commit()
    assert second.execute("SELECT count(*) FROM t").fetchone() == (0,)


def test_the_wait_is_bounded_and_ends_in_the_usual_error(database, monkeypatch):
    monkeypatch.setattr(sqlite_writer, "BUSY_TIMEOUT_SECONDS", 0.2)
    first, second = connect(database), connect(database)
    first.begin_immediate()
    started = time.monotonic()
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        second.begin_immediate()
    assert 0.2 <= time.monotonic() - started < 5
    assert not second.in_transaction
    first.commit()
    second.begin_immediate()  # the failed attempt left nothing held
    second.commit()


def test_a_refused_nested_begin_keeps_the_open_transaction_locked(database, monkeypatch):
    monkeypatch.setattr(sqlite_writer, "BUSY_TIMEOUT_SECONDS", 0.2)
    first, second = connect(database), connect(database)
    first.begin_immediate()
    with pytest.raises(sqlite3.OperationalError):
        first.begin_immediate()  # already in a transaction: SQLite refuses the nested BEGIN
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        second.begin_immediate()  # the first transaction still holds the queue
    first.rollback()
    second.begin_immediate()
    second.commit()


def test_an_in_memory_database_has_no_lock_file(tmp_path):
    connection = sqlite3.connect(":memory:", factory=QueuedWriterConnection, isolation_level=None)
    connection.begin_immediate()
    connection.commit()
    assert list(tmp_path.iterdir()) == []


def test_the_app_uses_the_queue_on_sqlite(app, db):
    connection = db.session.connection().connection.driver_connection
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL has row locks; no writer queue")
    assert isinstance(connection, QueuedWriterConnection) and connection._locked
    db.session.rollback()
    assert not connection._locked


def test_a_uri_filename_locks_next_to_the_file(tmp_path):
    path = tmp_path / "u.db"
    connection = sqlite3.connect(f"file:{path}?cache=private", uri=True, factory=QueuedWriterConnection,
                                 isolation_level=None)
    connection.begin_immediate()
    connection.commit()
    assert (tmp_path / "u.db-writer.lock").exists()


def _sqlite_only(db):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the writers' queue is SQLite's")


def test_a_transaction_that_only_read_is_ended_before_rendering_keeping_its_objects(db, make_user):
    from sqlalchemy import inspect, select

    from carecycle.accounts.models import User
    _sqlite_only(db)
    user_id = make_user("counsellor").id
    user = db.session.scalar(select(User).where(User.id == user_id))
    driver = db.session.connection().connection.driver_connection
    assert driver._locked
    assert sqlite_writer.release_reads(db.session())
    assert not driver._locked and not db.session().in_transaction()
    assert not inspect(user).expired and user.username  # read without a new transaction
    assert not db.session().in_transaction()


def test_a_transaction_that_wrote_or_has_changes_waiting_keeps_its_lock(db, make_user):
    from sqlalchemy import func, select

    from carecycle.accounts.models import User
    _sqlite_only(db)
    user = make_user("counsellor")
    user.display_name = "Changed, not flushed"
    assert not sqlite_writer.release_reads(db.session())  # dirty: would write
    db.session.flush()
    driver = db.session.connection().connection.driver_connection
    assert driver.wrote and not sqlite_writer.release_reads(db.session())
    assert driver._locked and db.session().in_transaction()
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(User).where(
        User.display_name == "Changed, not flushed")) == 0  # nothing was committed on the way


def test_a_page_renders_without_holding_the_queue(app, client, login_as, db):
    from flask import template_rendered
    _sqlite_only(db)
    login_as("counsellor")
    held = []

    def record(sender, template, context, **extra):
        from carecycle.extensions import db as app_db
        held.append(app_db.session().in_transaction())
    template_rendered.connect(record, app)
    try:
        assert client.get("/cases").status_code == 200
    finally:
        template_rendered.disconnect(record, app)
    assert held and held[-1] is False
