"""SQLite writers queue on a lock file instead of SQLite's sleeping busy handler.

Every transaction begins with BEGIN IMMEDIATE (see `create_app`), so two writers never deadlock;
but a writer that finds the database locked is put to sleep by SQLite's busy handler for 1, 2,
5, 10... milliseconds, whatever the other writer's transaction takes (usually well under one).
Under load the workers then spend more time asleep than working. Here a connection first takes
an exclusive `flock` on `<database>-writer.lock`, waiting in short steps of at most a
millisecond, then begins; its commit, rollback or close releases the lock. The busy timeout stays
as the backstop for programs that do not use the lock file (the sqlite3 shell, say), and the
wait is bounded by the same timeout: past it, the usual "database is locked" error is raised.
"""
from __future__ import annotations

import fcntl
import os
import sqlite3
import time
from urllib.parse import unquote, urlsplit

BUSY_TIMEOUT_SECONDS = 15.0
_FIRST_WAIT, _LONGEST_WAIT = 0.00005, 0.001


class QueuedWriterConnection(sqlite3.Connection):
    """A sqlite3 connection whose `begin_immediate()` waits its turn on the lock file."""

    def __init__(self, database, *args, **kwargs):
        super().__init__(database, *args, **kwargs)
        path = os.fspath(database)
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        memory = path == ":memory:" or path.startswith("file::memory:") or "mode=memory" in path
        if path.startswith("file:"):  # a URI filename: the file is its path part
            path = unquote(urlsplit(path).path)
        self._lock_path = None if memory or not path else path + "-writer.lock"
        self._lock_fd: int | None = None
        self._locked = False
        self._changes_at_begin = 0

    @property
    def wrote(self) -> bool:
        """Has the open transaction changed any row?"""
        return self.in_transaction and self.total_changes != self._changes_at_begin

    def begin_immediate(self) -> None:
        self._acquire()
        try:
            self.execute("BEGIN IMMEDIATE")
            self._changes_at_begin = self.total_changes
        except BaseException:
            if not self.in_transaction:  # a refused nested BEGIN leaves the open transaction its lock
                self._release()
            raise

    def _acquire(self) -> None:
        if self._lock_path is None or self._locked:
            return
        if self._lock_fd is None:
            self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        deadline, wait = time.monotonic() + BUSY_TIMEOUT_SECONDS, _FIRST_WAIT
        while True:
            try:
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._locked = True
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise sqlite3.OperationalError("database is locked") from None
                time.sleep(wait)
                wait = min(wait * 2, _LONGEST_WAIT)

    def _release(self) -> None:
        if self._locked and self._lock_fd is not None:
            self._locked = False
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            if not self.in_transaction:
                self._release()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            if not self.in_transaction:
                self._release()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._release()
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None


def begin_immediate(dbapi_connection) -> None:
    """BEGIN IMMEDIATE, in the writers' queue when the connection takes part in it."""
    if isinstance(dbapi_connection, QueuedWriterConnection):
        dbapi_connection.begin_immediate()
    else:
        dbapi_connection.execute("BEGIN IMMEDIATE")


def release_reads(session) -> bool:
    """End the session's transaction early when it has only read, so that a page does not hold
    the writers' queue while its template renders. The loaded objects are kept as they are (not
    expired); a lazy load while rendering begins a new transaction, as it would after any commit.
    Nothing happens when the transaction has written or has changes waiting to be flushed, or on
    another database."""
    if not session.in_transaction() or session.new or session.dirty or session.deleted:
        return False
    driver = session.connection().connection.driver_connection
    if not isinstance(driver, QueuedWriterConnection) or driver.wrote:
        return False
    keep = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()  # nothing to write: it only ends the transaction and frees the queue
    finally:
        session.expire_on_commit = keep
    return True
