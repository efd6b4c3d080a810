"""Household emergency plans: a draft edited in place, signed to freeze it, a new version for the
next change (the earlier ones kept); and the emergency outreach list, those whose medicine runs out
first at the top. A signed version is shared with the client's resident account when they ask,
and they read it at /my/household-plan. Whoever may see the client reads the plan; whoever may edit the client writes
and signs it (the routes check the permissions; `load_visible` the client)."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select

from carecycle.audit import record_event
from carecycle.database import utcnow
from carecycle.extensions import db
from carecycle.fields import Errors, number_field, text
from carecycle.localtime import local
from carecycle.validation import Conflict, Invalid
from casework.models import Client, HouseholdPlanVersion, RegisterEntry
from casework.service.access import visible_clients

TEXT_FIELDS = ("checker", "check_every", "equipment", "phones_fail", "go_to", "key_holder")
LIMIT = 500
MEDICINE_ROWS = 4
MAX_DAYS = 365
LIST_LIMIT = 200  # the emergency list: the first 200, whose medicine runs out soonest


def _clean(data: dict) -> dict:
    errors = Errors()
    content: dict = {name: text(data, name, errors, limit=LIMIT) or "" for name in TEXT_FIELDS}
    if not content["checker"] and "checker" not in errors:
        errors["checker"] = _("Say who checks on them in an emergency (a neighbour, a relative, our team).")
    medicines = []
    rows = data.get("medicines") or []
    if not isinstance(rows, list) or len(rows) > MEDICINE_ROWS * 3:
        errors["medicines"] = _("Must be a list of medicines.")
        rows = []
    for n, given in enumerate(rows):
        row: dict = given if isinstance(given, dict) else {}
        if not row.get("name") and row.get("days") in (None, ""):
            continue  # an empty row of the form
        name = text(row, "name", errors, limit=200, required=True, message=_("Name the medicine."),
                    field=f"medicines[{n}].name") or ""
        days = number_field(row, "days", errors, low=0, high=MAX_DAYS, field=f"medicines[{n}].days")
        if days is None:
            errors[f"medicines[{n}].days"] = _("Enter how many days of it they hold, from 0 to %(n)d.", n=MAX_DAYS)
        medicines.append({"name": name, "days": days})
    errors.check()
    content["medicines"] = medicines
    return content


def versions(client: Client) -> Sequence[HouseholdPlanVersion]:
    """Every version of the client's plan, the latest first."""
    return db.session.scalars(select(HouseholdPlanVersion).where(HouseholdPlanVersion.client_id == client.id)
                              .order_by(HouseholdPlanVersion.number.desc())).all()


def current(client: Client) -> tuple[HouseholdPlanVersion | None, HouseholdPlanVersion | None]:
    """(the latest signed version, the open draft) of the client's plan; either may be None."""
    rows = versions(client)
    return next((v for v in rows if v.signed_at is not None), None), next((v for v in rows if v.signed_at is None),
                                                                          None)


def save_draft(user, client: Client, data: dict, version=None) -> HouseholdPlanVersion:
    """Save the draft (a new one after the last signed version). `version`: the draft's version the
    person saw (0 or None when there was none); a stale one is refused with Conflict."""
    content = _clean(data)
    _signed, draft = current(client)
    if version is not None:  # None: the caller did not say what it saw (no check)
        seen = None if str(version) in ("", "0") else str(version)  # "" or 0: opened with no draft
        now = None if draft is None else str(draft.version)
        if seen != now:
            raise Conflict(_("The plan changed since you opened it: check the latest version."))
    if draft is None:
        number = (db.session.scalar(select(func.max(HouseholdPlanVersion.number))
                                    .where(HouseholdPlanVersion.client_id == client.id)) or 0) + 1
        draft = HouseholdPlanVersion(client_id=client.id, client=client, number=number, created_by_id=user.id)
        db.session.add(draft)
    draft.content = content
    days = [m["days"] for m in content["medicines"] if m["days"] is not None]
    draft.medicine_days = min(days) if days else None
    draft.updated_at = utcnow()
    db.session.flush()
    record_event("update", "household_plan", draft.id, reason=f"draft {draft.number}", actor=user)
    return draft


def sign(user, client: Client, version=None) -> HouseholdPlanVersion:
    _signed, draft = current(client)
    if draft is None:
        raise Invalid({"plan": _("There is no draft to sign: change the plan first.")})
    if version not in (None, "") and str(version) != str(draft.version):
        raise Conflict(_("The plan changed since you opened it: check the latest version."))
    draft.signed_at, draft.signed_by_id = utcnow(), user.id
    db.session.flush()
    record_event("update", "household_plan", draft.id, reason=f"signed {draft.number}", actor=user)
    return draft


# ------------------------------------------------------------------ sharing with the person
def shared_with(client: Client) -> HouseholdPlanVersion | None:
    """The version shared now with the client's resident account, or None."""
    return next((v for v in versions(client) if v.shared), None)


def share(user, client: Client) -> HouseholdPlanVersion:
    """Share the latest signed version with the client's linked resident account, when they ask for
    it; it replaces any version shared before."""
    if client.resident_user_id is None:
        raise Invalid({"share": _("The person has no linked account yet: give them a link code from their case's "
                                  "safety-plan or care-plan page first.")})
    signed, _draft = current(client)
    if signed is None:
        raise Invalid({"share": _("Sign the plan before sharing it.")})
    if signed.shared:
        return signed
    now = utcnow()
    for old in versions(client):
        if old.shared:
            old.share_ended_at = now
    signed.shared_at, signed.shared_by_id, signed.share_ended_at = now, user.id, None
    db.session.flush()
    record_event("share", "household_plan", signed.id, reason=f"version {signed.number}", actor=user)
    return signed


def stop_sharing(user, client: Client) -> HouseholdPlanVersion | None:
    plan = shared_with(client)
    if plan is None:
        return None
    plan.share_ended_at = utcnow()
    db.session.flush()
    record_event("unshare", "household_plan", plan.id, reason=f"version {plan.number}", actor=user)
    return plan


def shared_plan_for(resident) -> HouseholdPlanVersion | None:
    """The household plan shared with this resident (through the client their account is linked to)."""
    return db.session.scalar(
        select(HouseholdPlanVersion).join(Client, Client.id == HouseholdPlanVersion.client_id)
        .where(Client.resident_user_id == resident.id, HouseholdPlanVersion.signed_at.is_not(None),
               HouseholdPlanVersion.shared_at.is_not(None), HouseholdPlanVersion.share_ended_at.is_(None))
        .order_by(HouseholdPlanVersion.shared_at.desc()).limit(1))


def runs_out_on(plan: HouseholdPlanVersion) -> date | None:
    """The day the first medicine runs out: the days held, counted from the day the plan was signed."""
    if plan.medicine_days is None or plan.signed_at is None:
        return None
    return local(plan.signed_at).date() + timedelta(days=plan.medicine_days)


def emergency_list(user, limit: int = LIST_LIMIT) -> list[tuple[Client, HouseholdPlanVersion, RegisterEntry | None,
                                                                date | None]]:
    """The latest signed plans of the clients `user` may see, those whose medicine runs out first at
    the top (then those with none recorded), each with the person's register entry where there is one
    and the day the first medicine runs out."""
    latest = (select(HouseholdPlanVersion.client_id, func.max(HouseholdPlanVersion.number).label("number"))
              .where(HouseholdPlanVersion.signed_at.is_not(None)).group_by(HouseholdPlanVersion.client_id).subquery())
    rows = db.session.execute(
        select(Client, HouseholdPlanVersion)
        .join(HouseholdPlanVersion, HouseholdPlanVersion.client_id == Client.id)
        .join(latest, (latest.c.client_id == HouseholdPlanVersion.client_id)
              & (latest.c.number == HouseholdPlanVersion.number))
        .where(visible_clients(user))).all()
    dated = sorted(((client, plan, runs_out_on(plan)) for client, plan in rows),
                   key=lambda row: (row[2] is None, row[2] or date.max, (row[0].display_name or "").lower()))
    dated = dated[:limit]
    entries = {e.client_id: e for e in db.session.scalars(
        select(RegisterEntry).where(RegisterEntry.client_id.in_([c.id for c, _p, _d in dated]),
                                    RegisterEntry.removed_at.is_(None)))} if dated else {}
    return [(client, plan, entries.get(client.id), day) for client, plan, day in dated]
