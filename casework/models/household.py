"""Household emergency plans: for a client's household (an 82-year-old living alone on the register),
who checks on them and how often in an emergency, the medicines and equipment they depend on and how
many days they hold, how to reach them if phones fail, where they would go and who holds a key.
A draft is edited in place; signing freezes it and the next change starts a new version (old ones
are kept). A signed version can be shared with the client's resident account when they ask.
The plan's words identify the person: encrypted. The fewest days of medicine held is kept
in the clear (a number, nothing that names anyone) so the emergency list can put them first."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carecycle.accounts.models import User
from carecycle.crypto import Encrypted, Sealed
from carecycle.database import UUIDPrimaryKey, utcnow
from carecycle.extensions import Model
from casework.models.clients import Client


class HouseholdPlanVersion(UUIDPrimaryKey, Model):
    __tablename__ = "household_plan_version"
    __table_args__ = (
        UniqueConstraint("client_id", "number", name="uq_household_plan_version_client_number"),
        Index("uq_household_plan_version_one_draft", "client_id", unique=True,
              sqlite_where=text("signed_at IS NULL"), postgresql_where=text("signed_at IS NULL")),
    )

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("client.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    _content: Mapped[str | None] = mapped_column("content", Sealed)
    content = Encrypted("_content", kind="json")  # {field: text, "medicines": [{"name", "days"}]}
    medicine_days: Mapped[int | None] = mapped_column(Integer, index=True)  # the fewest days of any medicine held
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    signed_at: Mapped[datetime | None]
    signed_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    shared_at: Mapped[datetime | None]  # shared with the client's resident account (on request)
    shared_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    share_ended_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    client: Mapped[Client] = relationship()
    signed_by: Mapped[User | None] = relationship(foreign_keys=[signed_by_id])

    @property
    def shared(self) -> bool:
        return self.shared_at is not None and self.share_ended_at is None
