"""In-app notifications, and the optional e-mail outbox.

Any area calls `notify(user, kind, link)`: a row the user sees on their notifications page (the
navigation shows how many are unread). When e-mail is on (`NOTIFY_EMAIL_ENABLED`, off by default)
and the user gave an address, a message is also put in the outbox; `carecycle notify send`
delivers the outbox over SMTP. A message says only that there is something new and gives the
link: never a name, a note or an answer. Areas add labels for their kinds to `KIND_LABELS`."""
from __future__ import annotations

import os
import smtplib
import ssl
import uuid
from datetime import datetime
from email.message import EmailMessage
from urllib.parse import urlsplit

import click
from flask import current_app, has_request_context, request
from flask.cli import with_appcontext
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, func, select, update
from sqlalchemy.orm import Mapped, mapped_column

from carecycle.crypto import Encrypted, Sealed
from carecycle.database import UUIDPrimaryKey, rows_changed, utcnow
from carecycle.extensions import Model, db

UNREAD_CAP = 100           # the navigation says "99+" beyond this
MAX_ATTEMPTS = 5           # an outbox message is given up after this many failed deliveries

KIND_LABELS: dict[str, object] = {"general": _l("Something needs your attention")}


class Notification(UUIDPrimaryKey, Model):
    __tablename__ = "notification"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))
    kind: Mapped[str] = mapped_column(String(40))
    link: Mapped[str] = mapped_column(String(300))             # a local path, never another host
    count: Mapped[int] = mapped_column(Integer, default=1)      # "3 cases were assigned to you"
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_notification_user_unread", "user_id", "read_at", "created_at"),
        Index("ix_notification_object", "object_type", "object_id", "kind"),
    )

    @property
    def label(self):
        return KIND_LABELS.get(self.kind, KIND_LABELS["general"])

    @property
    def unread(self) -> bool:
        return self.read_at is None


class NotificationSetting(UUIDPrimaryKey, Model):
    """A user's e-mail address for notifications (encrypted) and whether they want e-mail at all."""

    __tablename__ = "notification_setting"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"), unique=True)
    email_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    _email: Mapped[str | None] = mapped_column("email", Sealed)
    email = Encrypted("_email")


class OutboxMessage(UUIDPrimaryKey, Model):
    """An e-mail waiting for `carecycle notify send`: a generic subject and a link, nothing else."""

    __tablename__ = "notification_outbox"

    notification_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("notification.id"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(300))
    gave_up_at: Mapped[datetime | None]
    _to_address: Mapped[str] = mapped_column("to_address", Sealed)
    to_address = Encrypted("_to_address")


# ------------------------------------------------------------------ settings
def setting(name: str, default=None):
    """`name` from the app config, else the environment as CARECYCLE_<name>, else `default`."""
    if name in current_app.config:
        return current_app.config[name]
    return os.environ.get(f"CARECYCLE_{name}", default)


def flag(name: str, default: bool = False) -> bool:
    value = setting(name, None)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def email_enabled() -> bool:
    return flag("NOTIFY_EMAIL_ENABLED", False)


def base_url_problem(config, production: bool) -> str | None:
    """Why the site address for e-mail links is unusable, or None. In production with e-mail on
    it is required: without it a link would be built from the request's Host header, which the
    sender of the request chooses."""
    def value(name):
        return config[name] if name in config else os.environ.get(f"CARECYCLE_{name}")
    enabled = value("NOTIFY_EMAIL_ENABLED")
    enabled = enabled if isinstance(enabled, bool) else str(enabled or "").strip().lower() in ("1", "true", "yes", "on")
    if not (production and enabled):
        return None
    base = (value("NOTIFY_BASE_URL") or "").strip()
    if not base:
        return ("CARECYCLE_NOTIFY_BASE_URL is not set "
                "(needed for e-mail links when CARECYCLE_NOTIFY_EMAIL_ENABLED is on)")
    parts = urlsplit(base)
    if parts.scheme != "https" or not parts.hostname or parts.query or parts.fragment or "@" in parts.netloc:
        return ("CARECYCLE_NOTIFY_BASE_URL must be the site's https:// address, like https://care.example.org, "
                f"not {base!r}")
    return None


def register_page(app, endpoint: str) -> None:
    """The area that shows notifications names its page; the navigation links to it."""
    app.extensions["carecycle_notifications_page"] = endpoint


# ------------------------------------------------------------------ writing
def _user_id(user) -> uuid.UUID:
    return user if isinstance(user, uuid.UUID) else user.id


def notify(user, kind: str, link: str, *, count: int = 1, object_type: str | None = None,
           object_id=None) -> Notification:
    """Tell `user` (a User or an id) that something needs them; the caller commits."""
    if not link.startswith("/") or link.startswith("//"):
        raise ValueError("a notification links to a local path")
    row = Notification(user_id=_user_id(user), kind=kind, link=link[:300], count=max(1, int(count)),
                       object_type=object_type, object_id=str(object_id) if object_id is not None else None,
                       created_at=utcnow())
    db.session.add(row)
    if email_enabled():
        _queue_email(row)
    return row


def _queue_email(row: Notification) -> None:
    with db.session.no_autoflush:
        pref = db.session.scalar(select(NotificationSetting).where(NotificationSetting.user_id == row.user_id))
        if pref is None or not pref.email_enabled or not pref.email:
            return
        from carecycle.accounts.models import User
        user = db.session.get(User, row.user_id)
    base = (setting("NOTIFY_BASE_URL") or (request.host_url if has_request_context() else "")).rstrip("/")
    locale = (user.locale if user is not None else None) or current_app.config.get("BABEL_DEFAULT_LOCALE", "en")
    with force_locale(locale):
        subject = _("CareCycle: you have a new notification")
        body = _("There is something new for you in CareCycle. Sign in to see it:") + f"\n\n{base}{row.link}\n"
    message = OutboxMessage(notification_id=row.id, user_id=row.user_id, subject=subject, body=body,
                            created_at=utcnow())
    message.to_address = pref.email
    db.session.add(message)


# ------------------------------------------------------------------ reading
def unread_column(user_id, cap: int = UNREAD_CAP):
    """A user's unread notifications, counted up to `cap`, as a scalar subquery (for a SELECT that asks
    more); `user_id` is an id or a bound parameter."""
    ids = (select(Notification.id).where(Notification.user_id == user_id, Notification.read_at.is_(None))
           .limit(cap).subquery())
    return select(func.count()).select_from(ids).scalar_subquery()


def unread_count(user, cap: int = UNREAD_CAP) -> int:
    """Unread notifications, counted up to `cap` (one bounded statement)."""
    return db.session.scalar(select(unread_column(user.id, cap))) or 0


def mark_read(user, notification_id=None) -> int:
    """Mark one of the user's notifications (or all of them) read; returns how many changed."""
    stmt = update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    if notification_id is not None:
        stmt = stmt.where(Notification.id == notification_id)
    result = db.session.execute(stmt.values(read_at=utcnow()).execution_options(synchronize_session=False))
    return rows_changed(result)


# ------------------------------------------------------------------ delivery
def smtp_settings() -> dict:
    return {
        "host": setting("SMTP_HOST"),
        "port": int(setting("SMTP_PORT", 587)),
        "username": setting("SMTP_USERNAME"),
        "password": setting("SMTP_PASSWORD"),
        "starttls": flag("SMTP_STARTTLS", True),
        "ssl": flag("SMTP_SSL", False),
        "sender": setting("NOTIFY_FROM"),
        "timeout": float(setting("SMTP_TIMEOUT", 20)),
    }


def _connect(cfg: dict):
    context = ssl.create_default_context()
    server: smtplib.SMTP
    if cfg["ssl"]:
        server = smtplib.SMTP_SSL(cfg["host"], cfg["port"], timeout=cfg["timeout"], context=context)
    else:
        server = smtplib.SMTP(cfg["host"], cfg["port"], timeout=cfg["timeout"])
        if cfg["starttls"]:
            server.starttls(context=context)
    if cfg["username"]:
        server.login(cfg["username"], cfg["password"] or "")
    return server


def deliver_outbox(limit: int = 200) -> tuple[int, int]:
    """Send waiting messages over one SMTP connection; returns (sent, failed). A failure is kept
    with its error and tried again next time, up to MAX_ATTEMPTS."""
    cfg = smtp_settings()
    waiting = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.sent_at.is_(None), OutboxMessage.gave_up_at.is_(None))
        .order_by(OutboxMessage.created_at).limit(limit)).all()
    if not waiting:
        return 0, 0
    sent = failed = 0
    server = _connect(cfg)
    try:
        for message in waiting:
            mail = EmailMessage()
            mail["From"], mail["To"], mail["Subject"] = cfg["sender"], message.to_address, message.subject
            mail.set_content(message.body)
            message.attempts += 1
            try:
                server.send_message(mail)
            except (smtplib.SMTPException, OSError) as error:
                failed += 1
                message.last_error = f"{type(error).__name__}: {error}"[:300]
                if message.attempts >= MAX_ATTEMPTS:
                    message.gave_up_at = utcnow()
            else:
                sent += 1
                message.sent_at, message.last_error = utcnow(), None
            db.session.commit()
    finally:
        try:
            server.quit()
        except (smtplib.SMTPException, OSError):
            pass
    return sent, failed


def delivery_off_because() -> str | None:
    """Why the outbox cannot be delivered now (e-mail off, SMTP not set up), or None."""
    if not email_enabled():
        return "e-mail notifications are off (CARECYCLE_NOTIFY_EMAIL_ENABLED)"
    cfg = smtp_settings()
    missing = [name for name, key in (("CARECYCLE_SMTP_HOST", "host"), ("CARECYCLE_NOTIFY_FROM", "sender"))
               if not cfg[key]]
    if missing:
        return f"set {' and '.join(missing)} to send e-mail"
    return None


@click.group("notify")
def notify_cli():
    """Notifications: deliver the e-mail outbox."""


@notify_cli.command("send")
@click.option("--limit", default=200, show_default=True, type=click.IntRange(1, 10_000),
              help="Messages to send in this run.")
@with_appcontext
def notify_send(limit):
    """Deliver waiting notification e-mails over SMTP (only when NOTIFY_EMAIL_ENABLED is on)."""
    if not email_enabled():
        click.echo("e-mail notifications are off (set CARECYCLE_NOTIFY_EMAIL_ENABLED=1 to turn them on); "
                   "nothing sent")
        return
    problem = delivery_off_because()
    if problem:
        raise click.ClickException(problem)
    try:
        sent, failed = deliver_outbox(limit)
    except (smtplib.SMTPException, OSError) as error:
        db.session.rollback()
        raise click.ClickException(f"could not reach the SMTP server: {type(error).__name__}: {error}") from error
    click.echo(f"sent {sent} message(s), {failed} failed (kept for another try)")
    if failed:
        raise SystemExit(1)
