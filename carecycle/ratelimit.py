"""Attempt counting kept in the database, so every worker and machine sees the same counts."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import Index, String, delete, func, select
from sqlalchemy.orm import Mapped, mapped_column

from carecycle.database import UUIDPrimaryKey, utcnow
from carecycle.extensions import db


class RateLimitHit(UUIDPrimaryKey, db.Model):
    """One counted attempt (logins per address, registrations, partner links)."""

    __tablename__ = "rate_limit_hit"
    __table_args__ = (Index("ix_rate_limit_hit_lookup", "bucket", "key", "at"),)

    bucket: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)


def _key(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def allow(bucket: str, key: str, limit: int, window: timedelta) -> bool:
    """Count one attempt; False when `limit` attempts were already made within `window`."""
    now = utcnow()
    hashed = _key(key)
    db.session.execute(delete(RateLimitHit).where(RateLimitHit.bucket == bucket,
                                                  RateLimitHit.at < now - max(window, timedelta(days=1))))
    count = db.session.scalar(select(func.count()).select_from(RateLimitHit).where(
        RateLimitHit.bucket == bucket, RateLimitHit.key == hashed, RateLimitHit.at >= now - window))
    if count >= limit:
        return False
    db.session.add(RateLimitHit(bucket=bucket, key=hashed, at=now))
    return True
