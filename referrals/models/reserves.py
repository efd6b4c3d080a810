"""Reserves kept ready in normal times, at three levels: the service's own (held by a team), the
community's (held by a partner organisation, usually under an agreement) and a registered household's
(what the person holds at home, recorded at outreach). An item's stock changes only through
movements, which are appended and never changed: the quantity on an item is the sum of its movements.
Where a reserve is kept and the notes of its movements may say something about a person: encrypted."""
from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carecycle.crypto import Encrypted, Sealed
from carecycle.database import UUIDPrimaryKey, utcnow
from carecycle.extensions import Model
from casework.models import RegisterEntry
from referrals.models.agreements import PartnerAgreement
from referrals.models.directory import Organisation


class ReserveItem(UUIDPrimaryKey, Model):
    __tablename__ = "reserve_item"

    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("team.id"), index=True)  # whose record it is
    level: Mapped[str] = mapped_column(String(20), index=True)   # ReserveLevel
    kind: Mapped[str] = mapped_column(String(20))                # ReserveKind
    name: Mapped[str] = mapped_column(String(200))               # "insulin pens", "bottled water 1.5 l"
    unit: Mapped[str] = mapped_column(String(60))                # "pens", "bottles", "beds"
    quantity: Mapped[int] = mapped_column(Integer, default=0)    # on hand: the sum of the movements
    low_at: Mapped[int | None] = mapped_column(Integer)          # marked low at or below this
    expires_on: Mapped[date | None] = mapped_column(Date, index=True)
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("partner_organisation.id"), index=True)
    agreement_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("partner_agreement.id"), index=True)
    register_entry_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("register_entry.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    _location: Mapped[str | None] = mapped_column("location", Sealed)
    location = Encrypted("_location")  # where it is kept: "store room B", "fridge at home"

    __mapper_args__ = {"version_id_col": version}

    organisation: Mapped[Organisation | None] = relationship()
    agreement: Mapped[PartnerAgreement | None] = relationship()
    register_entry: Mapped[RegisterEntry | None] = relationship()
    movements: Mapped[list[ReserveMovement]] = relationship(back_populates="item",
                                                            order_by="ReserveMovement.at.desc()")


class ReserveMovement(UUIDPrimaryKey, Model):
    __tablename__ = "reserve_movement"

    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reserve_item.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))      # MovementKind
    change: Mapped[int] = mapped_column(Integer)       # signed: +20 received, -3 drawn
    quantity_after: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    _note: Mapped[str | None] = mapped_column("note", Sealed)
    note = Encrypted("_note")  # "for the shelter at the sports centre", "three boxes past their date"

    item: Mapped[ReserveItem] = relationship(back_populates="movements")
