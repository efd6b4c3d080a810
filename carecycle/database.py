"""Declarative base, UUID keys and timezone-aware UTC timestamps shared by every model."""
from __future__ import annotations

import logging
import os
import stat
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import CursorResult, DateTime, MetaData, Result, TypeDecorator, Uuid
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, registry

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Stores UTC; always hands back an aware UTC datetime (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    registry = registry(metadata=MetaData(naming_convention=NAMING_CONVENTION),
                        type_annotation_map={datetime: UTCDateTime(), uuid.UUID: Uuid()})


class UUIDPrimaryKey:
    """Random UUID primary key, assigned as soon as the object is made (encryption binds to it)."""

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)

    def __init__(self, **kwargs):
        given = kwargs.pop("id", None)
        super().__init__(id=given or uuid.uuid4(), **kwargs)


SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal", "-writer.lock")


def private_sqlite_files(url: str) -> Path | None:
    """Create an SQLite database file 0600 before SQLite does (it would make it 0644, and its
    -wal and -shm files take the database file's mode), and tighten files an older version
    left readable by others. Returns the database path, None for an in-memory database."""
    name = make_url(url).database
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    path = Path(name).resolve()
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for suffix in SQLITE_COMPANIONS:
        companion = path.with_name(path.name + suffix)
        try:
            mode = companion.stat().st_mode
        except FileNotFoundError:
            continue
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            os.chmod(companion, 0o600)
            logging.getLogger("carecycle").warning("%s was readable by others; its mode is now 0600", companion)
    return path


def rows_changed(result: Result) -> int:
    """How many rows an UPDATE or DELETE changed (a session's `execute` is typed as a plain Result)."""
    assert isinstance(result, CursorResult)
    return result.rowcount or 0
