"""Clients: registration with duplicate warning, exact search through blind indexes, edits, consents."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import or_, select

from carecycle import ratelimit
from carecycle.accounts.models import Team, User
from carecycle.audit import record_event
from carecycle.database import utcnow
from carecycle.extensions import db
from carecycle.lifecycle import NotFound
from carecycle.localtime import date_message
from carecycle.localtime import today as local_today
from carecycle.roles import Role
from carecycle.validation import Conflict, Invalid, iso_date
from casework.enums import SEX_LABELS, ConsentScope
from casework.models import Client, Consent
from casework.service.access import visible_clients
from casework.service.cases import parse_version

CLIENT_FIELDS = ("full_name", "preferred_name", "date_of_birth", "sex", "gender", "phone", "address",
                 "id_number", "preferred_language", "household", "emergency_contact")
LIMITS = {"full_name": 200, "preferred_name": 100, "gender": 60, "phone": 40, "address": 400, "id_number": 40,
          "preferred_language": 10, "household": 2000, "emergency_contact": 400}


def clean_client_fields(data: dict, *, partial: bool = False) -> dict:
    """Validate and normalise client fields; raises Invalid naming each bad field."""
    errors: dict[str, str] = {}
    clean: dict = {}
    for name in CLIENT_FIELDS:
        if name not in data:
            continue
        value = data[name]
        if value is not None and not isinstance(value, str):
            errors[name] = _("Must be text.")
            continue
        value = (value or "").strip() or None
        if value and len(value) > LIMITS.get(name, 200):
            errors[name] = _("Use at most %(n)d characters.", n=LIMITS.get(name, 200))
            continue
        clean[name] = value
    if not partial or "full_name" in data:
        if not clean.get("full_name") and "full_name" not in errors:
            errors["full_name"] = _("Enter the client's full name.")
    phone = clean.get("phone")
    if phone and (not re.fullmatch(r"[0-9+()\-\s.]+", phone) or len(re.sub(r"\D", "", phone)) < 6):
        errors["phone"] = _("Enter a phone number of at least 6 digits.")
    dob = clean.get("date_of_birth")
    if dob:
        try:
            born = iso_date(dob)
        except ValueError:
            errors["date_of_birth"] = date_message()
        else:
            if born > local_today() or born.year < 1900:
                errors["date_of_birth"] = _("Enter a real date of birth.")
    if clean.get("sex") and clean["sex"] not in SEX_LABELS:
        errors["sex"] = _("Choose one of the options.")
    if errors:
        raise Invalid(errors)
    return clean


@dataclass
class DuplicateFound(Exception):
    """Phone or ID number already on record. `visible` are records the user may open; `elsewhere`
    names only the teams (and their supervisors) holding records the user may not see; `matched`
    is every matching client id with the field that matched (for the audit trail)."""

    visible: list[Client]
    elsewhere: list[tuple[str, list[str]]]
    matched: list[tuple] = field(default_factory=list)
    refused: bool = False  # the user met too many matches lately: nothing about them is shown


def _matched_on(client: Client, phone: str | None, id_number: str | None) -> str:
    on = []
    if phone and client.phone_index == Client.phone.index_for(phone):
        on.append("phone")
    if id_number and client.id_number_index == Client.id_number.index_for(id_number):
        on.append("id_number")
    return "+".join(on) or "phone_or_id_number"


def _match_limit() -> tuple[int, timedelta]:
    cfg = current_app.config
    return cfg["CLIENT_MATCH_LIMIT"], timedelta(seconds=cfg["CLIENT_MATCH_WINDOW"])


def note_duplicate_matches(user, found: DuplicateFound) -> None:
    """Audit each match shown (or refused) to the user and count it against their limit. The caller
    commits this even when it rolls back the rest, so a probe of phone numbers always leaves a trace."""
    if found.refused:
        record_event("duplicate_match", "client", None, actor=user, outcome="denied", reason="match_limit")
        return
    limit, window = _match_limit()
    ratelimit.allow("client_match", f"user:{user.id}", limit, window)
    for client_id, matched_on in found.matched:
        record_event("duplicate_match", "client", client_id, actor=user, reason=f"matched:{matched_on}")


def _exact_match(phone: str | None = None, id_number: str | None = None, name: str | None = None) -> list:
    """Blind-index comparisons for the values given (exact match after normalising)."""
    clauses = []
    if phone:
        clauses.append(Client.phone_index == Client.phone.index_for(phone))
    if id_number:
        clauses.append(Client.id_number_index == Client.id_number.index_for(id_number))
    if name:
        clauses.append(Client.name_index == Client.full_name.index_for(name))
    return clauses


def find_duplicates(user, phone: str | None, id_number: str | None) -> DuplicateFound | None:
    clauses = _exact_match(phone, id_number)
    if not clauses:
        return None
    limit, window = _match_limit()
    if ratelimit.recent("client_match", f"user:{user.id}", window) >= limit:
        # Past the limit the lookup is not made at all, so the answer says nothing about the number.
        return DuplicateFound([], [], [], refused=True)
    matches = db.session.scalars(select(Client).where(or_(*clauses))).all()
    if not matches:
        return None
    matched = [(m.id, _matched_on(m, phone, id_number)) for m in matches]
    visible_ids = set(db.session.scalars(select(Client.id).where(
        Client.id.in_([m.id for m in matches]), visible_clients(user))))
    visible = [m for m in matches if m.id in visible_ids]
    hidden_teams = {m.team_id for m in matches if m.id not in visible_ids}
    if not hidden_teams:
        return DuplicateFound(visible, [], matched)
    supervisors: dict = {}
    for boss in db.session.scalars(select(User).where(User.team_id.in_(hidden_teams), User.role == Role.SUPERVISOR,
                                                      User.active.is_(True)).order_by(User.username)):
        supervisors.setdefault(boss.team_id, []).append(boss.name)
    elsewhere = [(team.name, supervisors.get(team.id, []))
                 for team in db.session.scalars(select(Team).where(Team.id.in_(hidden_teams)).order_by(Team.name))]
    return DuplicateFound(visible, elsewhere, matched)


def register_client(user, data: dict, *, confirm_duplicate: bool = False) -> Client:
    """Register a client in the user's team. A phone or ID number already on record raises
    DuplicateFound unless the user confirmed it is a different person."""
    clean = clean_client_fields(data)
    if not confirm_duplicate:
        duplicate = find_duplicates(user, clean.get("phone"), clean.get("id_number"))
        if duplicate:
            raise duplicate
    client = Client(team_id=user.team_id, created_by_id=user.id)
    _apply(client, clean)
    db.session.add(client)
    db.session.flush()
    record_event("create", "client", client.id)
    return client


def _apply(client: Client, clean: dict) -> None:
    for name, value in clean.items():
        setattr(client, name, value)


def update_client(user, client: Client, version, data: dict) -> Client:
    if parse_version(version) != client.version:
        raise Conflict(_("This client's record changed since you opened it."), current_version=client.version)
    clean = clean_client_fields(data, partial=True)
    _apply(client, clean)
    client.updated_at = utcnow()
    record_event("update", "client", client.id)
    return client


def search_clients(user, *, phone: str | None = None, id_number: str | None = None, name: str | None = None):
    """Exact match through the blind indexes, among the clients the user may see."""
    clauses = _exact_match(phone, id_number, name)
    if not clauses:
        return []
    stmt = select(Client).where(*clauses, visible_clients(user)).order_by(Client.created_at).limit(50)
    return db.session.scalars(stmt).all()


def search_clients_page(user, page: int, per_page: int = 20, *, phone: str | None = None,
                        id_number: str | None = None, name: str | None = None):
    """The same exact-match search, a page at a time (the client list pages it by POST), or None
    when no criterion is given."""
    clauses = _exact_match(*((value or "").strip() or None for value in (phone, id_number, name)))
    if not clauses:
        return None
    stmt = select(Client).where(*clauses, visible_clients(user)).order_by(Client.created_at)
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False)


def recent_clients(user, page: int, per_page: int = 25):
    """The clients the user may see, newest first, a page at a time."""
    stmt = select(Client).where(visible_clients(user)).order_by(Client.created_at.desc())
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False)


def record_consent(user, client: Client, scope: str) -> Consent:
    try:
        scope = ConsentScope(scope).value
    except ValueError:
        raise Invalid({"scope": _("Choose contact, data processing or sharing with referral partners.")}) from None
    current = next((c for c in client.consents if c.scope == scope and c.current), None)
    if current:
        return current
    consent = Consent(client_id=client.id, scope=scope, recorded_by_id=user.id)
    db.session.add(consent)
    db.session.flush()
    client.consents.append(consent)
    record_event("create", "consent", consent.id, reason=scope)
    return consent


def withdraw_consent(user, client: Client, consent_id) -> Consent:
    consent = next((c for c in client.consents if str(c.id) == str(consent_id)), None)
    if consent is None:
        raise NotFound("consent")
    if consent.withdrawn_at is None:
        consent.withdrawn_at, consent.withdrawn_by_id = utcnow(), user.id
        record_event("update", "consent", consent.id, reason=f"withdrawn:{consent.scope}")
    return consent


def has_consent(client: Client, scope: ConsentScope) -> bool:
    return any(c.scope == scope.value and c.current for c in client.consents)
