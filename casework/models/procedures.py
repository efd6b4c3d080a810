"""Operating procedures and their checklists: a procedure the service writes ("first contact with a
red-tier person living alone"), attached to the step where it applies (a register tier, a kind of
triage alert, an emergency activation) and revised in numbered versions (earlier ones kept); and the
marks of its items done, item by item, on the register entry, alert or activation it was worked on.
A mark is never overwritten: undoing it is recorded on it. Procedures are the service's manual and
marks hold no words, so neither names anyone: nothing here is encrypted."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carecycle.accounts.models import User
from carecycle.database import UUIDPrimaryKey, utcnow
from carecycle.extensions import Model


class Procedure(UUIDPrimaryKey, Model):
    __tablename__ = "procedure"

    applies_to: Mapped[str] = mapped_column(String(30), index=True)  # ProcedureStep
    applies_value: Mapped[str] = mapped_column(String(40), default="")  # the tier, the alert kind; "" for any
    current_number: Mapped[int] = mapped_column(Integer, default=1)  # changes with each revision, so the
    # row's version lock refuses a revision made on a form opened before another one
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    archived_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    versions: Mapped[list[ProcedureVersion]] = relationship(back_populates="procedure",
                                                            order_by="ProcedureVersion.number.desc()")

    @property
    def current(self) -> ProcedureVersion:
        return next(v for v in self.versions if v.number == self.current_number)

    @property
    def archived(self) -> bool:
        return self.archived_at is not None


class ProcedureVersion(UUIDPrimaryKey, Model):
    __tablename__ = "procedure_version"
    __table_args__ = (UniqueConstraint("procedure_id", "number", name="uq_procedure_version_number"),)

    procedure_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("procedure.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(Text, default="")
    items: Mapped[list] = mapped_column(JSON, default=list)  # the checklist: one text per item, in order
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    procedure: Mapped[Procedure] = relationship(back_populates="versions")
    created_by: Mapped[User] = relationship()


class ChecklistMark(UUIDPrimaryKey, Model):
    """One item of a procedure's version marked done on a subject (`register_entry`, `alert`,
    `activation`); at most one mark in force per item and subject."""
    __tablename__ = "checklist_mark"
    __table_args__ = (
        Index("ix_checklist_mark_subject", "subject_type", "subject_id"),
        Index("uq_checklist_mark_in_force", "version_id", "subject_type", "subject_id", "item", unique=True,
              sqlite_where=text("undone_at IS NULL"), postgresql_where=text("undone_at IS NULL")),
    )

    version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("procedure_version.id"), index=True)
    subject_type: Mapped[str] = mapped_column(String(30))
    subject_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    item: Mapped[int] = mapped_column(Integer)
    done_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))
    done_at: Mapped[datetime] = mapped_column(default=utcnow)
    undone_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    undone_at: Mapped[datetime | None]

    version: Mapped[ProcedureVersion] = relationship()
    done_by: Mapped[User] = relationship(foreign_keys=[done_by_id])
