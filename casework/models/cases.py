"""Crisis-intervention and recovery cases, and their timeline."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, event, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carecycle.accounts.models import Team, User
from carecycle.crypto import Encrypted, Sealed
from carecycle.database import UUIDPrimaryKey, utcnow
from carecycle.extensions import Model
from casework.enums import Phase, Priority, RiskLevel
from casework.models.clients import Client


class Case(UUIDPrimaryKey, Model):
    __tablename__ = "case_file"

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("client.id"), index=True)
    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("team.id"), index=True)
    phase: Mapped[str] = mapped_column(String(20), default=Phase.INTAKE.value, index=True)
    risk_level: Mapped[str] = mapped_column(String(20), default=RiskLevel.NONE.value, index=True)
    priority: Mapped[str] = mapped_column(String(20), default=Priority.NORMAL.value)
    source: Mapped[str] = mapped_column(String(30))
    assigned_counsellor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    assigned_social_worker_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    alert_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("alert.id"))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    closure_reason: Mapped[str | None] = mapped_column(String(30))
    _closure_summary: Mapped[str | None] = mapped_column("closure_summary", Sealed)
    closure_summary = Encrypted("_closure_summary", bind=("team_id",))  # moved to another team, it fails
    _outcome_snapshot: Mapped[str | None] = mapped_column("outcome_snapshot", Sealed)
    outcome_snapshot = Encrypted("_outcome_snapshot", kind="json", bind=("team_id",))  # outcomes, goals at closure
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    client: Mapped[Client] = relationship()
    team: Mapped[Team] = relationship()
    counsellor: Mapped[User | None] = relationship(foreign_keys=[assigned_counsellor_id])
    social_worker: Mapped[User | None] = relationship(foreign_keys=[assigned_social_worker_id])
    events: Mapped[list[CaseEvent]] = relationship(back_populates="case", order_by="CaseEvent.at.desc()")
    risk_history: Mapped[list[CaseRiskChange]] = relationship(
        back_populates="case", order_by="CaseRiskChange.at", cascade="all, delete-orphan")

    @property
    def risk(self) -> RiskLevel:
        return RiskLevel(self.risk_level)

    @property
    def is_closed(self) -> bool:
        return self.phase == Phase.CLOSED

    @property
    def in_recovery(self) -> bool:
        return self.phase == Phase.RECOVERY

    def assigned_to(self, user) -> bool:
        return user.id in (self.assigned_counsellor_id, self.assigned_social_worker_id)


class CaseEvent(UUIDPrimaryKey, Model):
    """One line of a case's timeline: a code and, when needed, an encrypted detail."""

    __tablename__ = "case_event"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_file.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    kind: Mapped[str] = mapped_column(String(40))
    case_version: Mapped[int | None] = mapped_column(Integer)  # the case's version after this event
    _detail: Mapped[str | None] = mapped_column("detail", Sealed)
    detail = Encrypted("_detail")

    case: Mapped[Case] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


class Task(UUIDPrimaryKey, Model):
    """A dated thing to do on a case: first contact, next contact, review, re-screen, follow-up."""

    __tablename__ = "case_task"
    __table_args__ = (
        # one open next-contact reminder per case (the README promises one): the database decides a race
        Index("uq_case_task_one_open_next_contact", "case_id", unique=True,
              sqlite_where=text("kind = 'next_contact' AND done_at IS NULL"),
              postgresql_where=text("kind = 'next_contact' AND done_at IS NULL")),
    )

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_file.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    due_at: Mapped[datetime] = mapped_column(index=True)
    assigned_to_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]
    done_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    _note: Mapped[str | None] = mapped_column("note", Sealed)
    note = Encrypted("_note")

    case: Mapped[Case] = relationship()

    @property
    def overdue(self) -> bool:
        return self.done_at is None and self.due_at < utcnow()


# Caseload lists ("My cases", "My day", a supervisor's team) read cases by risk, highest first, then
# the longest open: one index range per worker (or team) and risk level, read in order, so that a
# page costs the same at 250 cases or 25,000 (casework.service.caseload).
for _name, _who in (("counsellor", Case.assigned_counsellor_id), ("social_worker", Case.assigned_social_worker_id),
                    ("team", Case.team_id)):
    Index(f"ix_case_file_caseload_{_name}", _who, Case.risk_level, Case.opened_at, Case.id, Case.phase)
# A worker's open tasks by due time ("My day"): only open tasks are indexed.
Index("ix_case_task_open_by_assignee", Task.assigned_to_id, Task.due_at, Task.id,
      sqlite_where=Task.done_at.is_(None), postgresql_where=Task.done_at.is_(None))


class CaseRiskChange(UUIDPrimaryKey, Model):
    """Each risk level a case has had, from when: written automatically whenever the level changes."""

    __tablename__ = "case_risk_change"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_file.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    risk_level: Mapped[str] = mapped_column(String(20))

    case: Mapped[Case] = relationship(back_populates="risk_history")


@event.listens_for(Case.risk_level, "set")
def _record_risk_change(case, value, old, _initiator):
    if value != old and value is not None:
        case.risk_history.append(CaseRiskChange(risk_level=value, at=utcnow()))


class ClosureRequest(UUIDPrimaryKey, Model):
    """Closing a case whose risk was moderate or higher in the last 30 days waits for a supervisor."""

    __tablename__ = "closure_request"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_file.id"), index=True)
    requested_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    reason: Mapped[str] = mapped_column(String(30))
    _summary: Mapped[str] = mapped_column("summary", Sealed)
    summary = Encrypted("_summary")
    _outcome_snapshot: Mapped[str | None] = mapped_column("outcome_snapshot", Sealed)
    outcome_snapshot = Encrypted("_outcome_snapshot", kind="json")  # taken when the closure was asked for
    decision: Mapped[str | None] = mapped_column(String(20))  # approved | rejected
    decided_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None]
    _comment: Mapped[str | None] = mapped_column("comment", Sealed)
    comment = Encrypted("_comment")

    case: Mapped[Case] = relationship()
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
