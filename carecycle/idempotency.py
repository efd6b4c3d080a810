"""`Idempotency-Key` on API POSTs: a client that retries after a lost answer (a crash, a cut
connection) gets the first answer again and nothing is written twice.

The same key from the same signed-in user within 24 hours replays the stored answer (status, body,
`Location`) with `Idempotent-Replayed: true`; the same key with another request (method, path or
body) is refused with 422. The answer is stored in the request's own transaction, just before its
one commit (carecycle.lifecycle), so either the write and its stored answer are both kept or
neither is; two attempts in flight at once are decided by a unique index, and the later one is
rolled back and answered with the first one's stored answer. Only answers below 400 are stored
(nothing was written otherwise, and a retry is checked afresh). The stored body is encrypted: an
answer can hold personal data. A request without a signed-in user (an anonymous screening) is not
keyed: the key is ignored, as the header is optional."""
from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta

from flask import Response, g, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column

from carecycle.crypto import Encrypted, Sealed
from carecycle.database import UUIDPrimaryKey, utcnow
from carecycle.errors import json_error
from carecycle.extensions import Model, db

HEADER = "Idempotency-Key"
KEEP = timedelta(hours=24)
KEY_MAX = 200


class IdempotentRequest(UUIDPrimaryKey, Model):
    """The first answer to a keyed API POST of one user, replayed to a retry within 24 hours."""

    __tablename__ = "idempotent_request"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotent_request_user_key"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"), index=True)
    key: Mapped[str] = mapped_column(String(KEY_MAX))
    fingerprint: Mapped[str] = mapped_column(String(64))  # SHA-256 of method, path, query and body
    status: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(100))
    location: Mapped[str | None] = mapped_column(String(500))
    _body: Mapped[str | None] = mapped_column("body", Sealed)
    body = Encrypted("_body")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for part in (request.method, request.path, request.query_string.decode("latin-1")):
        digest.update(part.encode("utf-8", "replace") + b"\0")
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def _stored(user_id, key: str) -> IdempotentRequest | None:
    return db.session.scalar(select(IdempotentRequest).where(IdempotentRequest.user_id == user_id,
                                                             IdempotentRequest.key == key))


def _replay(row: IdempotentRequest) -> Response:
    response = Response(row.body or "", status=row.status, content_type=row.content_type)
    if row.location:
        response.headers["Location"] = row.location
    response.headers["Idempotent-Replayed"] = "true"
    return response


def check():
    """Before an API view: replay a stored answer, refuse a reused key, or note the key for `store`."""
    key = request.headers.get(HEADER)
    if request.method != "POST" or key is None or not current_user.is_authenticated:
        return None
    if not key or len(key) > KEY_MAX or not key.isascii() or not key.isprintable():
        return json_error(422, _("The Idempotency-Key header is not valid."),
                          {HEADER: _("Use 1 to %(n)d printable ASCII characters.", n=KEY_MAX)})
    fingerprint = _fingerprint()
    row = _stored(current_user.id, key)
    if row is not None and row.created_at > utcnow() - KEEP:
        if row.fingerprint != fingerprint:
            return json_error(422, _("This Idempotency-Key was used for another request."),
                              {HEADER: _("Send a new key for a new request.")})
        return _replay(row)
    g._idempotency = (key, fingerprint, row.id if row is not None else None)
    return None


def store(response: Response) -> None:
    """In the request's transaction, before its commit: keep the answer of a keyed request."""
    keyed = g.pop("_idempotency", None)
    if keyed is None or response.status_code >= 400 or response.direct_passthrough:
        return
    key, fingerprint, expired_id = keyed
    g._idempotency_done = (key, fingerprint)
    row = db.session.get(IdempotentRequest, expired_id) if expired_id else None
    if row is None:
        row = IdempotentRequest(user_id=current_user.id, key=key)
        db.session.add(row)
    row.fingerprint, row.status, row.created_at = fingerprint, response.status_code, utcnow()
    row.content_type = (response.content_type or "application/json")[:100]
    row.location = (response.headers.get("Location") or None)
    row.body = response.get_data(as_text=True)
    db.session.flush()


def answer_for_race() -> Response | None:
    """The commit failed because a parallel attempt with the same key stored its answer first: the
    caller has rolled back; answer with that stored answer (None: another integrity error)."""
    keyed = getattr(g, "_idempotency_done", None)
    if keyed is None:
        return None
    key, fingerprint = keyed
    row = _stored(current_user.id, key)
    if row is None:
        return None
    if row.fingerprint != fingerprint:
        return json_error(422, _("This Idempotency-Key was used for another request."),
                          {HEADER: _("Send a new key for a new request.")})
    return _replay(row)
