"""Clients as FHIR `Patient`, their cases as `EpisodeOfCare`, their consents as `Consent`.

The same visibility as the pages and /api/v1 (casework.service.access): a client or case the caller
may not see is a 404. A Patient is found by exact values only, through the blind indexes, as the
client search page does (`identifier` = ID number, `telecom` = phone, `name` = full name); nothing
lists every client. Reads are audited as views of the client, case or consent.
"""
from __future__ import annotations

from typing import Any

from flask import g
from sqlalchemy import select

from carecycle.audit import record_view
from carecycle.extensions import db
from carecycle.fhir import (
    Concept,
    FhirError,
    Page,
    code_system_url,
    instant,
    ref,
    ref_id,
    register_code_system,
    register_resource,
    token_value,
)
from carecycle.lifecycle import NotFound, load_visible
from carecycle.permissions import Permission
from carecycle.urls import as_uuid
from casework.enums import LABELS, ConsentScope, Phase
from casework.models import Case, Client, Consent
from casework.service.access import visible_cases, visible_clients
from casework.service.clients import search_clients

ID_NUMBER_SYSTEM = "urn:carecycle:id-number"
REFERENCE_SYSTEM = "urn:carecycle:client-reference"
TEAM_SYSTEM = "urn:carecycle:team"
USER_SYSTEM = "urn:carecycle:user"
PHASE_SYSTEM = "case-phase"
CONSENT_SCOPE_SYSTEM = "consent-scope"
GENDERS = {"female": "female", "male": "male", "intersex": "other", "not_stated": "unknown"}
# a case's phase as EpisodeOfCare.status, and back (for ?status=)
EPISODE_STATUS = {Phase.INTAKE.value: "planned", Phase.CRISIS.value: "active", Phase.RECOVERY.value: "active",
                  Phase.CLOSED.value: "finished"}
CONSENT_SCOPE_TEXT = {ConsentScope.CONTACT.value: "Contact by the service",
                      ConsentScope.DATA_PROCESSING.value: "Processing of personal data",
                      ConsentScope.REFERRAL_SHARING.value: "Sharing with referral partners"}
LANGUAGES = {"zh_Hant": "zh-Hant", "zh_Hans": "zh-Hans"}


def _language(code: str | None) -> str | None:
    if not code or code == "other":
        return None
    return LANGUAGES.get(code, code.replace("_", "-"))


# ------------------------------------------------------------------ Patient
def patient(client: Client) -> dict:
    resource: dict[str, Any] = {
        "resourceType": "Patient", "id": str(client.id),
        "meta": {"versionId": str(client.version), "lastUpdated": instant(client.updated_at)},
        "identifier": [{"use": "secondary", "system": REFERENCE_SYSTEM, "value": client.reference}],
        "active": True,
        "name": [{"use": "official", "text": client.full_name}],
    }
    if client.id_number:
        resource["identifier"].insert(0, {"use": "official", "system": ID_NUMBER_SYSTEM, "value": client.id_number})
    if client.preferred_name:
        resource["name"].append({"use": "usual", "text": client.preferred_name})
    if client.phone:
        resource["telecom"] = [{"system": "phone", "value": client.phone}]
    if client.sex in GENDERS:
        resource["gender"] = GENDERS[client.sex]
    if client.date_of_birth:
        resource["birthDate"] = client.date_of_birth
    if client.address:
        resource["address"] = [{"text": client.address}]
    if client.emergency_contact:
        resource["contact"] = [{"relationship": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0131",
                                                              "code": "C", "display": "Emergency Contact"}]}],
                                "name": {"text": client.emergency_contact}}]
    language = _language(client.preferred_language)
    if language:
        resource["communication"] = [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": language}]},
                                      "preferred": True}]
    if client.gender:
        resource["extension"] = [{"url": "http://hl7.org/fhir/StructureDefinition/individual-genderIdentity",
                                  "extension": [{"url": "value", "valueCodeableConcept": {"text": client.gender}}]}]
    return resource


def read_patient(record_id: str, user) -> dict:
    client = load_visible("client", record_id, user)
    g.fhir_patient_record = client
    return patient(client)


def _exact(value: str, systems: tuple[str, ...], what: str) -> str:
    system, code = token_value(value)
    if system not in (None, *systems) or not code.strip():
        raise FhirError(400, f"{what} takes a value, or {systems[0]}|value.")
    return code


def search_patients(params: dict[str, str], user, page: Page) -> tuple[list[dict], bool]:
    criteria: dict[str, str] = {}
    if "identifier" in params:
        criteria["id_number"] = _exact(params["identifier"], (ID_NUMBER_SYSTEM,), "identifier")
    if "telecom" in params:
        criteria["phone"] = _exact(params["telecom"], ("phone",), "telecom")
    if "name" in params:
        criteria["name"] = params["name"]
    if not criteria:
        raise FhirError(400, "Search by identifier (ID number), telecom (phone) or name (full name), exact values "
                             "only: a client is never listed by browsing.")
    found = list(search_clients(user, **criteria))
    shown = found[page.offset:page.offset + page.count]
    return [patient(c) for c in shown], len(found) > page.offset + page.count


# ------------------------------------------------------------------ EpisodeOfCare
def episode(case: Case) -> dict:
    resource: dict[str, Any] = {
        "resourceType": "EpisodeOfCare", "id": str(case.id),
        "meta": {"versionId": str(case.version)},
        "status": EPISODE_STATUS.get(case.phase, "active"),
        "type": [{"coding": [{"system": code_system_url(PHASE_SYSTEM), "code": case.phase,
                              "display": str(LABELS.get((Phase, case.phase), case.phase))}]}],
        "patient": ref("Patient", case.client_id),
        "managingOrganization": {"identifier": {"system": TEAM_SYSTEM, "value": str(case.team_id)},
                                 "display": case.team.name},
        "period": {"start": instant(case.opened_at)},
    }
    if case.closed_at:
        resource["period"]["end"] = instant(case.closed_at)
    manager = case.counsellor or case.social_worker
    if manager is not None:
        resource["careManager"] = {"identifier": {"system": USER_SYSTEM, "value": str(manager.id)},
                                   "display": manager.name}
    return resource


def read_episode(record_id: str, user) -> dict:
    return episode(load_visible("case", record_id, user))


def _patient_param(params: dict[str, str]):
    client_id = as_uuid(ref_id(params["patient"], "Patient"))
    if client_id is None:
        raise FhirError(400, "patient must be a Patient reference (Patient/<id>) or an id.")
    return client_id


def search_episodes(params: dict[str, str], user, page: Page) -> tuple[list[dict], bool]:
    stmt = select(Case).where(visible_cases(user))
    if "patient" in params:
        stmt = stmt.where(Case.client_id == _patient_param(params))
    if "status" in params:
        phases = [phase for phase, status in EPISODE_STATUS.items() if status == params["status"]]
        if params["status"] not in {*EPISODE_STATUS.values(), "waitlist", "onhold", "cancelled", "entered-in-error"}:
            raise FhirError(400, "status must be an EpisodeOfCare status: planned, active or finished.")
        stmt = stmt.where(Case.phase.in_(phases))
    rows = list(db.session.scalars(stmt.order_by(Case.opened_at.desc(), Case.id)
                                   .offset(page.offset).limit(page.count + 1)))
    shown, more = page.window(rows)
    return [episode(c) for c in shown], more


# ------------------------------------------------------------------ Consent
def consent(row: Consent) -> dict:
    resource: dict[str, Any] = {
        "resourceType": "Consent", "id": str(row.id),
        "status": "active" if row.current else "inactive",
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy",
                              "display": "Privacy Consent"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0", "display": "Patient Consent"},
                                 {"system": code_system_url(CONSENT_SCOPE_SYSTEM), "code": row.scope,
                                  "display": CONSENT_SCOPE_TEXT.get(row.scope, row.scope)}]}],
        "patient": ref("Patient", row.client_id),
        "dateTime": instant(row.recorded_at),
        "policyRule": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN"}]},
        "provision": {"type": "permit", "period": {"start": instant(row.recorded_at)}},
    }
    if row.withdrawn_at:
        resource["provision"]["period"]["end"] = instant(row.withdrawn_at)
    return resource


def _visible_consents(user):
    return select(Consent).join(Client, Client.id == Consent.client_id).where(visible_clients(user))


def read_consent(record_id: str, user) -> dict:
    rid = as_uuid(record_id)
    row = db.session.scalar(_visible_consents(user).where(Consent.id == rid)) if rid else None
    if row is None:
        raise NotFound("consent")
    record_view("consent", row.id)
    return consent(row)


CONSENT_STATUSES = {"active", "inactive", "draft", "proposed", "rejected", "entered-in-error"}


def search_consents(params: dict[str, str], user, page: Page) -> tuple[list[dict], bool]:
    stmt = _visible_consents(user)
    if "patient" in params:
        stmt = stmt.where(Consent.client_id == _patient_param(params))
    if "status" in params:
        if params["status"] not in CONSENT_STATUSES:
            raise FhirError(400, "status must be a Consent status: active (current) or inactive (withdrawn).")
        if params["status"] == "active":
            stmt = stmt.where(Consent.withdrawn_at.is_(None))
        elif params["status"] == "inactive":
            stmt = stmt.where(Consent.withdrawn_at.is_not(None))
        else:
            return [], False
    rows = list(db.session.scalars(stmt.order_by(Consent.recorded_at.desc(), Consent.id)
                                   .offset(page.offset).limit(page.count + 1)))
    shown, more = page.window(rows)
    return [consent(c) for c in shown], more


# ------------------------------------------------------------------ $everything
def everything(client: Client, user) -> list[dict]:
    """The client's cases the caller may see, and the client's consents (visible with the client)."""
    cases = list(db.session.scalars(select(Case).where(Case.client_id == client.id, visible_cases(user))
                                    .order_by(Case.opened_at)))
    for case in cases:
        record_view("case", case.id)
    return [*(episode(c) for c in cases), *(consent(c) for c in client.consents)]


def register(app) -> None:
    from carecycle.fhir import add_everything

    register_code_system(app, PHASE_SYSTEM, "CareCycle case phases",
                         "The phase of a case (EpisodeOfCare.type): intake, crisis intervention, social "
                         "reintegration (recovery), closed.",
                         lambda: [Concept(p.value, str(LABELS.get((Phase, p.value), p.value))) for p in Phase])
    register_code_system(app, CONSENT_SCOPE_SYSTEM, "CareCycle consent scopes",
                         "What a client consented to (Consent.category).",
                         [Concept(code, text) for code, text in CONSENT_SCOPE_TEXT.items()])
    register_resource(
        app, "Patient", permission=Permission.CLIENTS_VIEW, read=read_patient, search=search_patients,
        params={"identifier": f"The ID number, exact ({ID_NUMBER_SYSTEM}|value or value).",
                "telecom": "The phone number, exact (phone|value or value).",
                "name": "The full name, exact."},
        param_types={"name": "string"}, audit_as="client",
        doc="A client, found by exact values only (blind-index search); staff of the client's team and of "
            "their cases.")
    register_resource(
        app, "EpisodeOfCare", permission=Permission.CASES_VIEW, read=read_episode, search=search_episodes,
        params={"patient": "The client's cases (Patient reference or id).",
                "status": "planned (intake), active (crisis or recovery) or finished (closed)."},
        param_types={"patient": "reference"}, audit_as="case",
        doc="A case: its phase, period, care manager and team; the cases the caller may open.")
    register_resource(
        app, "Consent", permission=Permission.CLIENTS_VIEW, read=read_consent, search=search_consents,
        params={"patient": "The client's consents (Patient reference or id).",
                "status": "active (current) or inactive (withdrawn)."},
        param_types={"patient": "reference"}, audit_as="consent",
        doc="Each consent a client gave (contact, data processing, sharing with referral partners), with "
            "its period; a withdrawn consent is inactive and its period ends.")
    add_everything(app, everything)
