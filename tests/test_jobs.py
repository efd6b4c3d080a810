"""`carecycle worker`: the periodic jobs run once per interval however many workers run them, a
failing job is recorded and does not stop the others, and on PostgreSQL a pass held by another
machine's advisory lock is left to it."""
from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from carecycle import jobs
from carecycle.database import utcnow
from carecycle.extensions import db as _db


@pytest.fixture
def only_test_jobs(app, monkeypatch):
    """The app's job registry replaced by an empty one for the test (the real jobs are back after)."""
    registry: dict = {}
    monkeypatch.setitem(app.extensions, "carecycle_jobs", registry)
    return registry


def _counting_job(app, name="count", every=timedelta(minutes=5), pause=0.0, fail=False):
    ran = []

    def run(now):
        ran.append(now)
        if pause:
            time.sleep(pause)
        if fail:
            raise RuntimeError("the partner system is away")
        return f"pass {len(ran)}"
    jobs.add_job(app, name, every, run, "a test job")
    return ran


def test_a_job_runs_once_per_interval(app, db, only_test_jobs):
    ran = _counting_job(app)
    now = utcnow()
    first = jobs.run_due(app, now=now)
    assert [(o.name, o.ran, o.summary) for o in first] == [("count", True, "pass 1")]
    again = jobs.run_due(app, now=now + timedelta(minutes=4))
    assert [(o.ran, o.summary) for o in again] == [(False, "not due")] and len(ran) == 1
    later = jobs.run_due(app, now=now + timedelta(minutes=5))
    assert later[0].ran and len(ran) == 2
    forced = jobs.run_due(app, now=now + timedelta(minutes=6), force=True)
    assert forced[0].ran and len(ran) == 3
    row = db.session.scalar(select(jobs.WorkerJob).where(jobs.WorkerJob.name == "count"))
    assert row.runs == 3 and row.result == "pass 3" and row.failures == 0
    assert row.next_run_at == now + timedelta(minutes=11)


def test_of_workers_waking_together_exactly_one_runs_the_pass(app, db, only_test_jobs):
    ran = _counting_job(app, pause=0.3)
    now = utcnow()
    start, outcomes = threading.Barrier(4), []

    def worker():
        with app.app_context():
            start.wait()
            outcomes.extend(jobs.run_due(app, now=now))
            _db.session.remove()
    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(ran) == 1
    assert sorted(o.ran for o in outcomes) == [False, False, False, True]
    assert {o.summary for o in outcomes if not o.ran} <= {"not due", "running on another worker"}


def test_a_failing_job_is_recorded_and_the_others_still_run(app, db, only_test_jobs, caplog):
    _counting_job(app, name="a-failing", fail=True)
    good = _counting_job(app, name="b-good")
    outcomes = {o.name: o for o in jobs.run_due(app)}
    assert outcomes["a-failing"].summary == "failed: RuntimeError: the partner system is away"
    assert outcomes["b-good"].ran and len(good) == 1
    row = db.session.get(jobs.WorkerJob, "a-failing")
    assert row.failures == 1 and row.last_error == "RuntimeError: the partner system is away"
    assert "job a-failing failed" in caplog.text


def test_a_job_that_is_off_says_why_and_does_not_run(app, db, only_test_jobs):
    ran = []
    jobs.add_job(app, "off", timedelta(minutes=1), lambda now: ran.append(now) or "ran", "off job",
                 enabled=lambda: "set CARECYCLE_SOMETHING")
    assert [o.summary for o in jobs.run_due(app)] == ["off: set CARECYCLE_SOMETHING"] and ran == []
    assert db.session.get(jobs.WorkerJob, "off") is None


def test_the_same_job_name_cannot_be_registered_twice(app, only_test_jobs):
    _counting_job(app)
    with pytest.raises(ValueError, match="registered twice"):
        _counting_job(app)


def test_a_pass_held_by_another_machine_is_left_to_it(app, db, only_test_jobs):
    if _db.engine.dialect.name != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's (SQLite serves one machine)")
    ran = _counting_job(app)
    other_machine = _db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        assert other_machine.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": jobs.lock_key("count")})
        held = jobs.run_due(app)
        assert [(o.ran, o.summary) for o in held] == [(False, "running on another worker")] and ran == []
        other_machine.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": jobs.lock_key("count")})
        assert jobs.run_due(app)[0].ran and len(ran) == 1
        # the lock is released after the pass: another session can take it at once
        assert other_machine.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": jobs.lock_key("count")})
    finally:
        other_machine.close()


def test_serve_runs_rounds_until_stopped(app, db, only_test_jobs):
    ran = _counting_job(app, every=timedelta(seconds=1))
    stop, reports = threading.Event(), []
    thread = threading.Thread(target=jobs.serve, args=(app, 0.2, stop, reports.append))
    thread.start()
    deadline = time.monotonic() + 10
    while len(ran) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    stop.set()
    thread.join(timeout=10)
    assert not thread.is_alive() and len(ran) >= 2 and all(r.ran for r in reports)


def test_the_worker_command(app, db, runner):
    listed = runner.invoke(args=["worker", "--list"])
    assert listed.exit_code == 0, listed.output
    for name in ("notify-overdue", "due-reminders", "notify-send", "audit-checkpoint"):
        assert name in listed.output
    assert "[off: e-mail notifications are off" in listed.output
    once = runner.invoke(args=["worker", "--once"])
    assert once.exit_code == 0, once.output
    assert "notify-overdue: notified 0 task(s)" in once.output and "audit-checkpoint: checkpoint written" in once.output
    assert "notify-overdue: not due" in runner.invoke(args=["worker", "--once"]).output
    listed = runner.invoke(args=["worker", "--list"]).output
    assert "last ran" in listed.split("notify-overdue")[1].split("\n")[0]
    unknown = runner.invoke(args=["worker", "--once", "--job", "nonsense"])
    assert unknown.exit_code == 2 and "no job named nonsense" in unknown.output
    refused = runner.invoke(args=["worker", "--force"])
    assert refused.exit_code == 2 and "only for --once" in refused.output
    forced = runner.invoke(args=["worker", "--once", "--force", "--job", "notify-overdue"])
    assert forced.output.strip() == "notify-overdue: notified 0 task(s), 0 alert(s), 0 referral(s)"


def test_the_checkpoint_job_writes_to_the_checkpoint_file(app, db, runner, tmp_path, monkeypatch):
    from carecycle.audit import AuditHead, read_checkpoints, record_event
    target = tmp_path / "checkpoints"
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_FILE", str(target))
    record_event("test_event")
    db.session.commit()
    before = len(read_checkpoints(target)) if target.exists() else 0  # the commit may have written one itself
    result = runner.invoke(args=["worker", "--once", "--job", "audit-checkpoint"])
    assert result.exit_code == 0 and "checkpoint written to the checkpoint file" in result.output
    written = read_checkpoints(target)
    assert len(written) == before + 1
    checkpoint = written[-1]
    head = db.session.get(AuditHead, 1)
    db.session.refresh(head)
    assert checkpoint.seq == head.seq >= 1 and head.checkpointed_at is not None
