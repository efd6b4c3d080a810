"""Group emergency plans: for a place or a group (a building, a care home, a school class, a
volunteer team), the people it covers (the team's clients linked to it, and how many others it
covers who are not clients), where they meet, who leads and who checks on whom, and the drill it was
last practised in (a drill of supervision, kept by id: casework reads no supervision table).
Who leads and who checks whom name people: encrypted. The plan's name, kind and meeting point name a
place, not a person."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carecycle.crypto import Encrypted, Sealed
from carecycle.database import UUIDPrimaryKey, utcnow
from carecycle.extensions import Model
from casework.models.clients import Client


class GroupPlan(UUIDPrimaryKey, Model):
    __tablename__ = "group_plan"

    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("team.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))  # GroupPlanKind
    meeting_point: Mapped[str] = mapped_column(String(300))
    _roles: Mapped[str | None] = mapped_column("roles", Sealed)
    roles = Encrypted("_roles", kind="json")  # {"leader": text, "checks": text (who checks whom, one per line)}
    others: Mapped[int] = mapped_column(Integer, default=0)  # people it covers who are not the team's clients
    last_drill_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # a supervision drill
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    archived_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    members: Mapped[list[GroupPlanMember]] = relationship(back_populates="plan", cascade="all, delete-orphan")

    @property
    def archived(self) -> bool:
        return self.archived_at is not None


class GroupPlanMember(UUIDPrimaryKey, Model):
    """A client the plan covers."""
    __tablename__ = "group_plan_member"
    __table_args__ = (UniqueConstraint("plan_id", "client_id", name="uq_group_plan_member"),)

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("group_plan.id"), index=True)
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("client.id"), index=True)
    added_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    plan: Mapped[GroupPlan] = relationship(back_populates="members")
    client: Mapped[Client] = relationship()
