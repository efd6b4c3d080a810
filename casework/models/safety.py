"""Safety plans (versioned; each version signed by a counsellor and then frozen) and the one-time
codes that link a client's resident account, so a shared plan can be read at /my/safety-plan."""
from __future__ import annotations

import uuid
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, Integer, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carecycle.accounts.models import User
from carecycle.crypto import BlindIndex, Encrypted, Sealed
from carecycle.database import UUIDPrimaryKey, utcnow
from carecycle.extensions import Model
from casework.models.cases import Case
from casework.models.clients import Client

# The sections of a plan, in order, in our own wording: (code, heading, hint for the counsellor).
SECTIONS = (
    ("warning_signs", _l("My warning signs"),
     _l("Thoughts, feelings, situations or behaviour that tell me a crisis may be coming.")),
    ("on_my_own", _l("Things I can do on my own"),
     _l("What helps me cope and calm down without contacting anyone.")),
    ("distractions", _l("People and places that help me take my mind off things"),
     _l("Who I can be with and where I can go to feel a bit better.")),
    ("people_to_ask", _l("People I can ask for help"),
     _l("Family members or friends I can tell that I am struggling, with their phone numbers.")),
    ("professionals", _l("Professionals and crisis services"),
     _l("My counsellor, doctor, the crisis line and emergency services, with their numbers and hours.")),
    ("safer_surroundings", _l("Making my surroundings safer"),
     _l("What I will do to keep away from things I could use to hurt myself, and who can help with it.")),
    ("reasons_for_living", _l("My reasons for living"),
     _l("The people, things and hopes that matter most to me.")),
)
SECTION_CODES = tuple(code for code, _h, _d in SECTIONS)
# A plan can be signed only when these say something: the signs to watch for and whom to call.
REQUIRED_TO_SIGN = ("warning_signs", "professionals")


class SafetyPlanVersion(UUIDPrimaryKey, Model):
    """One version of a case's safety plan. A draft is edited in place; signing freezes it, and the
    next change starts a new version. Old versions are kept."""

    __tablename__ = "safety_plan_version"
    __table_args__ = (
        UniqueConstraint("case_id", "number", name="uq_safety_plan_version_case_number"),
        # one open (unsigned) draft per case, whoever saves first: the database decides a race
        Index("uq_safety_plan_version_one_draft", "case_id", unique=True,
              sqlite_where=text("signed_at IS NULL"), postgresql_where=text("signed_at IS NULL")),
    )

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_file.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    _content: Mapped[str | None] = mapped_column("content", Sealed)
    content = Encrypted("_content", kind="json")  # {section code: text}
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    signed_at: Mapped[datetime | None]
    signed_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    shared_at: Mapped[datetime | None]
    shared_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    share_ended_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    case: Mapped[Case] = relationship()
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    signed_by: Mapped[User | None] = relationship(foreign_keys=[signed_by_id])

    @property
    def signed(self) -> bool:
        return self.signed_at is not None

    @property
    def shared(self) -> bool:
        return self.shared_at is not None and self.share_ended_at is None

    def section(self, code: str) -> str:
        return (self.content or {}).get(code) or ""

    def lines(self, code: str) -> list[str]:
        return [line.strip() for line in self.section(code).splitlines() if line.strip()]


class ResidentLinkCode(UUIDPrimaryKey, Model):
    """A one-time code a counsellor gives a client, so the client's resident account gets linked.

    Only a keyed hash of the code is stored; it expires, is used once, and a newer code revokes it."""

    __tablename__ = "resident_link_code"

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("client.id"), index=True)
    code_index: Mapped[str] = mapped_column(BlindIndex, unique=True)
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    revoked_at: Mapped[datetime | None]

    client: Mapped[Client] = relationship()

    @property
    def usable(self) -> bool:
        return self.used_at is None and self.revoked_at is None and self.expires_at > utcnow()
