"""Race tests that prove their race happened.

A barrier before the contested call does not make two transactions overlap: the first thread can
read, write and commit before the second has read anything, and a one-winner assertion passes all
the same. With `Contenders`, each thread reads what it will decide on inside its transaction, then
calls `ready(seen)` with what it saw (a version, a state, the chain head); the call releases the
threads only when all have read. `assert_overlapped(expected)` then holds only when every contender
saw the state from before any of them committed: they really were inside their transactions at the
same time, and the rule under test (optimistic locking, a conditional UPDATE, a row lock) was what
picked the winner.

SQLite begins every transaction with BEGIN IMMEDIATE (`carecycle/sqlite_writer.py`): a second
transaction waits at its first statement until the first has ended, so contenders never overlap
there and the race cannot happen. Such a test calls `needs_concurrent_transactions(db)` and runs on
PostgreSQL only (`TEST_DATABASE_URL`); the one-after-the-other case has its own serial test."""
from __future__ import annotations

import threading

import pytest

SQLITE_REASON = ("SQLite serialises transactions (BEGIN IMMEDIATE, carecycle/sqlite_writer.py), so the contenders "
                 "cannot overlap and the race cannot happen; this test runs on PostgreSQL (TEST_DATABASE_URL)")


def needs_concurrent_transactions(db) -> None:
    if db.engine.dialect.name == "sqlite":
        pytest.skip(SQLITE_REASON)


class Contenders:
    def __init__(self, count: int, timeout: float = 30):
        self.count = count
        self._barrier = threading.Barrier(count, timeout=timeout)
        self._lock = threading.Lock()
        self.seen: list = []

    def ready(self, seen) -> None:
        """Called by each thread after its transaction has read `seen`; returns when all have read."""
        with self._lock:
            self.seen.append(seen)
        self._barrier.wait()

    def assert_overlapped(self, expected) -> None:
        assert len(self.seen) == self.count, f"only {len(self.seen)} of {self.count} contenders read"
        assert all(value == expected for value in self.seen), (
            f"the contenders ran one after another: they saw {self.seen}, not all {expected!r}")
