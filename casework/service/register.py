"""The vulnerable-person register: entries with a tier and reasons, outreach, and when it is due.

The next outreach is due one tier interval after the entry's clock (`due_from`): the moment it
was added (or added back), then each outreach that reached the person (contacted, visited,
declined). A no-answer attempt is logged but leaves the clock running, so an overdue person
stays overdue until someone gets through. Intervals come from `REGISTER_OUTREACH_DAYS` in the
app config (defaults below) and halve in emergency operating mode.

A red-tier outreach that finds a concern raises an urgent triage alert."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError

from carecycle.alerts import Urgency, raise_alert
from carecycle.audit import record_event
from carecycle.database import utcnow
from carecycle.extensions import db
from carecycle.messages import label, said, words
from carecycle.mode import ModeState, current_mode, scaled
from carecycle.pagination import CappedPage
from carecycle.validation import Conflict, Invalid
from casework.enums import OutreachOutcome, RegisterFlag, Tier
from casework.models import Client, RegisterChange, RegisterEntry, RegisterOutreach
from casework.service.access import visible_clients
from casework.service.cases import parse_version

DEFAULT_OUTREACH_DAYS = {Tier.RED: 7, Tier.ORANGE: 14, Tier.YELLOW: 30, Tier.GREEN: 90}
OTHER_MAX, NOTE_MAX, REMOVAL_MAX = 200, 2000, 500
PER_PAGE = 25
# A red-tier concern goes to the triage queue as URGENT (24 hours, 12 in emergency mode): the
# worker is with or has just spoken to the person and can call emergency services themselves
# if life is in danger now; the alert makes sure a counsellor follows up within the day.
CONCERN_URGENCY = Urgency.URGENT
CONCERN_ALERT_KIND = "outreach_concern"


# Intervals and due dates -----------------------------------------------------------------------

def outreach_days(config=None) -> dict[Tier, float]:
    """Days between outreach per tier: the defaults, overridden by `REGISTER_OUTREACH_DAYS`
    (a mapping such as {"red": 5} or a string "red=5,orange=10")."""
    configured = (config if config is not None else current_app.config).get("REGISTER_OUTREACH_DAYS") or {}
    if isinstance(configured, str):
        pairs = [part.split("=", 1) for part in configured.replace(";", ",").split(",") if part.strip()]
        if any(len(pair) != 2 for pair in pairs):
            raise ValueError("REGISTER_OUTREACH_DAYS: write it as red=7,orange=14,yellow=30,green=90")
        configured = {key.strip(): value.strip() for key, value in pairs}
    days: dict[Tier, float] = dict(DEFAULT_OUTREACH_DAYS)
    for key, value in configured.items():
        try:
            tier = Tier(str(key).strip().lower())
            number = float(value)
        except ValueError:
            raise ValueError(f"REGISTER_OUTREACH_DAYS: {key}={value!r} is not a tier and a number of days") from None
        if not math.isfinite(number) or number <= 0 or number > 3660:
            raise ValueError(f"REGISTER_OUTREACH_DAYS: {key} must be between 0 and 3660 days")
        days[tier] = number
    return days


@dataclass(frozen=True)
class Schedule:
    """The outreach intervals in force now (configuration and operating mode, read once)."""

    days: dict[Tier, float]
    mode: ModeState

    def interval(self, tier: Tier | str) -> timedelta:
        return scaled(timedelta(days=self.days[Tier(tier)]), self.mode)

    def due(self, entry: RegisterEntry) -> datetime:
        return entry.due_from + self.interval(entry.tier)

    def overdue(self, entry: RegisterEntry, now: datetime | None = None) -> bool:
        return entry.on_register and self.due(entry) < (now or utcnow())

    def overdue_clause(self, now: datetime):
        """WHERE clause: entries whose next outreach was due before `now`."""
        return or_(*(and_(RegisterEntry.tier == tier.value, RegisterEntry.due_from < now - self.interval(tier))
                     for tier in Tier))


def schedule() -> Schedule:
    return Schedule(outreach_days(), current_mode())


def next_due(entry: RegisterEntry, sched: Schedule | None = None) -> datetime:
    return (sched or schedule()).due(entry)


def is_overdue(entry: RegisterEntry, sched: Schedule | None = None, now: datetime | None = None) -> bool:
    return (sched or schedule()).overdue(entry, now)


# Loading -----------------------------------------------------------------------------------------


def entry_for_client(client: Client) -> RegisterEntry | None:
    """The client's entry, on the register or taken off it (a client has at most one)."""
    return db.session.scalar(select(RegisterEntry).where(RegisterEntry.client_id == client.id))


def _lock(entry: RegisterEntry) -> None:
    """Re-read the entry under a row lock, so that concurrent writers take turns."""
    db.session.refresh(entry, with_for_update=True)


# Validation -----------------------------------------------------------------------------------

def _text(value, field: str, limit: int, errors: dict) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        errors[field] = _("Must be text.")
        return None
    value = value.strip()
    if len(value) > limit:
        errors[field] = _("Use at most %(n)d characters.", n=limit)
        return None
    return value or None


def clean_entry(data: dict) -> dict:
    """Tier, reasons (flags), the "other" reason and an optional note; raises Invalid naming each bad field."""
    errors: dict[str, str] = {}
    tier = None
    try:
        tier = Tier(str(data.get("tier") or ""))
    except ValueError:
        errors["tier"] = _("Choose a tier: green, yellow, orange or red.")
    raw_flags = data.get("flags") or []
    if isinstance(raw_flags, str):
        raw_flags = [raw_flags]
    chosen: set[RegisterFlag] = set()
    if not isinstance(raw_flags, (list, tuple)):
        errors["flags"] = _("Choose the reasons from the list.")
    else:
        for code in raw_flags:
            try:
                chosen.add(RegisterFlag(code))
            except (ValueError, TypeError):
                errors["flags"] = _("Choose the reasons from the list.")
    other = _text(data.get("flag_other"), "flag_other", OTHER_MAX, errors)
    if other:
        chosen.add(RegisterFlag.OTHER)  # a described other reason is one, ticked or not
    elif RegisterFlag.OTHER in chosen and "flag_other" not in errors:
        errors["flag_other"] = _("Describe the other reason.")
    if not chosen and "flags" not in errors:
        errors["flags"] = _("Choose at least one reason this person is on the register.")
    note = _text(data.get("note"), "note", NOTE_MAX, errors)
    if errors:
        raise Invalid(errors)
    return {"tier": tier, "flags": [flag.value for flag in RegisterFlag if flag in chosen],
            "flag_other": other, "note": note}


# Changes --------------------------------------------------------------------------------------

def _record_change(entry: RegisterEntry, kind: str, user, previous_tier: str | None, note: str | None) -> None:
    change = RegisterChange(entry_id=entry.id, at=utcnow(), actor_id=user.id if user else None, kind=kind,
                            tier=entry.tier, previous_tier=previous_tier, entry_version=entry.version)
    change.detail = {"flags": list(entry.flags or []), "flag_other": entry.flag_other, "note": note}
    db.session.add(change)


def add_to_register(user, client: Client, data: dict) -> RegisterEntry:
    """Put a client on the register (or back on it, keeping the history). The outreach clock starts now."""
    clean = clean_entry(data)
    entry = entry_for_client(client)
    now = utcnow()
    if entry is not None:
        _lock(entry)
        if entry.on_register:
            raise Conflict(_("This client is already on the register."), current_version=entry.version)
        previous = entry.tier
        entry.removed_at = entry.removed_by_id = None
        entry.tier = clean["tier"].value
        entry.flags, entry.flag_other = clean["flags"], clean["flag_other"]
        entry.due_from = entry.updated_at = now
        entry.version += 1
        _record_change(entry, "readded", user, previous, clean["note"])
        record_event("update", "register_entry", entry.id, reason=f"readded:{entry.tier}", actor=user)
        return entry
    entry = RegisterEntry(client_id=client.id, team_id=client.team_id, tier=clean["tier"].value,
                          created_at=now, updated_at=now, due_from=now, created_by_id=user.id, version=1)
    entry.flags, entry.flag_other = clean["flags"], clean["flag_other"]
    try:
        with db.session.begin_nested():
            db.session.add(entry)
            db.session.flush()
    except IntegrityError:
        raise Conflict(_("Someone else has just put this client on the register.")) from None
    _record_change(entry, "added", user, None, clean["note"])
    record_event("create", "register_entry", entry.id, reason=f"added:{entry.tier}", actor=user)
    return entry


def changes_since(entry: RegisterEntry, version: int) -> Sequence[RegisterChange]:
    return db.session.scalars(select(RegisterChange).where(
        RegisterChange.entry_id == entry.id, RegisterChange.entry_version > version)
        .order_by(RegisterChange.at)).all()


def describe_change(change: RegisterChange) -> str:
    """One line for people: the tier and reasons after a change (shown only to those who see the entry)."""
    detail = change.detail or {}
    reasons = ", ".join(str(RegisterFlag(code).label) for code in detail.get("flags") or [])
    if detail.get("flag_other"):
        reasons += f" ({detail['flag_other']})"
    tier = str(Tier(change.tier).label)
    if change.previous_tier and change.previous_tier != change.tier:
        tier = f"{Tier(change.previous_tier).label} → {tier}"
    return _("Tier %(tier)s; reasons: %(reasons)s", tier=tier, reasons=reasons or "—")


def update_entry(user, entry: RegisterEntry, version, data: dict) -> RegisterEntry:
    """Change tier and reasons. A stale version is refused with what changed meanwhile."""
    version = parse_version(version)
    _lock(entry)
    if not entry.on_register:
        raise Conflict(_("This client is no longer on the register; add them back first."),
                       current_version=entry.version)
    if version != entry.version:
        raise Conflict(_("Someone else changed this register entry since you opened it."),
                       [(str(change_label(c.kind)), describe_change(c), None) for c in changes_since(entry, version)],
                       entry.version)
    clean = clean_entry(data)
    changed = []
    previous = entry.tier
    if clean["tier"].value != entry.tier:
        entry.tier = clean["tier"].value
        changed.append("tier")
    if clean["flags"] != list(entry.flags or []) or clean["flag_other"] != entry.flag_other:
        entry.flags, entry.flag_other = clean["flags"], clean["flag_other"]
        changed.append("flags")
    if not changed and not clean["note"]:
        return entry
    entry.version += 1
    entry.updated_at = utcnow()
    _record_change(entry, "updated" if changed else "noted", user, previous, clean["note"])
    record_event("update", "register_entry", entry.id, reason=",".join(changed) or "note", actor=user)
    return entry


def remove_from_register(user, entry: RegisterEntry, version, reason) -> RegisterEntry:
    """Take a client off the register, with a reason. The entry and its history are kept."""
    version = parse_version(version)
    errors: dict[str, str] = {}
    reason = _text(reason, "reason", REMOVAL_MAX, errors)
    if not reason and not errors:
        errors["reason"] = _("Say why this person is leaving the register.")
    if errors:
        raise Invalid(errors)
    _lock(entry)
    if not entry.on_register:
        raise Conflict(_("This client is no longer on the register."), current_version=entry.version)
    if version != entry.version:
        raise Conflict(_("Someone else changed this register entry since you opened it."),
                       [(str(change_label(c.kind)), describe_change(c), None) for c in changes_since(entry, version)],
                       entry.version)
    entry.removed_at, entry.removed_by_id = utcnow(), user.id
    entry.version += 1
    entry.updated_at = entry.removed_at
    _record_change(entry, "removed", user, entry.tier, reason)
    record_event("update", "register_entry", entry.id, reason="removed", actor=user)
    return entry


CHANGE_LABELS = {"added": _l("Added to the register"), "updated": _l("Tier or reasons changed"),
                 "noted": _l("Note added"), "removed": _l("Taken off the register"),
                 "readded": _l("Added back to the register")}


def change_label(kind: str):
    return CHANGE_LABELS.get(kind, kind)


# Outreach -----------------------------------------------------------------------------------------

def log_outreach(user, entry: RegisterEntry, outcome, note=None, concern=False,
                 at: datetime | None = None) -> RegisterOutreach:
    """Log one outreach attempt. Reaching the person restarts the clock; a red-tier concern raises
    an urgent triage alert (exactly one per outreach)."""
    errors: dict[str, str] = {}
    try:
        outcome = OutreachOutcome(outcome)
    except ValueError:
        errors["outcome"] = _("Choose how the outreach went: contacted, no answer, visited or declined.")
    note = _text(note, "note", NOTE_MAX, errors)
    if not isinstance(concern, bool):
        errors["concern"] = _("Say whether there is a concern (yes or no).")
    elif concern and not note and "note" not in errors:
        errors["note"] = _("Describe the concern in the note.")
    now = utcnow()
    if at is None:
        at = now
    elif not isinstance(at, datetime) or at.tzinfo is None:
        errors["at"] = _("Give the time of the outreach.")
    elif at > now + timedelta(minutes=5):
        errors["at"] = _("The outreach cannot be in the future.")
    elif at < entry.created_at:
        errors["at"] = _("The outreach cannot be before the person was put on the register.")
    if errors:
        raise Invalid(errors)
    _lock(entry)
    if not entry.on_register:
        raise Conflict(_("This client is no longer on the register."), current_version=entry.version)
    row = RegisterOutreach(entry_id=entry.id, at=at, by_id=user.id if user else None, outcome=outcome.value,
                           concern=concern, tier=entry.tier)
    row.note = note
    db.session.add(row)
    if entry.last_outreach_at is None or at >= entry.last_outreach_at:
        entry.last_outreach_at, entry.last_outcome = at, outcome.value
    if outcome.reached and at > entry.due_from:
        entry.due_from = at
    db.session.flush()
    if concern and entry.tier == Tier.RED.value:
        alert = raise_alert(kind=CONCERN_ALERT_KIND, urgency=CONCERN_URGENCY, subject_type="client",
                            subject_id=entry.client_id, team_id=entry.team_id,
                            summary=said("Red-tier register outreach (%(outcome)s) found a concern: %(note)s",
                                         outcome=label("register_outreach_outcome", outcome.value),
                                         note=words(note)))
        row.alert_id = alert.id
    record_event("create", "register_outreach", row.id,
                 reason=f"{outcome.value}{':concern' if concern else ''}", actor=user)
    return row


def outreach_log(entry: RegisterEntry, page: int = 1, per_page: int = PER_PAGE):
    stmt = (select(RegisterOutreach).where(RegisterOutreach.entry_id == entry.id)
            .order_by(RegisterOutreach.at.desc(), RegisterOutreach.id))
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False)


def entry_changes(entry: RegisterEntry) -> Sequence[RegisterChange]:
    return db.session.scalars(select(RegisterChange).where(RegisterChange.entry_id == entry.id)
                              .order_by(RegisterChange.at.desc())).all()


# The register list -----------------------------------------------------------------------------

@dataclass
class RegisterRow:
    entry: RegisterEntry
    due: datetime
    overdue: bool


def clean_filters(tier=None, flag=None) -> tuple[Tier | None, RegisterFlag | None]:
    errors: dict[str, str] = {}
    chosen_tier = chosen_flag = None
    if tier:
        try:
            chosen_tier = Tier(tier)
        except ValueError:
            errors["tier"] = _("Choose a tier from the list.")
    if flag:
        try:
            chosen_flag = RegisterFlag(flag)
        except ValueError:
            errors["flag"] = _("Choose a reason from the list.")
    if errors:
        raise Invalid(errors)
    return chosen_tier, chosen_flag


def list_entries(user, *, tier=None, flag=None, overdue: bool = False, page: int = 1,
                 per_page: int = PER_PAGE) -> CappedPage:
    """Entries on the register whose client `user` may see, next outreach due first.

    Reasons are encrypted, so the reason filter and the ordering by due date (which depends on
    the tier, the configuration and the operating mode) are applied here, after the database
    has narrowed the rows by visibility, tier and overdue."""
    chosen_tier, chosen_flag = clean_filters(tier, flag)
    sched, now = schedule(), utcnow()
    stmt = (select(RegisterEntry).join(Client, Client.id == RegisterEntry.client_id)
            .where(RegisterEntry.removed_at.is_(None), visible_clients(user)))
    if chosen_tier:
        stmt = stmt.where(RegisterEntry.tier == chosen_tier.value)
    if overdue:
        stmt = stmt.where(sched.overdue_clause(now))
    entries = db.session.scalars(stmt).all()
    if chosen_flag:
        entries = [e for e in entries if chosen_flag.value in (e.flags or [])]
    rows = [RegisterRow(e, sched.due(e), sched.overdue(e, now)) for e in entries]
    rows.sort(key=lambda row: (row.due, -Tier(row.entry.tier).rank, str(row.entry.id)))
    total = len(rows)
    page = min(max(1, page), max(1, math.ceil(total / per_page)))
    items = rows[(page - 1) * per_page: page * per_page]
    if items:  # the page's clients in one query (the rows' `client` then come from the identity map)
        db.session.scalars(select(Client).where(Client.id.in_([row.entry.client_id for row in items]))).all()
    record_event("view", "register", None, reason=f"list:{len(items)}")
    return CappedPage(items, page, per_page, has_next=page * per_page < total, total=total)
