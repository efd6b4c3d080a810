"""Append-only, hash-chained audit trail.

Every event carries `hash = HMAC-SHA256(audit key, previous hash + canonical event)`; the
`audit_head` row holds the last sequence number and hash, so a deleted tail is caught too.
Events hold codes and ids only: never names, notes or answers."""
from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

from flask import current_app, has_request_context, request
from flask_login import current_user
from sqlalchemy import BigInteger, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from carecycle.database import utcnow
from carecycle.extensions import db

GENESIS = "0" * 64
SEQ_TYPE = BigInteger().with_variant(Integer, "sqlite")


class AuditEvent(db.Model):
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
    hash: Mapped[str] = mapped_column(String(64))

    def canonical(self) -> bytes:
        at = self.at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        fields = [self.seq, at, str(self.actor_id) if self.actor_id else None, self.actor_role,
                  self.action, self.object_type, self.object_id, self.address, self.outcome, self.reason]
        return json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode()


class AuditHead(db.Model):
    """The chain's end: one row, updated under a row lock so concurrent writers take turns."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(SEQ_TYPE)
    hash: Mapped[str] = mapped_column(String(64))


def chain_hash(key: bytes, previous: str, event: AuditEvent) -> str:
    return hmac.new(key, previous.encode() + event.canonical(), hashlib.sha256).hexdigest()


def _audit_key() -> bytes:
    return current_app.extensions["carecycle_keyring"].audit_key


def _current_actor():
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user
    return None


def record_event(action: str, object_type: str | None = None, object_id=None, *,
                 outcome: str = "ok", reason: str | None = None, actor=None,
                 session: Session | None = None) -> AuditEvent:
    """Append one event in the caller's transaction (the caller commits)."""
    session = session or db.session
    actor = actor or _current_actor()
    # populate_existing: a head this session read earlier may be stale by the time the lock is ours
    head = session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()
                           .execution_options(populate_existing=True)).scalar_one_or_none()
    if head is None:
        head = AuditHead(id=1, seq=0, hash=GENESIS)
        session.add(head)
    event = AuditEvent(
        seq=head.seq + 1,
        at=utcnow(),
        actor_id=actor.id if actor is not None else None,
        actor_role=str(actor.role) if actor is not None else None,
        action=action,
        object_type=object_type,
        object_id=str(object_id) if object_id is not None else None,
        address=request.remote_addr if has_request_context() else None,
        outcome=outcome,
        reason=(reason or None) and reason[:300],
    )
    event.hash = chain_hash(_audit_key(), head.hash, event)
    head.seq, head.hash = event.seq, event.hash
    session.add(event)
    return event


def record_view(object_type: str, object_id) -> AuditEvent:
    return record_event("view", object_type, object_id)


@dataclass
class ChainReport:
    ok: bool
    count: int
    first_bad: int | None = None
    problem: str = ""


def verify_chain(session: Session | None = None, key: bytes | None = None, batch: int = 2000) -> ChainReport:
    """Walk the chain in order; name the first event that was edited, deleted or reordered."""
    session = session or db.session
    key = key or _audit_key()
    previous, expected, count, last_seq = GENESIS, 1, 0, 0
    stmt = select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=batch)
    with session.scalars(stmt) as events:  # closes the server-side cursor on an early return
        for event in events:
            if event.seq != expected:
                return ChainReport(False, count, expected,
                                   f"event {expected} is missing (deleted) or out of order; found {event.seq} next")
            if not hmac.compare_digest(chain_hash(key, previous, event), event.hash):
                return ChainReport(False, count, event.seq,
                                   f"event {event.seq} does not match its hash (edited or reordered)")
            previous, expected, count, last_seq = event.hash, expected + 1, count + 1, event.seq
    head = session.get(AuditHead, 1)
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
    if head_seq != last_seq or head_hash != previous:
        return ChainReport(False, count, last_seq + 1,
                           f"the chain ends at event {last_seq} but the head records event {head_seq} "
                           "(events deleted from the end)")
    return ChainReport(True, count)
