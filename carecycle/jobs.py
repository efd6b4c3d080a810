"""Periodic work, run by `carecycle worker` on every machine and done by one of them at a time.

Areas register their jobs with `add_job(app, name, every, run)` (the shell registers e-mail delivery
and audit checkpoints); `run(now)` does one pass in the app context and returns a short summary
without personal data. A job's row in `worker_job` says when it may run next: a worker claims a
pass with one conditional UPDATE (`next_run_at <= now`, set to now + every), so of the workers that
wake up together exactly one runs it and the others see it done. On PostgreSQL the pass also holds
a session advisory lock for its whole length (`pg_try_advisory_lock`), so a pass that outlasts its
interval is never started a second time on another machine. SQLite serves one machine: its
single writer makes the claim atomic between the processes there, and no lock is needed. A failed
pass is logged and recorded (`last_error`, the exception's type and message) and retried at its
next time; the worker goes on with the other jobs."""
from __future__ import annotations

import hashlib
import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Integer, String, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from carecycle.database import rows_changed, utcnow
from carecycle.extensions import Model, db

log = logging.getLogger("carecycle")


class WorkerJob(Model):
    """When each periodic job last ran, where, how it ended, and when it may run next."""

    __tablename__ = "worker_job"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    next_run_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    host: Mapped[str | None] = mapped_column(String(120))
    result: Mapped[str | None] = mapped_column(String(300))   # the pass's summary (counts, never personal data)
    last_error: Mapped[str | None] = mapped_column(String(300))
    runs: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    run: Callable[[datetime], str]
    description: str
    enabled: Callable[[], str | None] | None = None  # returns why the job is off, or None when it runs

    def off_because(self) -> str | None:
        return self.enabled() if self.enabled is not None else None


def add_job(app, name: str, every: timedelta, run: Callable[[datetime], str], description: str,
            enabled: Callable[[], str | None] | None = None) -> None:
    """Register a periodic job (`name`: lower-case words joined by hyphens)."""
    jobs = app.extensions.setdefault("carecycle_jobs", {})
    if name in jobs:
        raise ValueError(f"job {name!r} registered twice")
    jobs[name] = Job(name, every, run, description, enabled)


def registered(app) -> list[Job]:
    return sorted(app.extensions.get("carecycle_jobs", {}).values(), key=lambda job: job.name)


def lock_key(name: str) -> int:
    """The advisory-lock key of a job: a signed 64-bit number from its name, the same on every machine."""
    digest = hashlib.blake2b(f"carecycle-job:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@dataclass
class Outcome:
    name: str
    ran: bool
    summary: str  # the job's summary, why it did not run, or the error


def _claim(job: Job, now: datetime, force: bool) -> bool:
    """Take this pass of `job` (one short transaction): True when this worker is to run it."""
    try:
        db.session.execute(insert(WorkerJob).values(name=job.name, next_run_at=now, runs=0, failures=0))
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # the row exists: the usual case
    stmt = update(WorkerJob).where(WorkerJob.name == job.name)
    if not force:
        stmt = stmt.where(WorkerJob.next_run_at <= now)
    claimed = rows_changed(db.session.execute(
        stmt.values(next_run_at=now + job.every, started_at=now, host=socket.gethostname()[:120])
        .execution_options(synchronize_session=False)))
    db.session.commit()
    return claimed == 1


def _finish(job: Job, summary: str | None, error: str | None) -> None:
    values: dict = {"finished_at": utcnow(), "runs": WorkerJob.runs + 1}
    if error is None:
        values.update(result=(summary or "")[:300], last_error=None)
    else:
        values.update(last_error=error[:300], failures=WorkerJob.failures + 1)
    db.session.execute(update(WorkerJob).where(WorkerJob.name == job.name).values(**values)
                       .execution_options(synchronize_session=False))
    db.session.commit()


class _AdvisoryLock:
    """A PostgreSQL session advisory lock on a connection of its own, held while a pass runs;
    on other databases it is always granted."""

    def __init__(self, name: str):
        self.key = lock_key(name)
        self.conn: Connection | None = None

    def __enter__(self) -> bool:
        if db.engine.dialect.name != "postgresql":
            return True
        conn = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        got = bool(conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}))
        if got:
            self.conn = conn
        else:
            conn.close()
        return got

    def __exit__(self, *_exc) -> None:
        if self.conn is not None:
            try:
                self.conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
            finally:
                self.conn.close()  # closing the connection would release it too
                self.conn = None


def run_one(job: Job, now: datetime | None = None, force: bool = False) -> Outcome:
    """Run `job` if its time has come and no other worker holds it (`force`: whatever its time)."""
    now = now or utcnow()
    off = job.off_because()
    if off:
        return Outcome(job.name, False, f"off: {off}")
    with _AdvisoryLock(job.name) as locked:
        if not locked:
            return Outcome(job.name, False, "running on another worker")
        if not _claim(job, now, force):
            return Outcome(job.name, False, "not due")
        try:
            summary = job.run(now)
        except Exception as error:  # one job's failure must not stop the others
            db.session.rollback()
            message = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
            log.error("job %s failed: %s", job.name, message, exc_info=True)
            _finish(job, None, message)
            return Outcome(job.name, True, f"failed: {message}")
        _finish(job, summary, None)
        return Outcome(job.name, True, summary)


def run_due(app, now: datetime | None = None, only: set[str] | None = None, force: bool = False) -> list[Outcome]:
    """One round: every registered job (or those named in `only`) whose time has come."""
    outcomes = []
    for job in registered(app):
        if only is not None and job.name not in only:
            continue
        outcomes.append(run_one(job, now, force))
        db.session.remove()
    return outcomes


def serve(app, tick: float, stop: threading.Event, report: Callable[[Outcome], None],
          only: set[str] | None = None) -> None:
    """Run rounds every `tick` seconds until `stop` is set (a pass under way is finished first)."""
    while not stop.is_set():
        with app.app_context():
            try:
                for outcome in run_due(app, only=only):
                    if outcome.ran:
                        report(outcome)
            except Exception:  # the database may be away for a moment: try again next tick
                log.warning("worker round failed", exc_info=True)
                db.session.remove()
        stop.wait(tick)


def job_states() -> dict[str, WorkerJob]:
    return {row.name: row for row in db.session.scalars(select(WorkerJob))}


# ------------------------------------------------------------------ the shell's own jobs
def _deliver_outbox(_now: datetime) -> str:
    from carecycle.notifications import deliver_outbox
    sent, failed = deliver_outbox()
    return f"sent {sent} message(s), {failed} failed"


def _delivery_off() -> str | None:
    from carecycle.notifications import delivery_off_because
    return delivery_off_because()


def _audit_checkpoint(now: datetime) -> str:
    """Write the chain's committed end to the checkpoint file (or the log, for a log shipper)."""
    from flask import current_app

    from carecycle.audit import AuditHead, append_checkpoint, current_checkpoint
    line = current_checkpoint()
    target = current_app.config.get("AUDIT_CHECKPOINT_FILE")
    if target:
        append_checkpoint(target, line)
    else:
        log.info("%s", line)
    db.session.execute(update(AuditHead).where(AuditHead.id == 1).values(checkpointed_at=now)
                       .execution_options(synchronize_session=False))
    db.session.commit()
    return f"checkpoint written to {'the checkpoint file' if target else 'the log'}"


def register_shell_jobs(app) -> None:
    minutes = app.config.get("AUDIT_CHECKPOINT_MINUTES") or 60
    add_job(app, "notify-send", timedelta(minutes=1), _deliver_outbox,
            "deliver the notification e-mail outbox over SMTP", enabled=_delivery_off)
    add_job(app, "audit-checkpoint", timedelta(minutes=minutes), _audit_checkpoint,
            "write a signed audit checkpoint (CARECYCLE_AUDIT_CHECKPOINT_FILE, else the log)")
