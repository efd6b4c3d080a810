"""The database-backed attempt counter shared by logins, registrations, screenings and links."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from carecycle import ratelimit
from carecycle.database import utcnow
from carecycle.ratelimit import RateLimitHit


def hits(db, bucket="test"):
    return db.session.scalar(select(func.count()).select_from(RateLimitHit).where(RateLimitHit.bucket == bucket))


def test_counts_up_to_the_limit_then_refuses_without_counting_the_refusal(db):
    window = timedelta(minutes=5)
    assert [ratelimit.allow("test", "10.0.0.1", 3, window) for _ in range(5)] == [True, True, True, False, False]
    db.session.commit()
    assert hits(db) == 3  # refused attempts add nothing


def test_keys_and_buckets_are_counted_apart_and_the_key_is_stored_hashed(db):
    window = timedelta(minutes=5)
    assert ratelimit.allow("test", "10.0.0.1", 1, window)
    assert ratelimit.allow("test", "10.0.0.2", 1, window)
    assert ratelimit.allow("other", "10.0.0.1", 1, window)
    assert not ratelimit.allow("test", "10.0.0.1", 1, window)
    db.session.commit()
    keys = db.session.scalars(select(RateLimitHit.key)).all()
    assert len(keys) == 3 and not any("10.0.0" in key for key in keys) and all(len(key) == 64 for key in keys)


def test_hits_older_than_the_window_no_longer_count(db):
    window = timedelta(minutes=5)
    old = utcnow() - timedelta(minutes=6)
    db.session.add_all(RateLimitHit(bucket="test", key=ratelimit._key("10.0.0.1"), at=old) for _ in range(3))
    db.session.commit()
    assert ratelimit.allow("test", "10.0.0.1", 3, window)


def test_expired_hits_are_pruned_at_most_once_a_minute_per_bucket(db, monkeypatch):
    monkeypatch.setattr(ratelimit, "_last_pruned", {})
    window = timedelta(minutes=5)
    db.session.add(RateLimitHit(bucket="test", key=ratelimit._key("a"), at=utcnow() - timedelta(days=2)))
    db.session.add(RateLimitHit(bucket="test", key=ratelimit._key("b"), at=utcnow() - timedelta(hours=2)))
    db.session.commit()
    assert ratelimit.allow("test", "c", 10, window)  # first call of the bucket in this process: prunes
    db.session.commit()
    assert hits(db) == 2  # the day-old hit went; the two-hour-old one is kept (a day at least)
    db.session.add(RateLimitHit(bucket="test", key=ratelimit._key("d"), at=utcnow() - timedelta(days=3)))
    db.session.commit()
    assert ratelimit.allow("test", "c", 10, window)
    db.session.commit()
    assert hits(db) == 4  # within the minute: no second delete
    monkeypatch.setattr(ratelimit, "_last_pruned", {"test": ratelimit._last_pruned["test"] - 61})
    assert ratelimit.allow("test", "c", 10, window)
    db.session.commit()
    assert hits(db) == 4  # a minute later: the three-day-old hit went, this attempt was added
