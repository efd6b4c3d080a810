"""Outbound referrals from a case to a partner service, their status history and partner links;
inbound referrals from the public form."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carecycle.accounts.models import Team, User
from carecycle.crypto import Encrypted, Sealed
from carecycle.database import UUIDPrimaryKey, utcnow
from carecycle.extensions import Model
from casework.models import CarePlanGoal, Case, Client
from referrals.enums import ReferralStatus
from referrals.models.directory import Organisation, Service

WAITING_FOR_ANSWER = (ReferralStatus.SENT.value,)


class Referral(UUIDPrimaryKey, Model):
    __tablename__ = "referral"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_file.id"), index=True)
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("client.id"), index=True)
    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("team.id"), index=True)   # the case's team
    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partner_service.id"), index=True)
    tier: Mapped[int] = mapped_column(Integer)              # the organisation's tier when the referral was made
    urgency: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=ReferralStatus.DRAFT.value, index=True)
    share: Mapped[list] = mapped_column(JSON, default=list)  # field codes chosen to share (codes, not values)
    goal_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("care_plan_goal.id"), index=True)  # what it serves
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    sent_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    respond_by: Mapped[datetime | None] = mapped_column(index=True)
    answered_at: Mapped[datetime | None]                     # the partner's first answer after sending
    finished_at: Mapped[datetime | None]
    close_reason: Mapped[str | None] = mapped_column(String(20))
    consent_override: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    override_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    override_at: Mapped[datetime | None]
    override_reviewed_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    override_reviewed_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)

    _reason: Mapped[str] = mapped_column("reason", Sealed)
    reason = Encrypted("_reason")                  # why the client is referred: shared with the partner
    _shared: Mapped[str | None] = mapped_column("shared", Sealed)
    shared = Encrypted("_shared", kind="json")     # the shared values, frozen when sent
    _outcome: Mapped[str | None] = mapped_column("outcome", Sealed)
    outcome = Encrypted("_outcome")                # decline reason, completion outcome or closing note
    _override_reason: Mapped[str | None] = mapped_column("override_reason", Sealed)
    override_reason = Encrypted("_override_reason")

    __mapper_args__ = {"version_id_col": version}

    case: Mapped[Case] = relationship()
    client: Mapped[Client] = relationship()
    team: Mapped[Team] = relationship()
    service: Mapped[Service] = relationship()
    goal: Mapped[CarePlanGoal | None] = relationship()
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    override_by: Mapped[User | None] = relationship(foreign_keys=[override_by_id])
    events: Mapped[list[ReferralEvent]] = relationship(back_populates="referral", order_by="ReferralEvent.at")

    @property
    def status_enum(self) -> ReferralStatus:
        return ReferralStatus(self.status)

    @property
    def overdue(self) -> bool:
        """Sent and not answered (acknowledged, accepted or declined) by the response deadline."""
        return self.status in WAITING_FOR_ANSWER and self.respond_by is not None and utcnow() > self.respond_by


class ReferralEvent(UUIDPrimaryKey, Model):
    """One status change, by a worker or through the partner link."""

    __tablename__ = "referral_event"

    referral_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("referral.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    via_partner_link: Mapped[bool] = mapped_column(Boolean, default=False)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    _note: Mapped[str | None] = mapped_column("note", Sealed)
    note = Encrypted("_note")

    referral: Mapped[Referral] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


class PartnerLink(UUIDPrimaryKey, Model):
    """An unguessable link for the partner, without an account. Only the token's SHA-256 is stored."""

    __tablename__ = "referral_partner_link"

    referral_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("referral.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    last_used_at: Mapped[datetime | None]

    referral: Mapped[Referral] = relationship()

    @property
    def usable(self) -> bool:
        return self.revoked_at is None and utcnow() < self.expires_at


class PartnerToken(UUIDPrimaryKey, Model):
    """A partner organisation's bearer token for FHIR (`carecycle tokens create --partner ORG_ID`): it
    reads and answers the referrals addressed to the organisation. Only the token's SHA-256 is stored."""

    __tablename__ = "referral_partner_token"

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partner_organisation.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    organisation: Mapped[Organisation] = relationship()

    def state(self, now: datetime) -> str:
        """`revoked`, `expired` or `active`."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= now else "active"


class InboundReferral(UUIDPrimaryKey, Model):
    """A referral sent to us through the public form: everything about the person is encrypted."""

    __tablename__ = "inbound_referral"

    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    relation: Mapped[str] = mapped_column(String(30))
    danger_now: Mapped[bool] = mapped_column(Boolean, default=False)
    person_knows: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str | None] = mapped_column(String(10))
    alert_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("alert.id"))
    _referrer_name: Mapped[str | None] = mapped_column("referrer_name", Sealed)
    referrer_name = Encrypted("_referrer_name")
    _referrer_organisation: Mapped[str | None] = mapped_column("referrer_organisation", Sealed)
    referrer_organisation = Encrypted("_referrer_organisation")
    _referrer_contact: Mapped[str | None] = mapped_column("referrer_contact", Sealed)
    referrer_contact = Encrypted("_referrer_contact")
    _person_name: Mapped[str] = mapped_column("person_name", Sealed)
    person_name = Encrypted("_person_name")
    _person_phone: Mapped[str | None] = mapped_column("person_phone", Sealed)
    person_phone = Encrypted("_person_phone")
    _person_area: Mapped[str | None] = mapped_column("person_area", Sealed)
    person_area = Encrypted("_person_area")
    _concern: Mapped[str] = mapped_column("concern", Sealed)
    concern = Encrypted("_concern")
