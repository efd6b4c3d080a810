"""Partner agreements (memoranda of cooperation): what a partner organisation and the service each
commit in an emergency, for how long, and whom to call to activate them. The contact people are
personal data: stored encrypted; the rest is the service's own reference data."""
from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carecycle.crypto import Encrypted, Sealed
from carecycle.database import UUIDPrimaryKey, utcnow
from carecycle.extensions import Model
from referrals.models.directory import Organisation


class PartnerAgreement(UUIDPrimaryKey, Model):
    __tablename__ = "partner_agreement"

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partner_organisation.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    # [{"side": "partner" | "service", "quantity": 10, "unit": "beds", "what": "shelter"}]
    commitments: Mapped[list] = mapped_column(JSON, default=list)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date, index=True)
    review_on: Mapped[date | None] = mapped_column(Date)
    document_reference: Mapped[str | None] = mapped_column(String(300))   # a file number or a URL
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    _contacts: Mapped[str | None] = mapped_column("contacts", Sealed)
    contacts = Encrypted("_contacts", kind="json")  # [{"name", "phone", "role"}]: whom to call to activate it

    __mapper_args__ = {"version_id_col": version}

    organisation: Mapped[Organisation] = relationship()
