"""Volunteer emergency teams: trained and certified residents, ready in normal times, mobilised
in a crisis. Members are people: their name and contact details are encrypted."""
from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carecycle.accounts.models import Team
from carecycle.crypto import Encrypted, Sealed
from carecycle.database import UUIDPrimaryKey, utcnow
from carecycle.extensions import Model
from carecycle.localtime import today as local_today


class VolunteerTeam(UUIDPrimaryKey, Model):
    __tablename__ = "volunteer_team"

    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(30))
    description: Mapped[str | None] = mapped_column(Text)
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("team.id"), index=True)  # the staff team it works with
    meeting_point: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    archived_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    staff_team: Mapped[Team | None] = relationship()
    members: Mapped[list[Volunteer]] = relationship(back_populates="volunteer_team",
                                                      order_by="Volunteer.joined_on")


class Training(UUIDPrimaryKey, Model):
    """A course volunteers take; a certificate from it is valid for `validity_months`."""

    __tablename__ = "volunteer_training"

    name: Mapped[str] = mapped_column(String(160))
    description: Mapped[str | None] = mapped_column(Text)
    validity_months: Mapped[int] = mapped_column(Integer, default=24)
    required_for: Mapped[str] = mapped_column(String(200), default="")  # comma list of team kinds
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def required_kinds(self) -> list[str]:
        return [k for k in self.required_for.split(",") if k]


class Volunteer(UUIDPrimaryKey, Model):
    __tablename__ = "volunteer"

    volunteer_team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("volunteer_team.id"), index=True)
    role: Mapped[str] = mapped_column(String(20), default="member")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    joined_on: Mapped[date] = mapped_column(Date, default=date.today)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    _full_name: Mapped[str] = mapped_column("full_name", Sealed)
    full_name = Encrypted("_full_name")
    _phone: Mapped[str | None] = mapped_column("phone", Sealed)
    phone = Encrypted("_phone")
    _email: Mapped[str | None] = mapped_column("email", Sealed)
    email = Encrypted("_email")
    _skills: Mapped[str | None] = mapped_column("skills", Sealed)
    skills = Encrypted("_skills")  # e.g. "retired nurse; speaks Urdu"

    __mapper_args__ = {"version_id_col": version}

    volunteer_team: Mapped[VolunteerTeam] = relationship(back_populates="members")
    certificates: Mapped[list[Certificate]] = relationship(back_populates="volunteer",
                                                             order_by="Certificate.expires_on")


class Certificate(UUIDPrimaryKey, Model):
    __tablename__ = "volunteer_certificate"

    volunteer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("volunteer.id"), index=True)
    training_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("volunteer_training.id"), index=True)
    issued_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date, index=True)
    reference: Mapped[str | None] = mapped_column(String(80))     # the certificate number
    recorded_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    volunteer: Mapped[Volunteer] = relationship(back_populates="certificates")
    training: Mapped[Training] = relationship()

    def current(self, today: date | None = None) -> bool:
        today = today or local_today()
        return self.issued_on <= today <= self.expires_on


class Mobilisation(UUIDPrimaryKey, Model):
    """A volunteer team lent, in emergency operation, to another staff team: that team's supervisors
    then see the volunteers' contact details. It counts only in the emergency it was made in."""

    __tablename__ = "volunteer_mobilisation"

    volunteer_team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("volunteer_team.id"), index=True)
    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("team.id"), index=True)  # the staff team mobilised for
    mobilised_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    mobilised_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    ended_at: Mapped[datetime | None]

    volunteer_team: Mapped[VolunteerTeam] = relationship()
    team: Mapped[Team] = relationship()
