"""Heartbeats of the running web workers, and the key each one seals with.

A worker reads the key ring once, at start-up; after `carecycle keys rotate` it goes on sealing
under the old key until it is restarted. `carecycle keys reencrypt` must not run before then, or
the values those workers write afterwards are under a key about to be retired. So every gunicorn
worker (`carecycle/gunicorn_conf.py`) records, every 30 seconds, a row with its host, process id
and the active key id of its ring; `keys reencrypt` refuses, naming them, while any worker seen in
the last 90 seconds still seals with another key than the active one."""
from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from datetime import datetime, timedelta

from sqlalchemy import String, select, update
from sqlalchemy.orm import Mapped, mapped_column

from carecycle.database import utcnow
from carecycle.extensions import Model, db

BEAT_SECONDS = 30
LIVE_FOR = timedelta(seconds=90)
log = logging.getLogger("carecycle")


class WorkerHeartbeat(Model):
    __tablename__ = "worker_heartbeat"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)  # host:pid:start token
    host: Mapped[str] = mapped_column(String(120))
    pid: Mapped[int]
    key_id: Mapped[str] = mapped_column(String(20))  # the active key of the ring this process loaded
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    stopped_at: Mapped[datetime | None]


def worker_id() -> str:
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{_START}"


_START = uuid.uuid4().hex[:8]


def beat(app) -> None:
    """Record this process as alive, with the key it seals with (one short transaction)."""
    ring = app.extensions["carecycle_keyring"]
    now = utcnow()
    with app.app_context():
        try:
            row = db.session.get(WorkerHeartbeat, worker_id())
            if row is None:
                db.session.add(WorkerHeartbeat(id=worker_id(), host=socket.gethostname()[:120], pid=os.getpid(),
                                               key_id=ring.active, started_at=now, seen_at=now))
            else:
                row.key_id, row.seen_at, row.stopped_at = ring.active, now, None
            db.session.commit()
        finally:
            db.session.remove()


def stopped(app) -> None:
    with app.app_context():
        try:
            db.session.execute(update(WorkerHeartbeat).where(WorkerHeartbeat.id == worker_id())
                               .values(stopped_at=utcnow()))
            db.session.commit()
        finally:
            db.session.remove()


class Heartbeat:
    """Beats now and then every `every` seconds from a daemon thread, until `stop()`. A failed beat
    is logged and retried, never raised into the worker."""

    def __init__(self, app, every: float = BEAT_SECONDS):
        self.app, self.every, self._stop = app, every, threading.Event()
        self._thread = threading.Thread(target=self._run, name="carecycle-heartbeat", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                beat(self.app)
            except Exception:  # the database may be away for a moment; the worker must go on serving
                log.warning("worker heartbeat not recorded", exc_info=True)
            self._stop.wait(self.every)

    def stop(self) -> None:
        """Stop beating (the last beat finished) and record the worker as stopped."""
        self._stop.set()
        self._thread.join(timeout=10)
        stopped(self.app)


def start_heartbeat(app, every: float = BEAT_SECONDS) -> Heartbeat:
    return Heartbeat(app, every)


def live_workers() -> list[WorkerHeartbeat]:
    return list(db.session.scalars(select(WorkerHeartbeat).where(WorkerHeartbeat.stopped_at.is_(None),
                                                                 WorkerHeartbeat.seen_at > utcnow() - LIVE_FOR)
                                   .order_by(WorkerHeartbeat.host, WorkerHeartbeat.pid)))


def sealing_with_another_key(active: str) -> list[WorkerHeartbeat]:
    return [worker for worker in live_workers() if worker.key_id != active]
