"""The vulnerable-person register: one entry per client, its changes, and the outreach log.

Flags, the free-text "other" reason, change notes and outreach notes describe a person's health
and circumstances, so they are encrypted. The tier and the outreach clock stay plain: the
register is filtered and ordered by them."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carecycle.accounts.models import Team, User
from carecycle.crypto import Encrypted, Sealed
from carecycle.database import UUIDPrimaryKey, utcnow
from carecycle.extensions import Model
from casework.enums import Tier
from casework.models.clients import Client


class RegisterEntry(UUIDPrimaryKey, Model):
    """A client on the register (at most one entry per client; taking someone off keeps the row)."""

    __tablename__ = "register_entry"

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("client.id"), unique=True)
    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("team.id"), index=True)  # the team doing outreach
    tier: Mapped[str] = mapped_column(String(10), index=True)
    _flags: Mapped[str] = mapped_column("flags", Sealed)
    flags = Encrypted("_flags", kind="json")  # list of RegisterFlag codes
    _flag_other: Mapped[str | None] = mapped_column("flag_other", Sealed)
    flag_other = Encrypted("_flag_other")  # the free-text "other" reason
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The outreach clock: the next outreach is due one tier interval after this moment (entry
    # creation or re-adding, then each outreach that reached the person).
    due_from: Mapped[datetime] = mapped_column(default=utcnow)
    last_outreach_at: Mapped[datetime | None]  # the last attempt, whatever its outcome
    last_outcome: Mapped[str | None] = mapped_column(String(20))
    removed_at: Mapped[datetime | None]
    removed_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    # Bumped by tier and flag edits only (outreach does not make an open edit form stale).
    version: Mapped[int] = mapped_column(Integer, default=1)

    client: Mapped[Client] = relationship()
    team: Mapped[Team] = relationship()

    @property
    def on_register(self) -> bool:
        return self.removed_at is None

    @property
    def tier_enum(self) -> Tier:
        return Tier(self.tier)


class RegisterChange(UUIDPrimaryKey, Model):
    """One line of an entry's history: added, updated, removed or re-added, with the state after it."""

    __tablename__ = "register_change"

    entry_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("register_entry.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    kind: Mapped[str] = mapped_column(String(20))
    tier: Mapped[str] = mapped_column(String(10))  # the tier after the change
    previous_tier: Mapped[str | None] = mapped_column(String(10))
    entry_version: Mapped[int] = mapped_column(Integer)  # the entry's version after the change
    _detail: Mapped[str | None] = mapped_column("detail", Sealed)
    detail = Encrypted("_detail", kind="json")  # {"flags": [...], "flag_other": ..., "note": ...}

    actor: Mapped[User | None] = relationship()


class RegisterOutreach(UUIDPrimaryKey, Model):
    """One outreach attempt: when, by whom, how it went, a note and whether there is a concern."""

    __tablename__ = "register_outreach"

    entry_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("register_entry.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    outcome: Mapped[str] = mapped_column(String(20))
    concern: Mapped[bool] = mapped_column(Boolean, default=False)
    tier: Mapped[str] = mapped_column(String(10))  # the entry's tier when it happened
    alert_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("alert.id"))  # the triage alert it raised
    _note: Mapped[str | None] = mapped_column("note", Sealed)
    note = Encrypted("_note")

    by: Mapped[User | None] = relationship()
