"""Attempt counting kept in the database, so every worker and machine sees the same counts."""
from __future__ import annotations

import hashlib
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from flask import current_app, g, request
from sqlalchemy import Index, String, Table, and_, bindparam, delete, func, insert, select
from sqlalchemy.orm import Mapped, mapped_column

from carecycle.database import UUIDPrimaryKey, rows_changed, utcnow
from carecycle.extensions import Model, db

# Expired hits are removed by the next counted attempt of their bucket, at most once per this many
# seconds in each process: the count only looks at the window, so old rows are harmless meanwhile,
# and a busy endpoint does not pay a delete on every request.
PRUNE_EVERY = 60.0
_last_pruned: dict[str, float] = {}
_prune_lock = threading.Lock()


class RateLimitHit(UUIDPrimaryKey, Model):
    """One counted attempt (logins per address, registrations, partner links)."""

    __tablename__ = "rate_limit_hit"
    __table_args__ = (Index("ix_rate_limit_hit_lookup", "bucket", "key", "at"),)

    bucket: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)


def _key(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _prune_due(bucket: str) -> bool:
    now = time.monotonic()
    with _prune_lock:
        last = _last_pruned.get(bucket)
        if last is not None and now - last < PRUNE_EVERY:
            return False
        _last_pruned[bucket] = now
        return True


def prune(bucket: str, window: timedelta, now: datetime | None = None) -> int:
    """Delete the bucket's hits older than the window (and at least a day old); returns how many."""
    now = now or utcnow()
    return rows_changed(db.session.execute(delete(RateLimitHit).where(
        RateLimitHit.bucket == bucket, RateLimitHit.at < now - max(window, timedelta(days=1)))))


_hits = cast(Table, RateLimitHit.__table__)  # the Core table, for the statements below
# One Core statement on the session's connection, counting and adding at once: this runs on public
# endpoints' hot path, where the ORM's unit of work would cost more than the statement itself.
_COUNT_RECENT = (select(func.count()).select_from(_hits)
                 .where(and_(_hits.c.bucket == bindparam("bucket"), _hits.c.key == bindparam("key"),
                             _hits.c.at >= bindparam("since"))))
_RECENT = _COUNT_RECENT.scalar_subquery()
_ADD_IF_UNDER = insert(_hits).from_select(
    ["id", "bucket", "key", "at"],
    select(bindparam("new_id", type_=_hits.c.id.type), bindparam("new_bucket", type_=_hits.c.bucket.type),
           bindparam("new_key", type_=_hits.c.key.type), bindparam("at", type_=_hits.c.at.type))
    .where(_RECENT < bindparam("limit"))).returning(_hits.c.id)  # rowcount is not reliable for INSERT..SELECT


def take(bucket: str, key: str, limit: int, window: timedelta) -> uuid.UUID | None:
    """Count one attempt and return its hit, or None when `limit` attempts were already made
    within `window` (the refusal is not counted)."""
    now = utcnow()
    hashed = _key(key)
    if _prune_due(bucket):
        prune(bucket, window, now)
    added = db.session.connection().execute(_ADD_IF_UNDER, {
        "new_id": uuid.uuid4(), "new_bucket": bucket, "new_key": hashed, "at": now,
        "bucket": bucket, "key": hashed, "since": now - window, "limit": limit})
    return added.scalar()


def give_back(hit: uuid.UUID) -> None:
    """Withdraw an attempt counted by `take` that turned out not to count (a successful sign-in)."""
    db.session.connection().execute(delete(_hits).where(_hits.c.id == hit))


def allow(bucket: str, key: str, limit: int, window: timedelta) -> bool:
    """Count one attempt; False when `limit` attempts were already made within `window`."""
    return take(bucket, key, limit, window) is not None


@dataclass(frozen=True)
class RouteLimit:
    bucket: str
    limit_setting: str   # config key: attempts per address per window
    window_setting: str  # config key: seconds, or a timedelta


def counted(bucket: str, limit_setting: str, window_setting: str):
    """Declare that every POST to a route counts against a per-address limit: the count is taken and
    committed before the view reads the body, so refused requests (too large, invalid) count too.
    The view asks `within_limit()` and answers 429 in its own words when it is False."""
    def decorate(view):
        view.rate_limit = RouteLimit(bucket, limit_setting, window_setting)
        return view
    return decorate


def count_request() -> None:
    """before_request: count a POST to a route declared with `counted`."""
    view = current_app.view_functions.get(request.endpoint or "")
    rule: RouteLimit | None = getattr(view, "rate_limit", None)
    if rule is None or request.method != "POST":
        return
    cfg = current_app.config
    window = cfg[rule.window_setting]
    window = window if isinstance(window, timedelta) else timedelta(seconds=window)
    g.rate_limit_allowed = allow(rule.bucket, request.remote_addr or "-", cfg[rule.limit_setting], window)
    db.session.commit()


def within_limit() -> bool:
    """False when this request was over its route's limit (see `counted`)."""
    return g.get("rate_limit_allowed", True)


def recent(bucket: str, key: str, window: timedelta) -> int:
    """How many attempts of `key` were counted within `window` (without counting one more)."""
    return db.session.connection().execute(_COUNT_RECENT, {
        "bucket": bucket, "key": _key(key), "since": utcnow() - window}).scalar_one()


def count(bucket: str, key: str) -> None:
    """Count one attempt of `key` with no limit (read back with `recent`)."""
    db.session.connection().execute(insert(_hits).values(id=uuid.uuid4(), bucket=bucket, key=_key(key), at=utcnow()))


def forget(bucket: str, key: str) -> None:
    """Withdraw every attempt counted for `key` (a successful sign-in clears its pair's failures)."""
    db.session.connection().execute(delete(_hits).where(_hits.c.bucket == bucket, _hits.c.key == _key(key)))
