"""The audit trail: a hash chain that `carecycle audit verify` checks, events without names,
and concurrent writers that never fork the chain."""
from __future__ import annotations

import json
import logging
import os
import stat
import threading
from datetime import timedelta

import pytest
from flask import current_app
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from carecycle.audit import GENESIS, AuditEvent, AuditHead, chain_hash, record_event, verify_chain
from carecycle.crypto import normalise_phone
from carecycle.extensions import db as _db
from tests.conftest import form_post, make_app, sign_in
from tests.race import Contenders, needs_concurrent_transactions

EVENTS = 5


@pytest.fixture
def chain(db, make_user):
    """Five events from two actors, committed; the session is then closed as a CLI run's would be."""
    leftover = db.session.scalar(select(func.count()).select_from(AuditEvent))
    assert leftover == 0, f"{leftover} audit event(s) left by an earlier test that wrote without the db fixture"
    actor = make_user("counsellor")
    for n in range(EVENTS):
        record_event(("view", "create", "update", "view", "export")[n], "case", f"case-{n}",
                     actor=actor if n % 2 else None, reason="csv" if n == 4 else None)
        db.session.commit()
    actor_id = actor.id
    db.session.remove()
    return actor_id


def verify(runner):
    """Run `carecycle audit verify` as a fresh process would: nothing cached in the session."""
    _db.session.remove()
    return runner.invoke(args=["audit", "verify"])


def sql(db, statement: str, **params) -> None:
    db.session.execute(text(statement), params)
    db.session.commit()


def assert_broken_at(result, seq: int, *words: str) -> None:
    assert result.exit_code == 1, result.output
    assert f"audit chain BROKEN at event {seq}:" in result.stderr
    for word in words:
        assert word in result.stderr
    assert "intact" not in result.output


def seqs(db) -> list[int]:
    return list(db.session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)))


# ------------------------------------------------------------------ the chain
def test_record_event_builds_a_chain(db, chain):
    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
    assert [e.seq for e in events] == list(range(1, EVENTS + 1))
    key = current_app.extensions["carecycle_keyring"].audit_key
    previous = GENESIS
    for event in events:
        assert event.hash == chain_hash(key, previous, event)
        previous = event.hash
    head = db.session.get(AuditHead, 1)
    assert (head.seq, head.hash) == (EVENTS, previous)
    assert events[1].actor_id == chain and events[1].actor_role == "counsellor"
    assert events[0].actor_id is None
    assert events[0].at.tzinfo is not None


def test_verify_passes_on_an_intact_chain(runner, chain):
    result = verify(runner)
    assert result.exit_code == 0, result.output
    assert f"audit chain intact: {EVENTS} event(s)" in result.output


def test_verify_passes_on_an_empty_chain(runner):
    result = verify(runner)
    assert result.exit_code == 0 and "intact: 0 event(s)" in result.output


@pytest.mark.parametrize("column, value", [
    ("action", "login"),
    ("outcome", "denied"),
    ("reason", "tampered"),
    ("object_id", "case-other"),
    ("object_type", "client"),
    ("actor_role", "admin"),
    ("address", "10.0.0.1"),
    ("hash", "f" * 64),
])
def test_verify_names_an_edited_event(db, runner, chain, column, value):
    sql(db, f'UPDATE audit_event SET "{column}" = :value WHERE seq = 3', value=value)
    assert_broken_at(verify(runner), 3, "event 3 does not match its hash")


def test_verify_names_an_event_whose_time_or_actor_was_edited(db, runner, chain, make_user):
    table = AuditEvent.__table__
    at = db.session.scalar(select(AuditEvent.at).where(AuditEvent.seq == 2))
    db.session.execute(table.update().where(table.c.seq == 2).values(at=at - timedelta(seconds=1)))
    db.session.commit()
    assert_broken_at(verify(runner), 2)

    other = make_user("counsellor")
    db.session.execute(table.update().where(table.c.seq == 2).values(at=at))  # time restored
    db.session.execute(table.update().where(table.c.seq == 4).values(actor_id=other.id))
    db.session.commit()
    assert_broken_at(verify(runner), 4)


def test_verify_names_a_deleted_middle_event(db, runner, chain):
    sql(db, "DELETE FROM audit_event WHERE seq = 3")
    assert_broken_at(verify(runner), 3, "missing")


def test_verify_names_a_deleted_first_event(db, runner, chain):
    sql(db, "DELETE FROM audit_event WHERE seq = 1")
    assert_broken_at(verify(runner), 1)


def test_verify_names_a_deleted_last_event(db, runner, chain):
    sql(db, "DELETE FROM audit_event WHERE seq = :seq", seq=EVENTS)
    assert_broken_at(verify(runner), EVENTS, "deleted from the end")


def test_verify_names_a_chain_emptied_of_every_event(db, runner, chain):
    sql(db, "DELETE FROM audit_event")
    assert_broken_at(verify(runner), 1)


def test_verify_names_reordered_events(db, runner, chain):
    sql(db, "UPDATE audit_event SET seq = -1 WHERE seq = 2")
    sql(db, "UPDATE audit_event SET seq = 2 WHERE seq = 4")
    sql(db, "UPDATE audit_event SET seq = 4 WHERE seq = -1")
    assert seqs(db) == list(range(1, EVENTS + 1))
    assert_broken_at(verify(runner), 2, "event 2 does not match its hash")


def test_verify_names_a_forged_head(db, runner, chain):
    sql(db, "UPDATE audit_head SET hash = :h WHERE id = 1", h="0" * 64)
    assert_broken_at(verify(runner), EVENTS + 1)


def test_an_event_hashed_without_the_audit_key_is_refused(db, runner, chain):
    """Rewriting an event and recomputing its hash needs the key; a made-up key is caught."""
    event = db.session.get(AuditEvent, 3)
    previous = db.session.get(AuditEvent, 2).hash
    event.outcome = "denied"
    forged = chain_hash(b"\0" * 32, previous, event)
    db.session.rollback()
    sql(db, "UPDATE audit_event SET outcome = 'denied', hash = :h WHERE seq = 3", h=forged)
    assert_broken_at(verify(runner), 3)


def test_a_record_after_a_failed_verify_is_still_checked_from_the_start(db, runner, chain):
    sql(db, "DELETE FROM audit_event WHERE seq = 2")
    record_event("view", "case", "later")
    db.session.commit()
    assert_broken_at(verify(runner), 2)


# ------------------------------------------------------------------ no names in events
def test_audit_events_contain_no_names_or_phone_numbers(app, client, db, make_user, login_as):
    display_name = "Wong Siuming Xanthe"
    phone = "+852 9123 4567"
    user = login_as("counsellor", display_name=display_name, phone=phone)
    assert client.get("/").status_code == 200
    assert client.get("/alerts").status_code == 200
    assert client.get("/admin/users").status_code == 403  # audited as permission_denied
    form_post(client, "/language", {"language": "zh_Hant", "next": "/"}, page="/")
    form_post(client, "/logout", {}, page="/")
    assert sign_in(client, user.username, "a wrong password, long enough").status_code == 401

    admin = make_user("admin", display_name="Chan Taiman Yusraine", phone="+852 6000 1111")
    assert sign_in(client, admin.username).status_code == 302
    response = form_post(client, "/admin/users/new", {
        "username": "newcomer", "display_name": "Lee Meiling Zorabeth", "role": "resident",
        "team_id": "", "password": "a temporary password for the newcomer"}, page="/admin/users/new")
    assert response.status_code == 302
    db.session.remove()

    rows = db.session.execute(text("SELECT * FROM audit_event")).all()
    actions = {row._mapping["action"] for row in rows}
    assert {"login", "logout", "login_failed", "permission_denied", "create"} <= actions
    cells = " ".join(str(value) for row in rows for value in row).casefold()
    digits = normalise_phone(cells)
    for name in (display_name, "Chan Taiman Yusraine", "Lee Meiling Zorabeth"):
        assert name.casefold() not in cells
        for part in name.split()[1:]:  # the distinctive parts ("Lee" could be part of any word)
            assert part.casefold() not in cells, part
    for number in (phone, "+852 6000 1111"):
        assert number not in cells
        assert normalise_phone(number)[3:] not in digits
    assert "newcomer" not in cells  # not even the new account's username: ids only


# ------------------------------------------------------------------ concurrency
def test_concurrent_writers_do_not_fork_the_chain(app, db, runner):
    """All writers read the chain head, then append at once: each must chain onto the head it locks.
    PostgreSQL only (see tests/race.py): SQLite runs one transaction at a time."""
    needs_concurrent_transactions(db)
    threads, per_thread = 4, 10
    contenders = Contenders(threads)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            with app.app_context():
                head = _db.session.get(AuditHead, 1)  # read in this transaction, before anyone appends
                contenders.ready(head.seq if head else 0)
                for i in range(per_thread):
                    record_event("view", "case", f"writer{n}-{i}")
                    _db.session.commit()
                _db.session.remove()
        except BaseException as error:  # reported below
            errors.append(error)

    db.session.remove()  # the test's own session must not hold a transaction while they write
    workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not errors, errors
    assert not any(worker.is_alive() for worker in workers)
    contenders.assert_overlapped(0)  # every writer read the head before any of them appended

    total = threads * per_thread
    assert seqs(db) == list(range(1, total + 1))
    object_ids = set(db.session.scalars(select(AuditEvent.object_id)))
    assert object_ids == {f"writer{n}-{i}" for n in range(threads) for i in range(per_thread)}
    report = verify_chain()
    assert report.ok and report.count == total, report
    result = verify(runner)
    assert result.exit_code == 0 and f"intact: {total} event(s)" in result.output


def test_a_writer_that_read_the_head_before_another_committed_appends_after_it(app, db):
    """PostgreSQL (read committed): the head read earlier in the transaction is stale by the time
    the row lock is taken; the writer must chain onto the row it locked, not onto what it read."""
    if db.engine.dialect.name == "sqlite":
        pytest.skip("SQLite: a transaction holds the write lock from its first read, so nothing can be stale")
    with Session(db.engine) as early, Session(db.engine) as other:
        head = early.get(AuditHead, 1)  # read (and held) in this transaction, before the other commits
        assert head.seq == 0
        record_event("view", "case", "other", session=other)
        other.commit()
        record_event("view", "case", "early", session=early)
        early.commit()
        assert head.seq == 2
    db.session.remove()
    assert seqs(db) == [1, 2]
    assert verify_chain().ok


# ------------------------------------------------------------------ checkpoints (issue 11)
@pytest.fixture
def checkpoints(app, tmp_path, monkeypatch):
    """The checkpoint file of this test; the web app's own checkpoints are off unless a test turns them on."""
    path = tmp_path / "audit-checkpoints.log"
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_FILE", str(path))
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_EVERY", 0)
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_MINUTES", 0)
    return path


def checkpoint(runner):
    _db.session.remove()
    result = runner.invoke(args=["audit", "checkpoint"])
    assert result.exit_code == 0, result.output
    return result


def verify_with(runner, path):
    _db.session.remove()
    return runner.invoke(args=["audit", "verify", "--checkpoints", str(path)])


def rewind_head_to(db, seq: int) -> None:
    """What an attacker with database access does after deleting the tail: point the head at the new end."""
    previous = GENESIS if seq == 0 else db.session.get(AuditEvent, seq).hash
    sql(db, "UPDATE audit_head SET seq = :seq, hash = :h WHERE id = 1", seq=seq, h=previous)


def test_checkpoint_appends_a_signed_line_to_the_checkpoint_file_0600(runner, chain, checkpoints):
    first = checkpoint(runner)
    assert f"checkpoint appended to {checkpoints}" in first.output
    lines = checkpoints.read_text().splitlines()
    assert len(lines) == 1 and lines[0].startswith("carecycle-audit-checkpoint ")
    data = json.loads(lines[0].split(" ", 1)[1])
    assert data["seq"] == EVENTS
    assert data["hash"] == _db.session.get(AuditEvent, EVENTS).hash
    assert set(data) == {"seq", "hash", "at", "sig"}
    assert stat.S_IMODE(os.stat(checkpoints).st_mode) == 0o600
    checkpoint(runner)
    assert len(checkpoints.read_text().splitlines()) == 2  # appended, never rewritten


def test_checkpoint_without_a_file_goes_to_standard_output(app, runner, chain, monkeypatch):
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_FILE", None)
    result = checkpoint(runner)
    line = result.output.strip()
    assert line.startswith("carecycle-audit-checkpoint ") and f'"seq":{EVENTS}' in line


def test_verify_with_checkpoints_passes_on_an_intact_chain(runner, chain, checkpoints):
    checkpoint(runner)
    record_event("view", "case", "after the checkpoint")
    _db.session.commit()
    result = verify_with(runner, checkpoints)
    assert result.exit_code == 0, result.output
    assert f"audit chain intact: {EVENTS + 1} event(s); it reaches all 1 checkpoint(s)" in result.output
    assert f"the last the checkpoint of event {EVENTS} taken" in result.output


def test_a_cut_tail_with_a_rewound_head_is_caught_by_the_checkpoint(db, runner, chain, checkpoints):
    """The attack of the review: delete the last events, rewind audit_head. The chain alone says
    'intact'; the checkpoint written before does not."""
    checkpoint(runner)
    sql(db, "DELETE FROM audit_event WHERE seq > 2")
    rewind_head_to(db, 2)
    assert verify(runner).exit_code == 0  # the limit of a chain kept only in the database
    result = verify_with(runner, checkpoints)
    assert_broken_at(result, 3, "the chain ends at event 2", f"checkpoint of event {EVENTS} taken",
                     f"{checkpoints} line 1", "deleted from the end")


def test_a_chain_emptied_with_its_head_reset_is_caught_by_the_checkpoint(db, runner, chain, checkpoints):
    checkpoint(runner)
    sql(db, "DELETE FROM audit_event")
    rewind_head_to(db, 0)
    assert verify(runner).exit_code == 0
    assert_broken_at(verify_with(runner, checkpoints), 1, "the chain ends at event 0",
                     f"checkpoint of event {EVENTS}")


def test_a_tail_rewritten_consistently_with_the_audit_key_is_caught_by_the_checkpoint(db, runner, chain,
                                                                                        checkpoints):
    """Even with the audit key, an attacker who rewrites the end of the chain (new, valid hashes)
    cannot make it reach the checkpoint kept outside the database."""
    checkpoint(runner)
    sql(db, "DELETE FROM audit_event WHERE seq > 3")
    rewind_head_to(db, 3)
    for n in range(EVENTS - 3):
        record_event("view", "case", f"innocent-{n}")
        db.session.commit()
    assert seqs(db) == list(range(1, EVENTS + 1))
    assert verify(runner).exit_code == 0  # every hash is valid
    result = verify_with(runner, checkpoints)
    assert_broken_at(result, EVENTS, f"event {EVENTS} differs from the checkpoint of event {EVENTS}",
                     f"{checkpoints} line 1", "rewritten")


def test_the_checkpoint_that_fails_is_named_among_several(db, runner, chain, checkpoints):
    checkpoint(runner)  # event 5
    for n in range(3):
        record_event("view", "case", f"later-{n}")
        db.session.commit()
    checkpoint(runner)  # event 8
    sql(db, "DELETE FROM audit_event WHERE seq > 6")
    rewind_head_to(db, 6)
    result = verify_with(runner, checkpoints)
    assert_broken_at(result, 7, "checkpoint of event 8", f"{checkpoints} line 2")


def test_a_forged_checkpoint_line_is_refused_naming_its_line(db, runner, chain, checkpoints):
    checkpoint(runner)
    line = checkpoints.read_text().splitlines()[0]
    data = json.loads(line.split(" ", 1)[1])
    data["seq"] = 2  # point the checkpoint at an earlier event, keeping the signature
    data["hash"] = db.session.get(AuditEvent, 2).hash
    with checkpoints.open("a") as handle:
        handle.write("carecycle-audit-checkpoint " + json.dumps(data) + "\n")
    result = verify_with(runner, checkpoints)
    assert result.exit_code == 1
    assert f"audit checkpoints REFUSED: {checkpoints} line 2 is not signed with this service's audit key" \
        in result.stderr
    assert "intact" not in result.output


@pytest.mark.parametrize("content, words", [
    (None, "cannot read checkpoints"),
    ("", "no checkpoint in"),
    ("2026-01-01 INFO carecycle: started\n", "no checkpoint in"),
    ("carecycle-audit-checkpoint {not json\n", "line 1 is not a readable checkpoint"),
])
def test_verify_with_an_unusable_checkpoint_file_fails(runner, chain, checkpoints, content, words):
    if content is not None:
        checkpoints.write_text(content)
    result = verify_with(runner, checkpoints)
    assert result.exit_code == 1 and words in result.stderr and "intact" not in result.output


def test_checkpoints_inside_a_shipped_log_are_read_among_other_lines(db, runner, chain, checkpoints, app,
                                                                     monkeypatch):
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_FILE", None)
    line = checkpoint(runner).output.strip()
    checkpoints.write_text(f"2026-12-01T10:00:00Z web-1 INFO other line\n2026-12-01T10:00:01Z web-1 {line}\n")
    assert verify_with(runner, checkpoints).exit_code == 0
    sql(db, "DELETE FROM audit_event WHERE seq > 1")
    rewind_head_to(db, 1)
    assert_broken_at(verify_with(runner, checkpoints), 2, f"{checkpoints} line 2")


def test_the_web_app_writes_a_checkpoint_every_n_events(app, client, db, make_user, runner, checkpoints,
                                                        monkeypatch):
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_EVERY", 3)
    user = make_user("counsellor")
    for _ in range(7):  # each failed sign-in is one audit event
        assert sign_in(client, user.username, "a wrong password, long enough").status_code == 401
    written = [json.loads(line.split(" ", 1)[1])["seq"] for line in checkpoints.read_text().splitlines()]
    assert written == [3, 6]
    assert verify_with(runner, checkpoints).exit_code == 0
    sql(db, "DELETE FROM audit_event WHERE seq > 4")
    rewind_head_to(db, 4)
    assert_broken_at(verify_with(runner, checkpoints), 5, "checkpoint of event 6", f"{checkpoints} line 2")


def test_the_web_app_writes_a_checkpoint_when_the_last_is_older_than_the_interval(app, client, db, make_user,
                                                                                  checkpoints, monkeypatch):
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_MINUTES", 30)
    user = make_user("counsellor")
    for _ in range(3):
        sign_in(client, user.username, "a wrong password, long enough")
    assert [json.loads(line.split(" ", 1)[1])["seq"] for line in checkpoints.read_text().splitlines()] == [1]
    sql(db, "UPDATE audit_head SET checkpointed_at = :at WHERE id = 1",
        at=db.session.get(AuditHead, 1).checkpointed_at - timedelta(minutes=31))
    sign_in(client, user.username, "a wrong password, long enough")
    sign_in(client, user.username, "a wrong password, long enough")
    assert [json.loads(line.split(" ", 1)[1])["seq"] for line in checkpoints.read_text().splitlines()] == [1, 4]


def test_a_rolled_back_event_writes_no_checkpoint(app, db, checkpoints, monkeypatch):
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_EVERY", 1)
    record_event("view", "case", "rolled back")
    db.session.rollback()
    assert not checkpoints.exists()
    record_event("view", "case", "kept")
    db.session.commit()
    lines = checkpoints.read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0].split(" ", 1)[1])["hash"] == db.session.get(AuditEvent, 1).hash


def test_a_checkpoint_that_cannot_be_written_does_not_fail_the_request(app, client, db, make_user, tmp_path,
                                                                        monkeypatch, caplog):
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_FILE", str(tmp_path / "missing-folder" / "checkpoints"))
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_EVERY", 1)
    user = make_user("counsellor")
    with caplog.at_level(logging.ERROR, logger="carecycle.audit"):
        assert sign_in(client, user.username, "a wrong password, long enough").status_code == 401
    assert "audit checkpoint not written" in caplog.text
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 1


@pytest.mark.parametrize("name", ["CARECYCLE_AUDIT_CHECKPOINT_EVERY", "CARECYCLE_AUDIT_CHECKPOINT_MINUTES"])
@pytest.mark.parametrize("value", ["often", "-1", "1e3"])
def test_a_bad_checkpoint_interval_stops_the_start_in_one_line(tmp_path, monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as stopped:
        make_app(tmp_path)
    message = str(stopped.value.code)
    assert message.startswith("CareCycle will not start: ") and name in message and "\n" not in message


def test_batched_views_write_the_same_chain_in_one_go_and_nothing_when_the_block_fails(app, db, runner,
                                                                                       make_user):
    from flask_login import login_user

    from carecycle.audit import batched_views, record_view

    actor = make_user("counsellor")
    with app.test_request_context("/fhir/R4/Patient/x/$everything"):
        login_user(actor)
        with batched_views():
            for n in range(4):
                assert record_view("case", f"case-{n}") is None  # kept, not written yet
            assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 0
        db.session.commit()
        with pytest.raises(RuntimeError), batched_views():
            record_view("case", "never")
            raise RuntimeError("the export failed")
        db.session.commit()
    events = list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
    assert [(e.seq, e.action, e.object_id, e.actor_id) for e in events] == [
        (n + 1, "view", f"case-{n}", actor.id) for n in range(4)]
    result = verify(runner)
    assert result.exit_code == 0, result.output
