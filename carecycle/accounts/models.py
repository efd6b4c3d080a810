"""Teams, users, their sessions and API tokens."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, Enum, ForeignKey, Index, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carecycle.crypto import BlindIndex, Encrypted, Sealed, normalise_phone
from carecycle.database import UUIDPrimaryKey, utcnow
from carecycle.extensions import Model
from carecycle.roles import Role

ROLE_TYPE = Enum(Role, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e],
                 validate_strings=True, name="role")


class Team(UUIDPrimaryKey, Model):
    __tablename__ = "team"

    name: Mapped[str] = mapped_column(String(80), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    members: Mapped[list[User]] = relationship(back_populates="team", order_by="User.username")


class User(UUIDPrimaryKey, Model):
    __tablename__ = "user_account"

    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(ROLE_TYPE)
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("team.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    # sign-in failures (per account and address, see accounts.service.authenticate) counted
    # before this moment no longer lock or slow anyone: an administrator's reset sets it
    sign_in_cleared_at: Mapped[datetime | None]
    # an administrator's change that grants case access waits for a supervisor (AccountChange)
    access_pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    locale: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    _phone: Mapped[str | None] = mapped_column("phone", Sealed)
    phone = Encrypted("_phone", blind_index="phone_index", normalise=normalise_phone)
    phone_index: Mapped[str | None] = mapped_column(BlindIndex, index=True)

    team: Mapped[Team | None] = relationship(back_populates="members")

    # Flask-Login
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)

    @property
    def is_staff(self) -> bool:
        return Role(self.role).is_staff

    @property
    def name(self) -> str:
        return self.display_name or self.username


class UserSession(Model):
    """A server-side login session; the cookie holds only its random token."""

    __tablename__ = "user_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the token
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(40))


class ApiToken(UUIDPrimaryKey, Model):
    __tablename__ = "api_token"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()

    def state(self, now: datetime) -> str:
        """`revoked`, `expired` or `active`."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= now else "active"


class UsualAddress(UUIDPrimaryKey, Model):
    """An address a user has signed in from successfully, stored as a keyed hash (never the
    address itself). Failures from other addresses never lock or slow sign-in from it."""

    __tablename__ = "user_usual_address"
    __table_args__ = (Index("ix_user_usual_address_lookup", "user_id", "address_key"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))
    address_key: Mapped[str] = mapped_column(String(64))
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class AccountChange(UUIDPrimaryKey, Model):
    """An administrator's change that would let an account read cases (a new account, a role or team
    change, a re-enabled account, a password reset), held until a supervisor of `team` confirms it."""

    __tablename__ = "account_change"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))            # new_account / access_change / password_reset
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("team.id"), index=True)  # whose supervisor confirms
    requested_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    previous_role: Mapped[Role | None] = mapped_column(ROLE_TYPE)   # restored when an access change is declined
    previous_team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("team.id"))
    previous_active: Mapped[bool | None] = mapped_column(Boolean)
    confirmed_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    confirmed_at: Mapped[datetime | None]
    declined_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    declined_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    team: Mapped[Team | None] = relationship(foreign_keys=[team_id])
    requested_by: Mapped[User | None] = relationship(foreign_keys=[requested_by_id])
    confirmed_by: Mapped[User | None] = relationship(foreign_keys=[confirmed_by_id])
    declined_by: Mapped[User | None] = relationship(foreign_keys=[declined_by_id])

    @property
    def pending(self) -> bool:
        return self.confirmed_at is None and self.declined_at is None
