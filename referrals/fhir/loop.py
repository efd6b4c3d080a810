"""Outbound referrals as FHIR R4 `ServiceRequest` (the request) and `Task` (its fulfilment, shaped
after the HL7 SDOH Clinical Care Task for referral management), both with the referral's id, and
partner organisations' tokens (referrals.service.partner_tokens) closing the loop.

Staff: the referral pages' permission (REFERRALS_MANAGE: counsellors, social workers, supervisors)
and their visibility (visible_referrals); every read is audited as a view of the referral. A
partner's token sees only the sent referrals addressed to its organisation (others are 404), and
what the partner link shows: the reason and the fields the client consented to share, until the
referral ends. A Task is answered by PUT or PATCH (status, statusReason, output only) under the
partner link's lifecycle rules (referrals.service.referrals.change_status); staff may also cancel.
"""
from __future__ import annotations

from typing import Any

from flask import request
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from carecycle.audit import record_event, record_view
from carecycle.extensions import db
from carecycle.fhir import FhirError, Page, Partner, instant, ref, ref_id, register_resource
from carecycle.lifecycle import NotFound, load_visible
from carecycle.permissions import Permission, role_has
from casework.models import Case
from casework.service.access import visible_cases
from referrals.enums import CloseReason, ReferralStatus
from referrals.models import Referral, Service
from referrals.service import sharing
from referrals.service.common import TransitionRefused, as_uuid
from referrals.service.referrals import change_status, visible_referrals

S = ReferralStatus

# referral status -> ServiceRequest.status (request-status) and Task.status (task-status)
REQUEST_STATUS = {S.DRAFT: "draft", S.SENT: "active", S.ACKNOWLEDGED: "active", S.ACCEPTED: "active",
                  S.IN_SERVICE: "active", S.COMPLETED: "completed", S.DECLINED: "revoked", S.CLOSED: "revoked"}
TASK_STATUS = {S.DRAFT: "draft", S.SENT: "requested", S.ACKNOWLEDGED: "received", S.ACCEPTED: "accepted",
               S.DECLINED: "rejected", S.IN_SERVICE: "in-progress", S.COMPLETED: "completed", S.CLOSED: "cancelled"}
# Task.status an update may ask for -> the referral's move
TASK_MOVES = {"received": S.ACKNOWLEDGED, "accepted": S.ACCEPTED, "rejected": S.DECLINED,
              "in-progress": S.IN_SERVICE, "completed": S.COMPLETED, "cancelled": S.CLOSED}
FHIR_TASK_STATUSES = ("draft", "requested", "received", "accepted", "rejected", "ready", "cancelled",
                      "in-progress", "on-hold", "failed", "completed", "entered-in-error")
PRIORITY = {"routine": "routine", "urgent": "urgent", "emergency": "stat"}
TASK_CODE = {"coding": [{"system": "http://hl7.org/fhir/CodeSystem/task-code", "code": "fulfill",
                         "display": "Fulfill the focal request"}]}
CHANGEABLE = {"status", "statusReason", "output"}
SERVER_SET = {"meta", "text", "lastModified", "businessStatus", "executionPeriod"}  # follow the status


# ------------------------------------------------------------------ who sees what
_LOADED = (selectinload(Referral.service).selectinload(Service.organisation), selectinload(Referral.created_by),
           selectinload(Referral.team))


def _is_partner(who) -> bool:
    return isinstance(who, Partner)


def _visible(who):
    """A WHERE clause: the referrals `who` may see (a partner: the sent ones addressed to its organisation)."""
    if _is_partner(who):
        return (Referral.service_id.in_(select(Service.id).where(Service.organisation_id == who.organisation_id))
                & (Referral.status != S.DRAFT.value))
    return visible_referrals(who)


def _visible_of_client(who, client_id):
    """The same as `_visible`, narrowed to one client: staff visibility is checked on that client's
    cases only (found through the client index), not by listing every case the caller may see."""
    if _is_partner(who):
        return _visible(who) & (Referral.client_id == client_id)
    return (Referral.client_id == client_id) & Referral.case_id.in_(
        select(Case.id).where(Case.client_id == client_id, visible_cases(who)))


def _audit_view(referral: Referral, who) -> None:
    if _is_partner(who):
        record_event("view", "referral", referral.id, reason=f"fhir_partner_token:{who.token_id}")
    else:
        record_view("referral", referral.id)


def _load(record_id: str, who, *, audit: bool = True) -> Referral:
    if not _is_partner(who):
        referral = load_visible("referral", record_id, who, audit=audit)
        load_visible("case", referral.case_id, who, audit=False)  # notes a break-glass grant in use
        return referral
    rid = as_uuid(record_id)
    referral = db.session.scalar(select(Referral).where(Referral.id == rid, _visible(who))) if rid else None
    if referral is None:
        raise NotFound("referral")
    if audit:
        _audit_view(referral, who)
    return referral


# ------------------------------------------------------------------ mapping
def _requester(referral: Referral) -> dict:
    return {"display": f"{referral.created_by.name}, {referral.team.name}"}


def _organisation(referral: Referral) -> dict:
    org = referral.service.organisation
    return ref("Organization", org.id, org.name)


def _shows_shared(referral: Referral, who) -> bool:
    """A partner sees the shared fields while the referral is open, as through the link."""
    return not (_is_partner(who) and referral.status_enum.final)


def _subject(referral: Referral, who) -> dict:
    values = sharing.shared_values(referral) if _shows_shared(referral, who) else {}
    name = values.get("full_name") or values.get("preferred_name")
    return ref("Patient", referral.client_id, name if isinstance(name, str) else None)


def service_request(referral: Referral, who) -> dict:
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest", "id": str(referral.id),
        "meta": {"versionId": str(referral.version), "lastUpdated": instant(referral.updated_at)},
        "status": REQUEST_STATUS[referral.status_enum], "intent": "order",
        "priority": PRIORITY.get(referral.urgency, "routine"),
        "code": {"text": referral.service.name},
        "subject": _subject(referral, who),
        "authoredOn": instant(referral.sent_at or referral.created_at),
        "requester": _requester(referral),
        "performer": [_organisation(referral), ref("HealthcareService", referral.service_id, referral.service.name)],
    }
    if _shows_shared(referral, who):
        if referral.reason:
            resource["reasonCode"] = [{"text": referral.reason}]
        notes = [{"text": f"{line.label}: {line.value}"} for line in sharing.shared_lines(referral) if line.value]
        if notes:
            resource["note"] = notes
    if referral.goal_id and not _is_partner(who):
        resource["supportingInfo"] = [ref("Goal", referral.goal_id)]
    return resource


def _business_status(referral: Referral) -> dict:
    label = str(referral.status_enum.label)
    if referral.status_enum is S.CLOSED and referral.close_reason:
        try:
            label = f"{label}: {CloseReason(referral.close_reason).label}"
        except ValueError:
            pass
    return {"coding": [{"system": "urn:carecycle:referral-status", "code": referral.status}], "text": label}


def task(referral: Referral, who) -> dict:
    status = referral.status_enum
    resource: dict[str, Any] = {
        "resourceType": "Task", "id": str(referral.id),
        "meta": {"versionId": str(referral.version), "lastUpdated": instant(referral.updated_at)},
        "status": TASK_STATUS[status], "businessStatus": _business_status(referral),
        "intent": "order", "priority": PRIORITY.get(referral.urgency, "routine"), "code": TASK_CODE,
        "focus": ref("ServiceRequest", referral.id), "for": _subject(referral, who),
        "authoredOn": instant(referral.created_at), "lastModified": instant(referral.updated_at),
        "requester": _requester(referral), "owner": _organisation(referral),
    }
    if referral.sent_at:
        period = {"start": instant(referral.sent_at)}
        if referral.finished_at:
            period["end"] = instant(referral.finished_at)
        resource["executionPeriod"] = period
    if status is S.DECLINED and referral.outcome:
        resource["statusReason"] = {"text": referral.outcome}
    if status is S.CLOSED and referral.outcome:
        resource["statusReason"] = {"text": referral.outcome}
    if status is S.COMPLETED and referral.outcome:
        resource["output"] = [{"type": {"text": "Outcome"}, "valueString": referral.outcome}]
    return resource


# ------------------------------------------------------------------ reads and searches
def read_service_request(record_id: str, who) -> dict:
    return service_request(_load(record_id, who), who)


def read_task(record_id: str, who) -> dict:
    return task(_load(record_id, who), who)


def _reference(params: dict[str, str], name: str, resource_type: str):
    if name not in params:
        return None
    found = as_uuid(ref_id(params[name], resource_type))
    if found is None:
        raise FhirError(400, _("%(name)s must be a %(type)s reference (%(type)s/<id>) or an id.",
                               name=name, type=resource_type))
    return found


def _statuses(params: dict[str, str], mapping: dict) -> list[str] | None:
    if "status" not in params:
        return None
    wanted = params["status"]
    codes = sorted(set(mapping.values()))
    if wanted not in codes:
        raise FhirError(400, _("status must be one of: %(codes)s.", codes=", ".join(codes)))
    return [s.value for s, code in mapping.items() if code == wanted]


def _search(params: dict[str, str], who, page: Page, mapping: dict, org_param: str) -> tuple[list, bool]:
    patient = _reference(params, "patient", "Patient")
    stmt = (select(Referral).where(_visible(who) if patient is None else _visible_of_client(who, patient))
            .options(*_LOADED))
    org = _reference(params, org_param, "Organization")
    if org is not None:
        stmt = stmt.where(Referral.service_id.in_(select(Service.id).where(Service.organisation_id == org)))
    focus = _reference(params, "focus", "ServiceRequest")
    if focus is not None:
        stmt = stmt.where(Referral.id == focus)
    statuses = _statuses(params, mapping)
    if statuses is not None:
        stmt = stmt.where(Referral.status.in_(statuses))
    rows, more = page.window(list(db.session.scalars(
        stmt.order_by(Referral.created_at.desc(), Referral.id).offset(page.offset).limit(page.count + 1))))
    for referral in rows:
        _audit_view(referral, who)
    return rows, more


def search_service_requests(params: dict[str, str], who, page: Page) -> tuple[list[dict], bool]:
    rows, more = _search(params, who, page, REQUEST_STATUS, "performer")
    return [service_request(r, who) for r in rows], more


def search_tasks(params: dict[str, str], who, page: Page) -> tuple[list[dict], bool]:
    rows, more = _search(params, who, page, TASK_STATUS, "owner")
    return [task(r, who) for r in rows], more


# ------------------------------------------------------------------ answering a Task
def _text_of(value, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("text", ""), str):
        raise FhirError(422, _("%(name)s must be a CodeableConcept with a text.", name=name), "invalid")
    return value.get("text") or None


def _output_note(value) -> str | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise FhirError(422, _("output must be a list of {\"type\": ..., \"valueString\": ...}."), "invalid")
    notes = [item.get("valueString") for item in value if item.get("valueString") is not None]
    if not all(isinstance(note, str) for note in notes):
        raise FhirError(422, _("output must be a list of {\"type\": ..., \"valueString\": ...}."), "invalid")
    return "\n".join(note for note in notes if note.strip()) or None


def _check_body(body: dict, current: dict, method: str, record_id: str) -> None:
    if body.get("resourceType", "Task") != "Task" or str(body.get("id", record_id)) != record_id:
        raise FhirError(400, _("The body must be this Task (resourceType Task, id %(id)s).", id=record_id[:60]))
    if method == "PATCH":
        unknown = sorted(set(body) - CHANGEABLE - {"resourceType", "id"})
        if unknown:
            raise FhirError(422, _("Only status, statusReason and output can be changed; not %(names)s.",
                                   names=", ".join(n[:40] for n in unknown[:5])), "invalid")
        return
    if body.get("resourceType") != "Task" or "id" not in body:
        raise FhirError(400, _("The body must be this Task (resourceType Task, id %(id)s).", id=record_id[:60]))
    changed = sorted(key for key in (set(body) | set(current)) - CHANGEABLE - SERVER_SET
                     if body.get(key) != current.get(key))
    if changed:
        raise FhirError(422, _("Only status, statusReason and output can be changed; not %(names)s.",
                               names=", ".join(n[:40] for n in changed[:5])), "invalid")


def _check_version(referral: Referral) -> None:
    wanted = request.headers.get("If-Match")
    if wanted is not None and wanted.strip().removeprefix("W/").strip('"') != str(referral.version):
        raise FhirError(412, _("The Task changed since you read it (version %(version)s now).",
                               version=referral.version), "conflict")


def update_task(record_id: str, body: dict, who, method: str) -> dict:
    """Move the referral as the Task's new status asks (the partner link's rules; staff may cancel)."""
    referral = _load(record_id, who, audit=False)
    _check_version(referral)
    current = task(referral, who)
    _check_body(body, current, method, record_id)
    status = body.get("status", current["status"])
    if not isinstance(status, str) or status not in FHIR_TASK_STATUSES:
        raise FhirError(422, _("status must be one of: %(codes)s.", codes=", ".join(TASK_MOVES)), "invalid")
    reason = _text_of(body.get("statusReason"), "statusReason")
    output = _output_note(body.get("output"))
    if status == current["status"]:
        if reason == _text_of(current.get("statusReason"), "statusReason") and \
                output == _output_note(current.get("output")):
            return current  # the same answer again (a retried PUT): nothing to do
        raise TransitionRefused(_("This Task is already %(status)s.", status=status))
    target = TASK_MOVES.get(status)
    if target is None:
        raise TransitionRefused(_("A Task that is %(current)s cannot become %(target)s.",
                                  current=current["status"], target=status))
    note = output if target is S.COMPLETED else reason if target in (S.DECLINED, S.CLOSED) else (reason or output)
    from_status = referral.status
    partner = _is_partner(who)
    change_status(None if partner else who, referral, target.value, note=note,
                  close_reason=CloseReason.WITHDRAWN.value if target is S.CLOSED else None,
                  via_partner_link=partner)
    record_event("partner_action" if partner else "update", "referral", referral.id,
                 reason=f"fhir_task{':partner_token:' + str(who.token_id) if partner else ''} "
                        f"status:{from_status}->{target.value}")
    return task(referral, who)


# ------------------------------------------------------------------ $everything
def everything(client, user) -> list[dict]:
    """The client's referrals the caller may see (the referral pages' permission), each a ServiceRequest and
    its Task."""
    if _is_partner(user) or not role_has(user.role, Permission.REFERRALS_MANAGE):
        return []
    rows = list(db.session.scalars(select(Referral).where(_visible_of_client(user, client.id)).options(*_LOADED)
                                   .order_by(Referral.created_at)))
    resources: list[dict] = []
    for referral in rows:
        _audit_view(referral, user)
        resources += [service_request(referral, user), task(referral, user)]
    return resources


def register(app) -> None:
    from carecycle.fhir import PartnerTokens, add_everything, add_partner_tokens, add_token_resolver
    from referrals.service import partner_tokens

    patient = {"patient": "The client's (Patient reference or id)."}
    status_doc = "The status ({codes})."
    register_resource(
        app, "ServiceRequest", permission=Permission.REFERRALS_MANAGE, read=read_service_request,
        search=search_service_requests, partner=True,
        params={**patient, "performer": "The partner organisation's (Organization reference or id).",
                "status": status_doc.format(codes=", ".join(sorted(set(REQUEST_STATUS.values()))))},
        param_types={"patient": "reference", "performer": "reference"},
        doc="An outbound referral to a partner service: the reason and only the fields the client consented to "
            "share. Staff who manage referrals see their cases' referrals; a partner token only those sent to its "
            "organisation.")
    register_resource(
        app, "Task", permission=Permission.REFERRALS_MANAGE, read=read_task, search=search_tasks, partner=True,
        update=update_task,
        params={**patient, "owner": "The partner organisation's (Organization reference or id).",
                "focus": "The referral's ServiceRequest (reference or id).",
                "status": status_doc.format(codes=", ".join(sorted(set(TASK_STATUS.values()))))},
        param_types={"patient": "reference", "owner": "reference", "focus": "reference"},
        doc="The fulfilment of a referral (SDOH Clinical Care task for referral management). PUT or PATCH "
            "status (received, accepted, rejected with statusReason, in-progress, completed with output; "
            "cancelled: staff only), statusReason and output; an invalid move is a 409.")
    add_everything(app, everything)
    add_token_resolver(app, partner_tokens.resolve)
    add_partner_tokens(app, PartnerTokens(create=partner_tokens.create_token, list=partner_tokens.list_tokens,
                                          revoke=partner_tokens.revoke))
