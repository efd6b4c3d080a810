"""Clients and their consents. Every identifying field is encrypted; phone, ID number and
normalised full name have blind indexes for exact search."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carecycle.crypto import BlindIndex, Encrypted, Sealed, normalise_phone
from carecycle.database import UUIDPrimaryKey, utcnow
from carecycle.extensions import db


def normalise_id_number(value: str) -> str:
    return "".join(ch for ch in value.upper() if ch.isalnum())


class Client(UUIDPrimaryKey, db.Model):
    __tablename__ = "client"

    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("team.id"), index=True)  # the registering team
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    preferred_language: Mapped[str | None] = mapped_column(String(10))
    resident_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)

    _full_name: Mapped[str] = mapped_column("full_name", Sealed)
    full_name = Encrypted("_full_name", blind_index="name_index")
    name_index: Mapped[str | None] = mapped_column(BlindIndex, index=True)
    _preferred_name: Mapped[str | None] = mapped_column("preferred_name", Sealed)
    preferred_name = Encrypted("_preferred_name")
    _date_of_birth: Mapped[str | None] = mapped_column("date_of_birth", Sealed)
    date_of_birth = Encrypted("_date_of_birth")  # ISO date
    _sex: Mapped[str | None] = mapped_column("sex", Sealed)
    sex = Encrypted("_sex")
    _gender: Mapped[str | None] = mapped_column("gender", Sealed)
    gender = Encrypted("_gender")
    _phone: Mapped[str | None] = mapped_column("phone", Sealed)
    phone = Encrypted("_phone", blind_index="phone_index", normalise=normalise_phone)
    phone_index: Mapped[str | None] = mapped_column(BlindIndex, index=True)
    _address: Mapped[str | None] = mapped_column("address", Sealed)
    address = Encrypted("_address")
    _id_number: Mapped[str | None] = mapped_column("id_number", Sealed)
    id_number = Encrypted("_id_number", blind_index="id_number_index", normalise=normalise_id_number)
    id_number_index: Mapped[str | None] = mapped_column(BlindIndex, index=True)
    _household: Mapped[str | None] = mapped_column("household", Sealed)
    household = Encrypted("_household")
    _emergency_contact: Mapped[str | None] = mapped_column("emergency_contact", Sealed)
    emergency_contact = Encrypted("_emergency_contact")

    __mapper_args__ = {"version_id_col": version}

    consents: Mapped[list["Consent"]] = relationship(back_populates="client", order_by="Consent.recorded_at")

    @property
    def display_name(self) -> str:
        return self.preferred_name or self.full_name


class Consent(UUIDPrimaryKey, db.Model):
    __tablename__ = "client_consent"

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("client.id"), index=True)
    scope: Mapped[str] = mapped_column(String(30))
    recorded_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    withdrawn_at: Mapped[datetime | None]

    client: Mapped[Client] = relationship(back_populates="consents")

    @property
    def current(self) -> bool:
        return self.withdrawn_at is None
