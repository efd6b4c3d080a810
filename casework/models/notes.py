"""Contact notes: a dated contact with the client, written as a draft, then signed and frozen.

A signed note is never changed; a correction or later fact is an addendum (its own signed text,
linked to the note it follows). Clinical notes are for counsellors and supervisors only."""
from __future__ import annotations

import uuid
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carecycle.accounts.models import User
from carecycle.crypto import Encrypted, Sealed
from carecycle.database import UUIDPrimaryKey, utcnow
from carecycle.extensions import Model
from casework.enums import LABELS, Labelled
from casework.models.cases import Case


class NoteKind(Labelled):
    CLINICAL = "clinical"
    CASEWORK = "casework"


class ContactMode(Labelled):
    PHONE = "phone"
    HOME_VISIT = "home_visit"
    OFFICE = "office"
    ONLINE = "online"
    OTHER = "other"


LABELS.update({
    (NoteKind, NoteKind.CLINICAL.value): _l("Clinical note"), (NoteKind, NoteKind.CASEWORK.value): _l("Casework note"),
    (ContactMode, ContactMode.PHONE.value): _l("Phone"), (ContactMode, ContactMode.HOME_VISIT.value): _l("Home visit"),
    (ContactMode, ContactMode.OFFICE.value): _l("Office"), (ContactMode, ContactMode.ONLINE.value): _l("Online"),
    (ContactMode, ContactMode.OTHER.value): _l("Other contact"),
})


class ContactNote(UUIDPrimaryKey, Model):
    __tablename__ = "contact_note"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_file.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    mode: Mapped[str | None] = mapped_column(String(20))           # None on an addendum
    at: Mapped[datetime] = mapped_column(index=True)                # when the contact took place
    duration_minutes: Mapped[int | None] = mapped_column(Integer)  # None on an addendum
    _body: Mapped[str] = mapped_column("body", Sealed)
    body = Encrypted("_body", bind=("kind", "case_id"))  # a clinical note cannot be turned into casework
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    signed_at: Mapped[datetime | None]
    signed_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    addendum_to_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("contact_note.id"), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    case: Mapped[Case] = relationship()
    author: Mapped[User] = relationship(foreign_keys=[author_id])
    signed_by: Mapped[User | None] = relationship(foreign_keys=[signed_by_id])
    addendum_to: Mapped[ContactNote | None] = relationship(remote_side="ContactNote.id",
                                                             back_populates="addenda")
    addenda: Mapped[list[ContactNote]] = relationship(back_populates="addendum_to",
                                                        order_by="ContactNote.signed_at")

    @property
    def signed(self) -> bool:
        return self.signed_at is not None

    @property
    def is_addendum(self) -> bool:
        return self.addendum_to_id is not None
