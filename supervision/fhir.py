"""The audit trail as FHIR R4 `AuditEvent`, for supervisors: the events of their team's members, as
the audit viewer shows them (supervision.service.audit_view.scope_clause). An event recorded under a
break-glass grant carries the emergency-access purpose of use (v3 ActReason BTG)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from carecycle.accounts.models import User
from carecycle.audit import ACTION_LABELS, AuditEvent, record_event
from carecycle.extensions import db
from carecycle.fhir import (
    Concept,
    FhirError,
    Page,
    code_system_url,
    instant,
    ref_id,
    register_code_system,
    register_resource,
    token_value,
)
from carecycle.lifecycle import NotFound
from carecycle.permissions import Permission
from supervision.service.audit_view import scope_clause

ACTION_SYSTEM = "audit-action"
REST = {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest",
        "display": "RESTful Operation"}
BREAK_GLASS = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "BTG",
               "display": "break the glass"}
# C create, R read, U update, D delete, E execute (anything else)
ACTION_CRUD = {"view": "R", "export": "R", "create": "C", "import": "C", "update": "U", "sign": "U",
               "share": "U", "unshare": "U", "close": "U", "archive": "U", "delete": "D"}
# the record kinds that are FHIR resources of ours: an event about one refers to it
ENTITY_TYPES = {"client": "Patient", "case": "EpisodeOfCare", "referral": "ServiceRequest",
                "risk_assessment": "RiskAssessment", "organisation": "Organization"}
OUTCOMES = {"ok": "0", "denied": "4", "failed": "4", "error": "8"}


def _concepts() -> list[Concept]:
    return [Concept(code, str(label)) for code, label in ACTION_LABELS.items()]


def audit_event(event: AuditEvent, actor: User | None) -> dict:
    agent: dict[str, Any] = {"requestor": True,
                             "who": {"identifier": {"system": "urn:carecycle:user",
                                                    "value": str(event.actor_id) if event.actor_id else "anonymous"}}}
    if actor is not None:
        agent["who"]["display"] = actor.username
    if event.actor_role:
        agent["role"] = [{"text": event.actor_role}]
    resource: dict[str, Any] = {
        "resourceType": "AuditEvent", "id": str(event.seq), "type": REST,
        "subtype": [{"system": code_system_url(ACTION_SYSTEM), "code": event.action}],
        "action": ACTION_CRUD.get(event.action, "E"), "recorded": instant(event.at),
        "outcome": OUTCOMES.get(event.outcome, "4"),
        "agent": [agent], "source": {"observer": {"display": "CareCycle"}},
    }
    if event.reason:
        resource["outcomeDesc"] = event.reason
    if event.grant_id:
        resource["purposeOfEvent"] = [{"coding": [BREAK_GLASS], "text": "Emergency access (break-glass)"}]
        agent["purposeOfUse"] = [{"coding": [BREAK_GLASS]}]
    if event.object_type:
        entity: dict[str, Any] = {"type": {"system": "urn:carecycle:record-type", "code": event.object_type}}
        fhir_type = ENTITY_TYPES.get(event.object_type)
        if fhir_type and event.object_id:
            entity["what"] = {"reference": f"{fhir_type}/{event.object_id}"}
        elif event.object_id:
            entity["what"] = {"identifier": {"system": f"urn:carecycle:{event.object_type}",
                                             "value": event.object_id}}
        resource["entity"] = [entity]
    return resource


def _actors(events: list[AuditEvent]) -> dict:
    ids = {e.actor_id for e in events if e.actor_id}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}


def _scoped(user):
    stmt = select(AuditEvent)
    scope = scope_clause(user)
    return stmt.where(scope) if scope is not None else stmt


def read(record_id: str, user) -> dict:
    if not record_id.isdigit() or len(record_id) > 18:
        raise NotFound("audit_event")
    event = db.session.scalar(_scoped(user).where(AuditEvent.seq == int(record_id)))
    if event is None:
        raise NotFound("audit_event")
    record_event("view", "audit_log", user.team_id, reason=f"FHIR AuditEvent/{event.seq}")
    return audit_event(event, _actors([event]).get(event.actor_id))


def search(params: dict[str, str], user, page: Page) -> tuple[list[dict], bool]:
    stmt = _scoped(user)
    if "patient" in params:
        client_id = ref_id(params["patient"], "Patient")
        if not client_id:
            raise FhirError(400, "patient must be a Patient reference or id.")
        stmt = stmt.where(AuditEvent.object_type == "client", AuditEvent.object_id == client_id.lower())
    if "agent" in params:
        stmt = stmt.where(AuditEvent.actor_id.in_(select(User.id).where(User.username == params["agent"].lower())))
    if "subtype" in params:
        system, code = token_value(params["subtype"])
        if system not in (None, code_system_url(ACTION_SYSTEM)) or code not in ACTION_LABELS:
            raise FhirError(400, f"subtype must be one of the codes of {code_system_url(ACTION_SYSTEM)}.")
        stmt = stmt.where(AuditEvent.action == code)
    if "purpose" in params:
        system, code = token_value(params["purpose"])
        if code != BREAK_GLASS["code"] or system not in (None, BREAK_GLASS["system"]):
            raise FhirError(400, "purpose takes only BTG (break-glass: emergency access).")
        stmt = stmt.where(AuditEvent.grant_id.is_not(None))
    if "before" in params:
        try:
            before = int(params["before"])
        except ValueError:
            raise FhirError(400, "before must be an event's sequence number (a whole number).") from None
    else:
        # the trail grows while it is paged (this search is itself audited): the next link carries the
        # end the first page saw, so later pages do not shift by the events written since
        before = (db.session.scalar(select(func.max(AuditEvent.seq))) or 0) + 1
        params["before"] = str(before)
    stmt = stmt.where(AuditEvent.seq < before)
    rows = list(db.session.scalars(stmt.order_by(AuditEvent.seq.desc()).offset(page.offset).limit(page.count + 1)))
    shown, more = page.window(rows)
    actors = _actors(shown)
    record_event("view", "audit_log", user.team_id, reason="FHIR AuditEvent search")
    return [audit_event(e, actors.get(e.actor_id)) for e in shown], more


def register(app) -> None:
    register_code_system(app, ACTION_SYSTEM, "CareCycle audit actions",
                         "What an audit event records (AuditEvent.subtype).", _concepts)
    register_resource(
        app, "AuditEvent", permission=Permission.CASELOAD_REVIEW, read=read, search=search,
        params={"patient": "Events about this client (Patient reference or id).",
                "agent": "Events by this user (username).",
                "subtype": "The action (CareCycle audit-action code).",
                "purpose": "BTG: events recorded under a break-glass grant (emergency access).",
                "before": "Only events with a lower sequence number (the id); the next link carries the end the "
                          "first page saw, so pages do not shift as the trail grows."},
        param_types={"patient": "reference", "agent": "string", "before": "number"},
        doc="The audit trail of the supervisor's own team, newest first (supervisors only).")
