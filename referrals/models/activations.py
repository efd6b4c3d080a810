"""Activations of partner agreements in emergency operation: who called whom and when, what was
promised and what arrived. Each belongs to the emergency period it was made in (the mode switch
that opened it), so switching back to normal keeps it for the after-action review. Whom a person
called and the notes may name people: encrypted."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carecycle.crypto import Encrypted, Sealed
from carecycle.database import UUIDPrimaryKey, utcnow
from carecycle.extensions import Model
from referrals.models.agreements import PartnerAgreement


class Activation(UUIDPrimaryKey, Model):
    __tablename__ = "agreement_activation"

    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("team.id"), index=True)
    period_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("mode_change.id"), index=True)  # the emergency switch
    agreement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partner_agreement.id"), index=True)
    commitment: Mapped[int] = mapped_column(Integer)          # the index of the agreement's commitment
    what: Mapped[str] = mapped_column(String(300))            # the commitment as it read when called
    unit: Mapped[str] = mapped_column(String(60))
    promised: Mapped[int] = mapped_column(Integer)            # how many were promised on the call
    status: Mapped[str] = mapped_column(String(20), index=True)  # ActivationStatus
    arrived: Mapped[int | None] = mapped_column(Integer)     # how many arrived (with the outcome)
    called_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    called_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    outcome_at: Mapped[datetime | None] = mapped_column()
    outcome_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    _contact: Mapped[str | None] = mapped_column("contact", Sealed)
    contact = Encrypted("_contact")   # whom they called: "Mr Chan, duty manager, 5550 2001"
    _note: Mapped[str | None] = mapped_column("note", Sealed)
    note = Encrypted("_note")         # "arrives 18:00 at the sports centre"; "only one van had a driver"

    __mapper_args__ = {"version_id_col": version}

    agreement: Mapped[PartnerAgreement] = relationship()
