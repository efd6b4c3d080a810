"""Vulnerable-person register API: the register with the page's filters, an entry with its history,
adding a client (or adding them back), changing tier and reasons (versioned), taking someone off,
and an entry's outreach log (list and record).

Same service functions and rules as the pages (casework.views.register): REGISTER_MANAGE only
(counsellors, social workers, supervisors; others 403); an entry whose client the caller may not
see answers 404 and is never listed; invalid -> 422 with fields; a stale `version`, an entry
already on (or no longer on) the register -> 409. A red-tier outreach with a concern raises one
urgent triage alert, whose id the answer carries."""
from __future__ import annotations

from flask import request
from flask_login import current_user
from pydantic import Field

from carecycle.api import ApiError, json_body
from carecycle.lifecycle import load_visible
from carecycle.openapi import Closed, Open, Paging, described
from carecycle.permissions import Permission, requires
from carecycle.validation import Conflict
from casework.api import api
from casework.api.common import iso, page_args
from casework.models import register as rows
from casework.service import register as service
from casework.service.triage import users_by_id

MAX_PER_PAGE = 100
TRUE, FALSE = ("1", "true", "y", "yes"), ("", "0", "false", "n", "no")


# ------------------------------------------------------------------ what the endpoints take and answer
class RegisterFilter(Closed):
    page: int = Field(1, ge=1, le=100_000)
    per_page: int = Field(service.PER_PAGE, ge=1, le=MAX_PER_PAGE)
    tier: str | None = Field(None, description="green, yellow, orange or red")
    flag: str | None = Field(None, description="one reason: lives_alone_elderly, disability, chronic_illness, "
                                               "bereaved, frontline_worker, recent_job_loss, previous_self_harm, "
                                               "carer_under_strain or other")
    overdue: str | None = Field(None, description="1, true or y: only those whose next outreach is overdue "
                                                  "(0, false, n or empty: everyone)")


class RegisterEntry(Open):
    """An entry: the client, tier, reasons and the outreach clock as it stands now."""

    id: str
    client_id: str
    client_name: str | None
    client_reference: str
    team_id: str
    tier: str
    flags: list[str]
    flag_other: str | None
    on_register: bool
    created_at: str | None
    updated_at: str | None
    removed_at: str | None
    interval_days: float = Field(description="days between outreach for this tier now (halved in emergency mode)")
    last_outreach_at: str | None
    last_outcome: str | None
    next_due: str | None = Field(description="when the next outreach is due; null once off the register")
    overdue: bool
    version: int


class RegisterChange(Open):
    at: str | None
    kind: str = Field(description="added, updated, noted, removed or readded")
    by: str | None
    tier: str
    previous_tier: str | None
    flags: list[str]
    flag_other: str | None
    note: str | None = Field(description="the note on the change (the reason, for a removal)")


class RegisterEntryDetail(RegisterEntry):
    history: list[RegisterChange] = Field(description="newest first")


class RegisterEntryList(Open):
    entries: list[RegisterEntry]
    page: int
    per_page: int
    pages: int
    total: int
    has_next: bool


class RegisterEntryNew(Closed):
    client_id: str
    tier: str = Field(description="green, yellow, orange or red")
    flags: list[str] = Field(description="the reasons (one at least; see the list's `flag`)")
    flag_other: str | None = Field(None, description="the other reason (up to 200 characters); ticks `other`")
    note: str | None = Field(None, description="why the person is added (up to 2000 characters)")


class RegisterEntryChange(Closed):
    version: int = Field(description="the version you edited; a stale one answers 409")
    tier: str | None = None
    flags: list[str] | None = Field(None, description="the whole list of reasons; sent without `flag_other`, "
                                                      "the other reason is kept only while `other` stays listed")
    flag_other: str | None = None
    note: str | None = Field(None, description="a note on this change (with nothing else: a note in the history)")


class RegisterRemoval(Closed):
    version: int = Field(description="the version you saw; a stale one answers 409")
    reason: str = Field(description="why the person leaves the register (up to 500 characters)")


class RegisterOutreach(Open):
    id: str
    entry_id: str
    at: str | None
    by: str | None
    outcome: str = Field(description="contacted, no_answer, visited or declined")
    concern: bool
    tier: str = Field(description="the entry's tier when it happened")
    note: str | None
    alert_id: str | None = Field(description="the urgent triage alert a red-tier concern raised")


class RegisterOutreachList(Open):
    outreach: list[RegisterOutreach] = Field(description="newest first")
    page: int
    per_page: int
    pages: int
    total: int


class RegisterOutreachPaging(Paging):
    per_page: int = Field(service.PER_PAGE, ge=1, le=MAX_PER_PAGE)


class RegisterOutreachNew(Closed):
    outcome: str = Field(description="contacted, no_answer, visited or declined")
    note: str | None = Field(None, description="up to 2000 characters; needed with a concern")
    concern: bool | None = Field(None, description="true: a concern (a red-tier one alerts the triage queue)")


class RegisterOutreachLogged(RegisterOutreach):
    entry: RegisterEntry = Field(description="the entry after it: last outreach, next due")


# ------------------------------------------------------------------ JSON of the records
def entry_json(entry: rows.RegisterEntry, sched: service.Schedule) -> dict:
    client = entry.client
    return {
        "id": str(entry.id), "client_id": str(entry.client_id), "client_name": client.display_name,
        "client_reference": client.reference, "team_id": str(entry.team_id), "tier": entry.tier,
        "flags": list(entry.flags or []), "flag_other": entry.flag_other, "on_register": entry.on_register,
        "created_at": iso(entry.created_at), "updated_at": iso(entry.updated_at), "removed_at": iso(entry.removed_at),
        "interval_days": sched.interval(entry.tier).total_seconds() / 86400,
        "last_outreach_at": iso(entry.last_outreach_at), "last_outcome": entry.last_outcome,
        "next_due": iso(sched.due(entry)) if entry.on_register else None, "overdue": sched.overdue(entry),
        "version": entry.version,
    }


def change_json(change: rows.RegisterChange, people: dict) -> dict:
    detail = change.detail or {}
    actor = people.get(change.actor_id)
    return {"at": iso(change.at), "kind": change.kind, "by": actor.username if actor else None, "tier": change.tier,
            "previous_tier": change.previous_tier, "flags": list(detail.get("flags") or []),
            "flag_other": detail.get("flag_other"), "note": detail.get("note")}


def outreach_json(row: rows.RegisterOutreach, people: dict) -> dict:
    by = people.get(row.by_id)
    return {"id": str(row.id), "entry_id": str(row.entry_id), "at": iso(row.at), "by": by.username if by else None,
            "outcome": row.outcome, "concern": bool(row.concern), "tier": row.tier, "note": row.note,
            "alert_id": str(row.alert_id) if row.alert_id else None}


def detail_json(entry: rows.RegisterEntry, sched: service.Schedule) -> dict:
    changes = service.entry_changes(entry)
    people = users_by_id(c.actor_id for c in changes)
    return {**entry_json(entry, sched), "history": [change_json(c, people) for c in changes]}


def _overdue_arg() -> bool:
    raw = (request.args.get("overdue") or "").strip().lower()
    if raw in TRUE:
        return True
    if raw in FALSE:
        return False
    raise ApiError(422, "Some fields are not valid.", {"overdue": "1, true or y (or 0, false, n)."})


# ------------------------------------------------------------------ the register
@api.route("/register", methods=["GET"])
@described(query=RegisterFilter, responses={200: RegisterEntryList})
@requires(Permission.REGISTER_MANAGE)
def api_register():
    """The entries on the register whose client the caller may see, next outreach due first.

    Filters as on the page: `?tier=`, `?flag=` (one reason), `?overdue=1`; `?page=`, `?per_page=`
    (1 to 100, default 25). A page past the last answers the last page."""
    page, per_page = page_args(service.PER_PAGE, MAX_PER_PAGE)
    overdue = _overdue_arg()
    listing = service.list_entries(current_user, tier=request.args.get("tier"), flag=request.args.get("flag"),
                                   overdue=overdue, page=page, per_page=per_page)
    sched = service.schedule()
    total = listing.total or 0
    entries = [{**entry_json(row.entry, sched), "next_due": iso(row.due), "overdue": row.overdue}
               for row in listing.items]  # due and overdue as the filter saw them
    return {"entries": entries, "page": listing.page,
            "per_page": per_page, "pages": -(-total // per_page), "total": total, "has_next": listing.has_next}


@api.route("/register", methods=["POST"])
@described(body=RegisterEntryNew, responses={201: RegisterEntryDetail}, errors=(409,))
@requires(Permission.REGISTER_MANAGE)
def api_register_add():
    """Put a client on the register (or back on it, keeping the entry and its history): `client_id`,
    `tier`, `flags`, optional `flag_other` and `note`. The outreach clock starts now.

    A client already on the register answers 409 `already_on_register` with the entry's id in
    `fields.entry_id` (change it with PATCH instead)."""
    body = json_body()
    client_id = body.get("client_id")
    if not isinstance(client_id, str) or not client_id.strip():
        raise ApiError(422, "Some fields are missing.", {"client_id": "Required: the id of a client."})
    client = load_visible("client", client_id.strip(), current_user, audit=False)
    data = {k: body.get(k) for k in ("tier", "flags", "flag_other", "note")}
    try:
        entry = service.add_to_register(current_user, client, data)
    except Conflict as error:
        existing = service.entry_for_client(client)
        if existing is None or not existing.on_register:
            raise
        raise ApiError(409, error.message, {"entry_id": str(existing.id),
                                            "version": f"current version is {existing.version}"},
                       code="already_on_register") from error
    return detail_json(entry, service.schedule()), 201


@api.route("/register/<entry_id>", methods=["GET"])
@described(responses={200: RegisterEntryDetail})
@requires(Permission.REGISTER_MANAGE)
def api_register_entry(entry_id):
    """An entry (also one taken off the register): tier, reasons, interval, last and next outreach, history."""
    entry = load_visible("register_entry", entry_id, current_user)
    return detail_json(entry, service.schedule())


@api.route("/register/<entry_id>", methods=["PATCH"])
@described(body=RegisterEntryChange, responses={200: RegisterEntryDetail}, errors=(409,))
@requires(Permission.REGISTER_MANAGE)
def api_register_change(entry_id):
    """Change tier and reasons: `version` and any of `tier`, `flags`, `flag_other`, `note`; what is
    not sent stays. A stale `version`, or an entry taken off the register, answers 409."""
    entry = load_visible("register_entry", entry_id, current_user, audit=False)
    body = json_body()
    if "version" not in body:
        raise ApiError(422, "Send the version you edited.", {"version": "Required."})
    flags = body["flags"] if "flags" in body else list(entry.flags or [])
    if "flag_other" in body:
        flag_other = body["flag_other"]
    elif "flags" in body:  # a new list of reasons: the described other reason goes with `other`
        keeps_other = isinstance(flags, list) and "other" in flags
        flag_other = entry.flag_other if keeps_other else None
    else:
        flag_other = entry.flag_other
    data = {"tier": body["tier"] if "tier" in body else entry.tier, "flags": flags, "flag_other": flag_other,
            "note": body.get("note")}
    service.update_entry(current_user, entry, body["version"], data)
    return detail_json(entry, service.schedule())


@api.route("/register/<entry_id>/remove", methods=["POST"])
@described(body=RegisterRemoval, responses={200: RegisterEntryDetail}, errors=(409,))
@requires(Permission.REGISTER_MANAGE)
def api_register_remove(entry_id):
    """Take the client off the register, with `version` and a `reason`; the entry and its history
    are kept (add the client back with POST /register). Already off, or a stale `version`: 409."""
    entry = load_visible("register_entry", entry_id, current_user, audit=False)
    body = json_body()
    if "version" not in body:
        raise ApiError(422, "Send the version you saw.", {"version": "Required."})
    service.remove_from_register(current_user, entry, body["version"], body.get("reason"))
    return detail_json(entry, service.schedule())


# ------------------------------------------------------------------ outreach
@api.route("/register/<entry_id>/outreach", methods=["GET"])
@described(query=RegisterOutreachPaging, responses={200: RegisterOutreachList})
@requires(Permission.REGISTER_MANAGE)
def api_register_outreach(entry_id):
    """The entry's outreach log, newest first (`?page=`, `?per_page=` 1 to 100, default 25)."""
    entry = load_visible("register_entry", entry_id, current_user)
    page, per_page = page_args(service.PER_PAGE, MAX_PER_PAGE)
    log = service.outreach_log(entry, page, per_page)
    people = users_by_id(row.by_id for row in log.items)
    return {"outreach": [outreach_json(row, people) for row in log.items], "page": log.page, "per_page": per_page,
            "pages": log.pages, "total": log.total or 0}


@api.route("/register/<entry_id>/outreach", methods=["POST"])
@described(body=RegisterOutreachNew, responses={201: RegisterOutreachLogged}, errors=(409,))
@requires(Permission.REGISTER_MANAGE)
def api_register_outreach_log(entry_id):
    """Log one outreach: `outcome`, optional `note` and `concern` (a concern needs a note). Reaching
    the person (contacted, visited, declined) restarts the clock; a no-answer leaves it running.

    A red-tier concern raises one urgent triage alert (`alert_id`); a concern on another tier is
    logged without one (raise the tier if it needs the triage queue). An entry taken off the
    register answers 409."""
    entry = load_visible("register_entry", entry_id, current_user, audit=False)
    body = json_body()
    concern = body.get("concern")
    row = service.log_outreach(current_user, entry, body.get("outcome"), body.get("note"),
                               False if concern is None else concern)
    sched = service.schedule()
    return {**outreach_json(row, users_by_id([row.by_id])), "entry": entry_json(entry, sched)}, 201
