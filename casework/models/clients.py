"""Clients and their consents. Every identifying field is encrypted; phone, ID number and
normalised full name have blind indexes for exact search."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carecycle.crypto import BlindIndex, Encrypted, Sealed, normalise_phone
from carecycle.database import UUIDPrimaryKey, utcnow
from carecycle.extensions import Model


def normalise_id_number(value: str) -> str:
    return "".join(ch for ch in value.upper() if ch.isalnum())


def _is_cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" or "\U00020000" <= ch <= "\U0002fa1f"


def split_family_name(full_name: str | None) -> tuple[str, str]:
    """(given names, family name) of a full name, as well as it can be told: a name written in
    Chinese characters without spaces starts with a one-character family name; a spaced name has its
    family name in capitals when one word is ("CHAN Tai Man"), otherwise last ("Mei Chan")."""
    words = (full_name or "").split()
    if not words:
        return "", ""
    if len(words) == 1:
        word = words[0]
        return (word[1:], word[0]) if len(word) > 1 and _is_cjk(word[0]) else (word, "")
    capitals = [i for i, w in enumerate(words) if w.isupper() and len(w) > 1]
    at = capitals[0] if len(capitals) == 1 else len(words) - 1
    return " ".join(words[:at] + words[at + 1:]), words[at]


def list_label(full_name: str | None, preferred_name: str | None, reference: str) -> str:
    """"Mei C. · C-7F3A": the preferred name with the family-name initial (unless the preferred name
    already holds the family name); a person without a preferred name is shown by the full name."""
    name = full_name or ""
    if preferred_name:
        name = preferred_name
        family = split_family_name(full_name)[1]
        if family and family.casefold() not in name.casefold():
            name = f"{name} {family_initial(family)}"
    return f"{name} · {reference}"


def family_initial(family: str) -> str:
    """"C." for Chan; a family name in Chinese characters is one character and is shown whole."""
    if not family:
        return ""
    return family[0] if _is_cjk(family[0]) else family[0].upper() + "."


class Client(UUIDPrimaryKey, Model):
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

    consents: Mapped[list[Consent]] = relationship(back_populates="client", order_by="Consent.recorded_at")

    @property
    def display_name(self) -> str:
        return self.preferred_name or self.full_name

    @property
    def reference(self) -> str:
        """A short client reference, derived stably from the record's id: "C-7F3A"."""
        return f"C-{self.id.hex[:4].upper()}" if self.id else ""

    @property
    def list_label(self) -> str:
        """How working lists name the person, so two people called Mei cannot be confused: the
        preferred name, the family-name initial and the short reference ("Mei C. · C-7F3A")."""
        return list_label(self.full_name, self.preferred_name, self.reference)


class Consent(UUIDPrimaryKey, Model):
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
