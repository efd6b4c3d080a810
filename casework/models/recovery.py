"""Recovery casework: care plans (goals, reviews, kept versions), screenings recorded on a case and
the re-screening schedule, community groups with sessions and attendance, and the follow-ups after
closure.

Everything that describes the person (goal text, review summaries, follow-up notes) is encrypted.
Group membership and attendance hold the client's id sealed, with a blind index for lookup, so the
link between a person and a group is never readable from the database alone."""
from __future__ import annotations

import uuid
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carecycle.accounts.models import Team, User
from carecycle.crypto import BlindIndex, Encrypted, Sealed
from carecycle.database import UUIDPrimaryKey, utcnow
from carecycle.extensions import Model
from casework.enums import LABELS, Labelled
from casework.models.cases import Case, Task
from screening.models import ScreeningResult


class GoalDomain(Labelled):
    HOUSING = "housing"
    INCOME_WORK = "income_work"
    FAMILY = "family"
    PHYSICAL_HEALTH = "physical_health"
    MENTAL_HEALTH = "mental_health"
    DAILY_LIVING = "daily_living"
    SOCIAL = "social"
    LEGAL = "legal"


class GoalStatus(Labelled):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    ACHIEVED = "achieved"
    DROPPED = "dropped"


class GoalOwner(Labelled):
    WORKER = "worker"
    CLIENT = "client"
    PARTNER = "partner"


class GroupKind(Labelled):
    BEREAVEMENT = "bereavement"
    CARERS = "carers"
    PEER_SUPPORT = "peer_support"
    RETURN_TO_WORK = "return_to_work"
    OTHER = "other"


class Attendance(Labelled):
    ATTENDED = "attended"
    ABSENT = "absent"
    EXCUSED = "excused"


class FollowUpStatus(Labelled):
    """How the person is doing compared with when the case closed (or: not reached this time)."""
    BETTER = "better"
    SAME = "same"
    WORSE = "worse"
    NOT_REACHED = "not_reached"


LABELS.update({
    (GoalDomain, GoalDomain.HOUSING.value): _l("Housing"),
    (GoalDomain, GoalDomain.INCOME_WORK.value): _l("Income and work"),
    (GoalDomain, GoalDomain.FAMILY.value): _l("Family and relationships"),
    (GoalDomain, GoalDomain.PHYSICAL_HEALTH.value): _l("Physical health"),
    (GoalDomain, GoalDomain.MENTAL_HEALTH.value): _l("Mental health"),
    (GoalDomain, GoalDomain.DAILY_LIVING.value): _l("Daily living"),
    (GoalDomain, GoalDomain.SOCIAL.value): _l("Social and community participation"),
    (GoalDomain, GoalDomain.LEGAL.value): _l("Legal and documents"),
    (GoalStatus, GoalStatus.NOT_STARTED.value): _l("Not started"),
    (GoalStatus, GoalStatus.IN_PROGRESS.value): _l("In progress"),
    (GoalStatus, GoalStatus.ACHIEVED.value): _l("Achieved"),
    (GoalStatus, GoalStatus.DROPPED.value): _l("Dropped"),
    (GoalOwner, GoalOwner.WORKER.value): _l("Worker"),
    (GoalOwner, GoalOwner.CLIENT.value): _l("Client"),
    (GoalOwner, GoalOwner.PARTNER.value): _l("Partner organisation"),
    (GroupKind, GroupKind.BEREAVEMENT.value): _l("Bereavement support"),
    (GroupKind, GroupKind.CARERS.value): _l("Carers"),
    (GroupKind, GroupKind.PEER_SUPPORT.value): _l("Peer support"),
    (GroupKind, GroupKind.RETURN_TO_WORK.value): _l("Return to work"),
    (GroupKind, GroupKind.OTHER.value): _l("Other group"),
    (Attendance, Attendance.ATTENDED.value): _l("Attended"),
    (Attendance, Attendance.ABSENT.value): _l("Absent"),
    (Attendance, Attendance.EXCUSED.value): _l("Excused"),
    (FollowUpStatus, FollowUpStatus.BETTER.value): _l("Doing better than at closure"),
    (FollowUpStatus, FollowUpStatus.SAME.value): _l("About the same as at closure"),
    (FollowUpStatus, FollowUpStatus.WORSE.value): _l("Worse than at closure"),
    (FollowUpStatus, FollowUpStatus.NOT_REACHED.value): _l("Could not reach the person"),
})


# ------------------------------------------------------------------ care plans
class CarePlan(UUIDPrimaryKey, Model):
    """A case's care plan. `version` moves with every saved change (a guarded UPDATE), and each
    version's content is kept in CarePlanVersion."""

    __tablename__ = "care_plan"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_file.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    # a few plain words for the client, shown on their summary
    _client_note: Mapped[str | None] = mapped_column("client_note", Sealed)
    client_note = Encrypted("_client_note")
    shared_at: Mapped[datetime | None]
    shared_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    share_ended_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)

    case: Mapped[Case] = relationship()
    updated_by: Mapped[User | None] = relationship(foreign_keys=[updated_by_id])
    goals: Mapped[list[CarePlanGoal]] = relationship(back_populates="plan", order_by="CarePlanGoal.position")

    @property
    def shared(self) -> bool:
        return self.shared_at is not None and self.share_ended_at is None


class CarePlanGoal(UUIDPrimaryKey, Model):
    """One goal. Never deleted: a goal that no longer fits is `dropped` with a reason. Its id is what
    the referrals package links a referral to."""

    __tablename__ = "care_plan_goal"

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("care_plan.id"), index=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_file.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    domain: Mapped[str] = mapped_column(String(30))
    _title: Mapped[str] = mapped_column("title", Sealed)
    title = Encrypted("_title")
    _success: Mapped[str | None] = mapped_column("success", Sealed)
    success = Encrypted("_success")  # what success looks like
    target_date: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(20), default=GoalStatus.NOT_STARTED.value)
    _drop_reason: Mapped[str | None] = mapped_column("drop_reason", Sealed)
    drop_reason = Encrypted("_drop_reason")
    owner: Mapped[str] = mapped_column(String(20), default=GoalOwner.WORKER.value)
    _owner_detail: Mapped[str | None] = mapped_column("owner_detail", Sealed)
    owner_detail = Encrypted("_owner_detail")  # e.g. the partner organisation
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    status_changed_at: Mapped[datetime | None]

    plan: Mapped[CarePlan] = relationship(back_populates="goals")

    @property
    def open(self) -> bool:
        return self.status in (GoalStatus.NOT_STARTED.value, GoalStatus.IN_PROGRESS.value)


class CarePlanVersion(UUIDPrimaryKey, Model):
    """The whole plan as it was after one saved change (goals and the client note)."""

    __tablename__ = "care_plan_version"
    __table_args__ = (UniqueConstraint("plan_id", "number", name="uq_care_plan_version_plan_number"),)

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("care_plan.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    saved_at: Mapped[datetime] = mapped_column(default=utcnow)
    saved_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    cause: Mapped[str] = mapped_column(String(20))  # created | edited | review
    _content: Mapped[str] = mapped_column("content", Sealed)
    content = Encrypted("_content", kind="json")

    saved_by: Mapped[User | None] = relationship()


class CarePlanReview(UUIDPrimaryKey, Model):
    """A progress review: when, what was said, which goals changed status, and the next review."""

    __tablename__ = "care_plan_review"

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("care_plan.id"), index=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_file.id"), index=True)
    reviewed_on: Mapped[date]
    _summary: Mapped[str] = mapped_column("summary", Sealed)
    summary = Encrypted("_summary")
    _changes: Mapped[str | None] = mapped_column("changes", Sealed)
    changes = Encrypted("_changes", kind="json")  # [{"goal_id", "from", "to", "reason"}]
    next_review_on: Mapped[date | None]
    task_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("case_task.id"))
    by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    plan_version: Mapped[int] = mapped_column(Integer)  # the plan's version after the review

    by: Mapped[User] = relationship()


# ------------------------------------------------------------------ outcomes
class CaseScreening(UUIDPrimaryKey, Model):
    """A screening result counted on a case: recorded by a worker with the client, or the client's
    own self-screening linked by a worker. The result itself stays in screening's table."""

    __tablename__ = "case_screening"
    __table_args__ = (UniqueConstraint("case_id", "result_id", name="uq_case_screening_case_result"),)

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_file.id"), index=True)
    result_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("screening_result.id"), index=True)
    source: Mapped[str] = mapped_column(String(20))  # worker | self
    recorded_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    alert_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("alert.id"))  # the triage alert it raised

    recorded_by: Mapped[User] = relationship()
    result: Mapped[ScreeningResult] = relationship()


class RescreenSchedule(UUIDPrimaryKey, Model):
    """Re-screen this case with an instrument every so many days; the due one is an open Task."""

    __tablename__ = "rescreen_schedule"
    __table_args__ = (UniqueConstraint("case_id", "instrument", name="uq_rescreen_schedule_case_instrument"),)

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_file.id"), index=True)
    instrument: Mapped[str] = mapped_column(String(20))
    every_days: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    task_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("case_task.id"))
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    task: Mapped[Task | None] = relationship()


# ------------------------------------------------------------------ community groups
class CommunityGroup(UUIDPrimaryKey, Model):
    """A group a team runs (bereavement support, carers, peer support, return to work)."""

    __tablename__ = "community_group"

    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("team.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(30))
    facilitator: Mapped[str] = mapped_column(String(120))
    schedule: Mapped[str] = mapped_column(String(200))   # e.g. "Tuesdays 18:00-19:30, fortnightly"
    location: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    archived_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    team: Mapped[Team] = relationship()
    sessions: Mapped[list[GroupSession]] = relationship(back_populates="group",
                                                          order_by="GroupSession.starts_at.desc()")

    @property
    def active(self) -> bool:
        return self.archived_at is None


class GroupSession(UUIDPrimaryKey, Model):
    __tablename__ = "group_session"

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("community_group.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(index=True)
    duration_minutes: Mapped[int] = mapped_column(Integer, default=90)
    topic: Mapped[str | None] = mapped_column(String(200))
    facilitator: Mapped[str | None] = mapped_column(String(120))  # when someone stands in
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[datetime | None]

    group: Mapped[CommunityGroup] = relationship(back_populates="sessions")


class GroupMember(UUIDPrimaryKey, Model):
    """A client in a group: the client id is sealed, with a blind index for "this client's groups"."""

    __tablename__ = "group_member"

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("community_group.id"), index=True)
    _client: Mapped[str] = mapped_column("client", Sealed)
    client_ref = Encrypted("_client", blind_index="client_index")
    client_index: Mapped[str] = mapped_column(BlindIndex, index=True)
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)
    joined_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    left_at: Mapped[datetime | None]
    left_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))

    group: Mapped[CommunityGroup] = relationship()


class GroupAttendance(UUIDPrimaryKey, Model):
    """Whether a client came to a session; the client id is sealed as on GroupMember."""

    __tablename__ = "group_attendance"
    __table_args__ = (UniqueConstraint("session_id", "client_index", name="uq_group_attendance_session_client"),)

    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("group_session.id"), index=True)
    _client: Mapped[str] = mapped_column("client", Sealed)
    client_ref = Encrypted("_client", blind_index="client_index")
    client_index: Mapped[str] = mapped_column(BlindIndex, index=True)
    status: Mapped[str] = mapped_column(String(20))
    recorded_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    session: Mapped[GroupSession] = relationship()


# ------------------------------------------------------------------ follow-up after closure
class FollowUp(UUIDPrimaryKey, Model):
    """A follow-up due 1, 3 or 6 months after a closure, and what it found once recorded."""

    __tablename__ = "case_follow_up"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_file.id"), index=True)
    months: Mapped[int] = mapped_column(Integer)
    closed_at: Mapped[datetime]          # the closure it follows
    due_at: Mapped[datetime]
    task_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("case_task.id"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # times the person was not reached
    last_attempt_at: Mapped[datetime | None]
    recorded_at: Mapped[datetime | None]
    recorded_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    status: Mapped[str | None] = mapped_column(String(20))
    crisis: Mapped[bool] = mapped_column(Boolean, default=False)
    deteriorated: Mapped[bool] = mapped_column(Boolean, default=False)
    _note: Mapped[str | None] = mapped_column("note", Sealed)
    note = Encrypted("_note")
    screening_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("case_screening.id"))
    reopened: Mapped[bool] = mapped_column(Boolean, default=False)
    alert_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("alert.id"))
    cancelled_at: Mapped[datetime | None]  # the case reopened or closed again before it was due

    recorded_by: Mapped[User | None] = relationship()
    screening: Mapped[CaseScreening | None] = relationship()

    @property
    def done(self) -> bool:
        return self.recorded_at is not None or self.cancelled_at is not None

    @property
    def overdue(self) -> bool:
        return not self.done and self.due_at < utcnow()
