"""Supervision tables: decisions taken in the approvals queue, after-action reviews of emergency
periods, preparedness drills with their "must change" actions, and audit-chain verifications.

Free text that could describe a person or an incident (comments, review answers, drill notes)
is encrypted; codes, dates and counts stay plain so that lists can be filtered and ordered."""
from __future__ import annotations

import uuid
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carecycle.accounts.models import Team, User
from carecycle.crypto import Encrypted, Sealed
from carecycle.database import UUIDPrimaryKey, utcnow
from carecycle.extensions import Model
from carecycle.localtime import today as local_today


class Decision(UUIDPrimaryKey, Model):
    """One decision taken from the approvals queue, with the supervisor's comment."""

    __tablename__ = "supervision_decision"

    item_kind: Mapped[str] = mapped_column(String(30))
    item_id: Mapped[str] = mapped_column(String(64), index=True)
    decision: Mapped[str] = mapped_column(String(20))
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("team.id"), index=True)
    decided_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    _comment: Mapped[str | None] = mapped_column("comment", Sealed)
    comment = Encrypted("_comment")

    decided_by: Mapped[User] = relationship()


class AfterActionReview(UUIDPrimaryKey, Model):
    """Written when the service goes back to normal: what happened, what worked, what to change,
    with the emergency period's figures (raw counts; the small-count rule applies when shown)."""

    __tablename__ = "after_action_review"

    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime] = mapped_column(index=True)
    emergency_change_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("mode_change.id"))
    normal_change_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("mode_change.id"))
    written_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    figures: Mapped[dict] = mapped_column(JSON, default=dict)
    _what_happened: Mapped[str] = mapped_column("what_happened", Sealed)
    what_happened = Encrypted("_what_happened")
    _what_worked: Mapped[str] = mapped_column("what_worked", Sealed)
    what_worked = Encrypted("_what_worked")
    _what_to_change: Mapped[str] = mapped_column("what_to_change", Sealed)
    what_to_change = Encrypted("_what_to_change")

    written_by: Mapped[User | None] = relationship()


PARTICIPANT_KINDS = {
    "school": _l("School"),
    "business": _l("Business"),
    "partner_organisation": _l("Partner organisation"),
    "volunteer_team": _l("Volunteer team"),
    "other": _l("Other participant"),
}


class Drill(UUIDPrimaryKey, Model):
    """A preparedness drill run in normal times."""

    __tablename__ = "drill"

    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("team.id"), index=True)   # the staff team that ran it
    held_on: Mapped[date] = mapped_column(Date, index=True)
    scenario: Mapped[str] = mapped_column(String(300))
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    _went_well: Mapped[str | None] = mapped_column("went_well", Sealed)
    went_well = Encrypted("_went_well")
    _notes: Mapped[str | None] = mapped_column("notes", Sealed)
    notes = Encrypted("_notes")

    team: Mapped[Team] = relationship()
    created_by: Mapped[User | None] = relationship()
    participants: Mapped[list[DrillParticipant]] = relationship(
        back_populates="drill", cascade="all, delete-orphan", order_by="DrillParticipant.kind")
    actions: Mapped[list[DrillAction]] = relationship(
        back_populates="drill", cascade="all, delete-orphan", order_by="DrillAction.due_on")


class DrillParticipant(UUIDPrimaryKey, Model):
    """Who took part: a school, business, partner organisation, volunteer team or other."""

    __tablename__ = "drill_participant"

    drill_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("drill.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(200))
    volunteer_team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("volunteer_team.id"), index=True)
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("partner_organisation.id"))

    drill: Mapped[Drill] = relationship(back_populates="participants")

    @property
    def kind_label(self):
        return PARTICIPANT_KINDS.get(self.kind, self.kind)


class DrillAction(UUIDPrimaryKey, Model):
    """A "must change" from a drill: a task with an owner and a due date."""

    __tablename__ = "drill_action"

    drill_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("drill.id"), index=True)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"), index=True)
    due_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]
    done_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    _description: Mapped[str] = mapped_column("description", Sealed)
    description = Encrypted("_description")

    drill: Mapped[Drill] = relationship(back_populates="actions")
    owner: Mapped[User] = relationship(foreign_keys=[owner_id])

    @property
    def done(self) -> bool:
        return self.done_at is not None

    @property
    def overdue(self) -> bool:
        return self.done_at is None and self.due_on < local_today()


class AuditVerification(UUIDPrimaryKey, Model):
    """One run of the audit-chain check from the audit viewer."""

    __tablename__ = "audit_verification"

    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    ok: Mapped[bool] = mapped_column(Boolean)
    event_count: Mapped[int] = mapped_column(Integer)
    first_bad: Mapped[int | None] = mapped_column(Integer)
    problem: Mapped[str | None] = mapped_column(String(300))
    # where a good check ended (event and its hash): the next visit checks only the events after it
    last_seq: Mapped[int | None] = mapped_column(Integer)
    last_hash: Mapped[str | None] = mapped_column(String(64))
    incremental: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())


# ------------------------------------------------------------------ community recovery
REVIEW_MONTHS = (1, 3, 6)


class RecoveryPlan(UUIDPrimaryKey, Model):
    """A team's plan for the recovery of an affected community after an incident: an emergency
    period (the mode switch that opened it) or an incident a supervisor records, with the days it
    lasted. Its needs assessment is counted from the team's records of those days."""

    __tablename__ = "recovery_plan"

    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("team.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    area: Mapped[str] = mapped_column(String(300))             # the affected community, a place
    period_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("mode_change.id"))  # an emergency period
    _incident: Mapped[str] = mapped_column("incident", Sealed)  # what happened, in words: may name people
    incident = Encrypted("_incident")
    started_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date] = mapped_column(Date)
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    team: Mapped[Team] = relationship()
    actions: Mapped[list[RecoveryAction]] = relationship(back_populates="plan", order_by="RecoveryAction.due_on")
    groups: Mapped[list[RecoveryGroup]] = relationship(back_populates="plan")
    reviews: Mapped[list[RecoveryReview]] = relationship(back_populates="plan", order_by="RecoveryReview.months")


class RecoveryAction(UUIDPrimaryKey, Model):
    """A step of the plan (a bereavement group, a neighbourhood meeting, outreach to every red- and
    orange-tier person in the area) with an owner and a due date."""

    __tablename__ = "recovery_action"

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("recovery_plan.id"), index=True)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"), index=True)
    due_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]
    done_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    _description: Mapped[str] = mapped_column("description", Sealed)
    description = Encrypted("_description")

    plan: Mapped[RecoveryPlan] = relationship(back_populates="actions")
    owner: Mapped[User] = relationship(foreign_keys=[owner_id])

    @property
    def done(self) -> bool:
        return self.done_at is not None

    @property
    def overdue(self) -> bool:
        return not self.done and self.due_on < local_today()


class RecoveryGroup(UUIDPrimaryKey, Model):
    """A community group (casework) whose sessions are the plan's community psychological care."""

    __tablename__ = "recovery_group"
    __table_args__ = (UniqueConstraint("plan_id", "group_id", name="uq_recovery_group"),)

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("recovery_plan.id"), index=True)
    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("community_group.id"), index=True)

    plan: Mapped[RecoveryPlan] = relationship(back_populates="groups")


class RecoveryReview(UUIDPrimaryKey, Model):
    """How the community is doing 1, 3 or 6 months after the incident: the supervisor's words and
    the figures counted when it was written (kept as they were)."""

    __tablename__ = "recovery_review"
    __table_args__ = (UniqueConstraint("plan_id", "months", name="uq_recovery_review_months"),)

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("recovery_plan.id"), index=True)
    months: Mapped[int] = mapped_column(Integer)
    written_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))
    written_at: Mapped[datetime] = mapped_column(default=utcnow)
    figures: Mapped[dict] = mapped_column(JSON, default=dict)   # counts, already through the small-count rule
    _summary: Mapped[str] = mapped_column("summary", Sealed)
    summary = Encrypted("_summary")

    plan: Mapped[RecoveryPlan] = relationship(back_populates="reviews")
