"""Append-only, hash-chained audit trail.

Every event carries `hash = HMAC-SHA256(audit key, previous hash + canonical event)`; the
`audit_head` row holds the last sequence number and hash, so a deleted tail is caught too.
Events hold codes and ids only: never names, notes or answers.

A chain kept only inside the database cannot show that its end was cut off (delete the last
events and rewind the head, and it is consistent again). Checkpoints keep the end outside:
a line with a sequence number, its hash and an HMAC made with a key derived from the audit
key, appended to `CARECYCLE_AUDIT_CHECKPOINT_FILE` (or standard output / the log for a log
shipper). The web app writes one every `AUDIT_CHECKPOINT_EVERY` events or
`AUDIT_CHECKPOINT_MINUTES` minutes; `carecycle audit verify --checkpoints FILE` fails when
the chain no longer reaches a checkpointed sequence with the same hash."""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import current_app, g, has_app_context, has_request_context, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import BigInteger, Integer, String, select
from sqlalchemy import event as orm_event
from sqlalchemy.orm import Mapped, Session, mapped_column

from carecycle.database import utcnow
from carecycle.extensions import Model, db

GENESIS = "0" * 64
SEQ_TYPE = BigInteger().with_variant(Integer, "sqlite")


class AuditEvent(Model):
    __tablename__ = "audit_event"

    seq: Mapped[int] = mapped_column(SEQ_TYPE, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    actor_role: Mapped[str | None] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(40), index=True)
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(64), index=True)
    address: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(300))
    # the break-glass grant the actor was using when the event happened (None: ordinary access)
    grant_id: Mapped[str | None] = mapped_column(String(36), index=True)
    hash: Mapped[str] = mapped_column(String(64))

    def canonical(self) -> bytes:
        at = self.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        fields = [self.seq, at, str(self.actor_id) if self.actor_id else None, self.actor_role,
                  self.action, self.object_type, self.object_id, self.address, self.outcome, self.reason]
        if self.grant_id is not None:  # appended only when set, so events from before keep their hash
            fields.append(self.grant_id)
        return json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode()


class AuditHead(Model):
    """The chain's end: one row, updated under a row lock so concurrent writers take turns."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(SEQ_TYPE)
    hash: Mapped[str] = mapped_column(String(64))
    checkpointed_at: Mapped[datetime | None]  # when the web app last wrote a checkpoint


def chain_hash(key: bytes, previous: str, event: AuditEvent) -> str:
    return hmac.new(key, previous.encode() + event.canonical(), hashlib.sha256).hexdigest()


def _audit_key() -> bytes:
    return current_app.extensions["carecycle_keyring"].audit_key


_GRANT_IN_USE = "carecycle_break_glass_grant_in_use"


def act_under_grant(user, grant_id) -> None:
    """From now until the request ends, `user`'s events carry `grant_id`: the access layer calls it
    when a record is open to the user only through a break-glass grant."""
    if has_app_context():
        setattr(g, _GRANT_IN_USE, (user.id, str(grant_id)))


def _grant_in_use(actor) -> str | None:
    if actor is None or not has_app_context():
        return None
    in_use = g.get(_GRANT_IN_USE)
    return in_use[1] if in_use and in_use[0] == actor.id else None


def _current_actor():
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user
    return None


def record_event(action: str, object_type: str | None = None, object_id=None, *,
                 outcome: str = "ok", reason: str | None = None, actor=None,
                 session: Session | None = None) -> AuditEvent:
    """Append one event in the caller's transaction (the caller commits)."""
    return _append(session or db.session(), actor or _current_actor(),
                   [(action, object_type, object_id, outcome, reason)])[0]


def _append(session: Session, actor, events: list[tuple]) -> list[AuditEvent]:
    """Append `events` ((action, object_type, object_id, outcome, reason) each) to the chain, in order,
    under one lock of its head."""
    # populate_existing: a head this session read earlier may be stale by the time the lock is ours
    head = session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()
                           .execution_options(populate_existing=True)).scalar_one_or_none()
    if head is None:
        head = AuditHead(id=1, seq=0, hash=GENESIS)
        session.add(head)
    key, grant = _audit_key(), _grant_in_use(actor)
    address = request.remote_addr if has_request_context() else None
    written = []
    for action, object_type, object_id, outcome, reason in events:
        event = AuditEvent(
            seq=head.seq + 1,
            at=utcnow(),
            actor_id=actor.id if actor is not None else None,
            actor_role=str(actor.role) if actor is not None else None,
            action=action,
            object_type=object_type,
            object_id=str(object_id) if object_id is not None else None,
            address=address,
            outcome=outcome,
            reason=(reason or None) and reason[:300],
            grant_id=grant,
        )
        event.hash = chain_hash(key, head.hash, event)
        head.seq, head.hash = event.seq, event.hash
        session.add(event)
        if has_app_context() and _checkpoint_due(head, event):
            head.checkpointed_at = event.at
            session.info[_CHECKPOINT_DUE] = current_app.config.get("AUDIT_CHECKPOINT_FILE") or None
        written.append(event)
    return written


def record_views(viewed: list[tuple[str, object]], *, reason: str | None = None) -> list[AuditEvent]:
    """A view event for each (object_type, object_id) in `viewed`, in order, under one lock of the
    chain's head: what an export of many records (FHIR `$everything`) writes instead of one
    `record_view` per record. The events are the same as those separate calls would write."""
    if not viewed:
        return []
    return _append(db.session(), _current_actor(),
                   [("view", object_type, object_id, "ok", reason) for object_type, object_id in viewed])


_BATCHED = "_carecycle_batched_views"


def record_view(object_type: str, object_id) -> AuditEvent | None:
    """A view event; inside `batched_views()` it is kept and written with the others at the end."""
    pending = g.get(_BATCHED) if has_app_context() else None
    if pending is not None:
        pending.append((object_type, object_id))
        return None
    return record_event("view", object_type, object_id)


@contextmanager
def batched_views():
    """Within the block, `record_view` calls are collected and written together when it ends (one
    lock of the chain's head for all of them; an export of a whole record audits every item it holds
    without taking the lock once per item). Nothing is written if the block raises."""
    outer = g.get(_BATCHED)
    pending: list[tuple[str, object]] = []
    setattr(g, _BATCHED, pending)
    try:
        yield
    finally:
        setattr(g, _BATCHED, outer)
    if outer is not None:
        outer.extend(pending)
    else:
        record_views(pending)


# ------------------------------------------------------------------ checkpoints
CHECKPOINT_MARK = "carecycle-audit-checkpoint"
_CHECKPOINT_DUE = "carecycle_audit_checkpoint_due"
log = logging.getLogger("carecycle.audit")


class CheckpointError(Exception):
    """A checkpoint file that cannot be read or trusted; the message is one line."""


@dataclass
class Checkpoint:
    seq: int
    hash: str
    at: str                  # ISO time the checkpoint was taken (UTC)
    line: int | None = None  # where it was read from
    source: str | None = None

    def name(self) -> str:
        where = f" ({self.source} line {self.line})" if self.line is not None else ""
        return f"checkpoint of event {self.seq} taken {self.at}{where}"


def _checkpoint_key(key: bytes) -> bytes:
    """A key of its own for signing checkpoints, so a signature is never also a chain hash."""
    return hmac.new(key, b"carecycle audit checkpoint key", hashlib.sha256).digest()


def _signature(key: bytes, seq: int, hash_: str, at: str) -> str:
    return hmac.new(_checkpoint_key(key), f"{seq}|{hash_}|{at}".encode(), hashlib.sha256).hexdigest()


def checkpoint_line(seq: int, hash_: str, key: bytes | None = None, at: datetime | None = None) -> str:
    """One self-describing line: the mark, then JSON with the sequence, hash, time and signature."""
    key = key or _audit_key()
    stamp = (at or utcnow()).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    body = {"seq": seq, "hash": hash_, "at": stamp, "sig": _signature(key, seq, hash_, stamp)}
    return f"{CHECKPOINT_MARK} {json.dumps(body, separators=(',', ':'))}"


def current_checkpoint(session: Session | None = None, key: bytes | None = None) -> str:
    """The checkpoint line for the chain's committed end (the head row)."""
    session = session or db.session()
    head = session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).one_or_none()
    seq, hash_ = head if head is not None else (0, GENESIS)
    return checkpoint_line(seq, hash_, key)


def append_checkpoint(path: str | os.PathLike, line: str) -> None:
    """Append one line (opened for appending only, 0600 when new) and make it durable."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (line + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def read_checkpoints(path: str | os.PathLike, key: bytes | None = None) -> list[Checkpoint]:
    """Every checkpoint line of a file (other lines, such as a log's, are skipped); a line that
    carries the mark but is malformed or wrongly signed makes the whole file untrusted."""
    key = key or _audit_key()
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        raise CheckpointError(f"cannot read checkpoints from {source}: {error.strerror or error}") from error
    found = []
    for number, raw in enumerate(text.splitlines(), start=1):
        mark = raw.find(CHECKPOINT_MARK + " ")
        if mark < 0:
            continue
        try:
            data = json.loads(raw[mark + len(CHECKPOINT_MARK) + 1:])
            seq, hash_, at, sig = int(data["seq"]), str(data["hash"]), str(data["at"]), str(data["sig"])
        except (ValueError, KeyError, TypeError):
            raise CheckpointError(f"{source} line {number} is not a readable checkpoint") from None
        if seq < 0 or not hmac.compare_digest(_signature(key, seq, hash_, at), sig):
            raise CheckpointError(f"{source} line {number} is not signed with this service's audit key "
                                  "(forged or from another installation)")
        found.append(Checkpoint(seq, hash_, at, number, source))
    if not found:
        raise CheckpointError(f"no checkpoint in {source}")
    return found


def _checkpoint_due(head: AuditHead, event: AuditEvent) -> bool:
    config = current_app.config
    every, minutes = config.get("AUDIT_CHECKPOINT_EVERY") or 0, config.get("AUDIT_CHECKPOINT_MINUTES") or 0
    if every and event.seq % every == 0:
        return True
    if minutes and (head.checkpointed_at is None
                    or event.at - head.checkpointed_at >= timedelta(minutes=minutes)):
        return True
    return False


@orm_event.listens_for(Session, "before_commit")
def _read_checkpoint_before_commit(session: Session) -> None:
    """Read the end the transaction is about to commit (a rolled-back savepoint is not in it)."""
    if _CHECKPOINT_DUE not in session.info:
        return
    target = session.info.pop(_CHECKPOINT_DUE)
    session.flush()
    head = session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).one_or_none()
    if head is not None:
        session.info[_CHECKPOINT_DUE + "_line"] = (target, checkpoint_line(head.seq, head.hash))


@orm_event.listens_for(Session, "after_commit")
def _write_checkpoint_after_commit(session: Session) -> None:
    """Write it only once committed: a checkpoint of an end that was rolled back would be a false alarm."""
    pending = session.info.pop(_CHECKPOINT_DUE + "_line", None)
    if pending is None:
        return
    target, line = pending
    if target is None:
        log.info("%s", line)
        return
    try:
        append_checkpoint(target, line)
    except OSError as error:
        log.error("audit checkpoint not written to %s (%s): %s", target, error.strerror or error, line)


@orm_event.listens_for(Session, "after_rollback")
def _forget_checkpoint(session: Session) -> None:
    session.info.pop(_CHECKPOINT_DUE, None)
    session.info.pop(_CHECKPOINT_DUE + "_line", None)


# ------------------------------------------------------------------ verification
@dataclass
class ChainReport:
    ok: bool
    count: int
    first_bad: int | None = None
    problem: str = ""
    checkpoint: Checkpoint | None = None          # the checkpoint the chain fails, if any
    checkpoints_reached: int = 0
    last_checkpoint: Checkpoint | None = None
    last_seq: int = 0                             # where the walk ended, and that event's hash:
    last_hash: str = GENESIS                      # the start of the next incremental check


def verify_chain(session: Session | None = None, key: bytes | None = None, batch: int = 2000,
                 checkpoints: list[Checkpoint] | None = None,
                 after: tuple[int, str] | None = None) -> ChainReport:
    """Walk the chain in order; name the first event that was edited, deleted or reordered, and,
    given checkpoints, the first one the chain no longer reaches with the same hash.

    `after=(seq, hash)`: an earlier check verified the chain up to event `seq` ending in `hash`;
    walk only the events after it (so the check costs the same at any length), having made sure
    that event still has that hash. The whole chain is walked by `carecycle audit verify`."""
    session = session or db.session()
    key = key or _audit_key()
    if after is not None and after[0] > 0:
        start_seq, start_hash = after
        at = session.scalar(select(AuditEvent).where(AuditEvent.seq == start_seq))
        before = session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == start_seq - 1)) \
            if start_seq > 1 else GENESIS
        if at is None or before is None or not hmac.compare_digest(at.hash, start_hash) \
                or not hmac.compare_digest(chain_hash(key, before, at), at.hash):
            return ChainReport(False, 0, start_seq, f"event {start_seq}, verified earlier, is missing or changed "
                                                    "(run the full check: carecycle audit verify)")
        return _walk(session, key, batch, {}, [], start_hash, start_seq + 1, start_seq, start_seq,
                     AuditEvent.seq > start_seq)
    by_seq: dict[int, list[Checkpoint]] = {}
    for checkpoint in checkpoints or []:
        by_seq.setdefault(checkpoint.seq, []).append(checkpoint)
    reached: list[Checkpoint] = []
    for checkpoint in by_seq.pop(0, []):
        if checkpoint.hash != GENESIS:
            return ChainReport(False, 0, 1, f"{checkpoint.name()} does not match the start of the chain",
                               checkpoint)
        reached.append(checkpoint)
    return _walk(session, key, batch, by_seq, reached, GENESIS, 1, 0, 0, None)


def _walk(session, key: bytes, batch: int, by_seq: dict, reached: list, previous: str, expected: int, count: int,
          last_seq: int, where) -> ChainReport:
    stmt = select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=batch)
    if where is not None:
        stmt = stmt.where(where)
    with session.scalars(stmt) as events:  # closes the server-side cursor on an early return
        for event in events:
            if event.seq != expected:
                return ChainReport(False, count, expected,
                                   f"event {expected} is missing (deleted) or out of order; found {event.seq} next")
            if not hmac.compare_digest(chain_hash(key, previous, event), event.hash):
                return ChainReport(False, count, event.seq,
                                   f"event {event.seq} does not match its hash (edited or reordered)")
            for checkpoint in by_seq.pop(event.seq, []):
                if not hmac.compare_digest(checkpoint.hash, event.hash):
                    return ChainReport(False, count, event.seq,
                                       f"event {event.seq} differs from the {checkpoint.name()} "
                                       "(the chain was rewritten from there)", checkpoint)
                reached.append(checkpoint)
            previous, expected, count, last_seq = event.hash, expected + 1, count + 1, event.seq
    head = session.get(AuditHead, 1)
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
    if head_seq != last_seq or head_hash != previous:
        return ChainReport(False, count, last_seq + 1,
                           f"the chain ends at event {last_seq} but the head records event {head_seq} "
                           "(events deleted from the end)")
    if by_seq:
        beyond = min((c for group in by_seq.values() for c in group), key=lambda c: (c.seq, c.line or 0))
        return ChainReport(False, count, last_seq + 1,
                           f"the chain ends at event {last_seq} but the {beyond.name()} recorded event "
                           f"{beyond.seq} (events deleted from the end)", beyond)
    last = max(reached, key=lambda c: (c.seq, c.line or 0)) if reached else None
    return ChainReport(True, count, checkpoints_reached=len(reached), last_checkpoint=last, last_seq=last_seq,
                       last_hash=previous)


# The audit trail stores stable codes; the viewer shows them in the reader's language (a code without
# a label, from a newer version, shows as itself).
ACTION_LABELS = {
    "login": _l("Signed in"), "login_failed": _l("Sign-in failed"), "logout": _l("Signed out"),
    "view": _l("Viewed"), "create": _l("Created"), "update": _l("Changed"), "sign": _l("Signed"),
    "export": _l("Exported"), "import": _l("Imported"), "share": _l("Shared"), "unshare": _l("Stopped sharing"),
    "claim": _l("Claimed"), "release": _l("Released"), "convert": _l("Turned into a case"), "close": _l("Closed"),
    "acknowledge": _l("Acknowledged"), "review": _l("Reviewed"), "archive": _l("Archived"), "delete": _l("Deleted"),
    "revoke": _l("Revoked"), "break_glass": _l("Break-glass access"), "consent_override": _l("Sent without consent"),
    "link_resident": _l("Linked a resident account"), "unlink_resident": _l("Unlinked a resident account"),
    "permission_denied": _l("Refused (no permission)"), "duplicate_match": _l("Possible duplicate found"),
    "partner_action": _l("Partner answered"), "refuse": _l("Refused"),
    "approve": _l("Approved"), "withdraw": _l("Withdrawn"),
}

RECORD_LABELS = {
    "account_change": _l("Account change"), "after_action_review": _l("After-action review"), "alert": _l("Alert"),
    "api_token": _l("API token"), "approvals_queue": _l("Approvals queue"), "article": _l("Article"),
    "audit_chain": _l("Audit chain"), "audit_log": _l("Audit trail"), "bench_seed": _l("Benchmark data"),
    "break_glass_grant": _l("Break-glass access"), "care_plan": _l("Care plan"),
    "care_plan_review": _l("Care-plan review"), "care_plan_version": _l("Care-plan version"), "case": _l("Case"),
    "case_notes": _l("Case notes"), "case_outcomes": _l("Case outcomes"), "case_screening": _l("Case screening"),
    "client": _l("Client"), "closure_request": _l("Closure request"), "community_group": _l("Community group"),
    "consent": _l("Consent"), "contact_note": _l("Contact note"), "contact_request": _l("Call-back request"),
    "crisis_resource": _l("Crisis resource"), "drill": _l("Drill"), "drill_action": _l("Drill action"),
    "follow_up": _l("Follow-up"), "group_attendance": _l("Group attendance"), "group_member": _l("Group member"),
    "group_members": _l("Group members"), "group_session": _l("Group session"),
    "inbound_referral": _l("Inbound referral"), "notification_setting": _l("Notification setting"),
    "operating_mode": _l("Operating mode"), "partner_directory": _l("Partner directory"),
    "partner_link": _l("Partner link"), "partner_organisation": _l("Partner organisation"),
    "partner_token": _l("Partner token"),
    "partner_service": _l("Partner service"), "referral": _l("Referral"), "register": _l("Vulnerable-person register"),
    "register_entry": _l("Register entry"), "register_outreach": _l("Outreach"),
    "rescreen_schedule": _l("Re-screening schedule"), "resident_link_code": _l("Resident link code"),
    "resident_screenings": _l("Resident's screenings"), "risk_acknowledgements": _l("Risk acknowledgements"),
    "risk_assessment": _l("Risk assessment"), "risk_assessments": _l("Risk assessments"),
    "safety_plan": _l("Safety plan"), "screening_history": _l("Screening history"),
    "screening_result": _l("Screening result"), "statistics": _l("Statistics"),
    "supervision_decision": _l("Supervisor's decision"), "surge_view": _l("Surge view"), "task": _l("Task"),
    "team": _l("Team"), "translation_pack": _l("Questionnaire translation"),
    "team_caseload": _l("Team caseload"), "user": _l("User account"),
    "volunteer_certificate": _l("Volunteer certificate"), "volunteer_mobilisation": _l("Volunteer mobilisation"),
    "volunteer_team": _l("Volunteer team"), "worker_caseload": _l("Worker's caseload"),
    "consent_override": _l("Consent override"), "assessment_to_acknowledge": _l("Risk assessment"),
}
OUTCOME_LABELS = {"ok": _l("Done"), "denied": _l("Refused"), "rate_limited": _l("Too many attempts")}


def in_words(event) -> str:
    """An event's action and record type as the reader reads them ("Created · Contact note")."""
    record = event.object_type or ""
    parts = (ACTION_LABELS.get(event.action, event.action), RECORD_LABELS.get(record, record))
    return " · ".join(str(part) for part in parts if part)
