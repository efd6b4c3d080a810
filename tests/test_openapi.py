"""GET /api/v1/openapi.json: an OpenAPI 3.1 document of every /api/v1 route, checked with the
specification's own validator, and the answers of real calls checked against it."""
from __future__ import annotations

import re
import uuid

import pytest
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from carecycle.accounts.service import create_token
from carecycle.alerts import raise_alert
from carecycle.notifications import notify
from casework.models import Case as CaseRow
from casework.service import assessments as assessment_service
from casework.service import notes as note_service
from casework.service import register as register_service
from casework.service import safety as safety_service
from referrals.models import InboundReferral

METHODS = {"get", "post", "put", "patch", "delete"}


def _document(client) -> dict:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def test_the_document_is_public_and_valid_openapi_3_1(client, db):
    document = _document(client)
    assert document["openapi"].startswith("3.1")
    validate(document)  # openapi-spec-validator: raises on any departure from the specification
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "description": document["components"]["securitySchemes"]["bearer"][
            "description"]}


def test_every_api_route_and_method_is_in_the_document(app, client, db):
    paths = _document(client)["paths"]
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            if method.lower() not in paths.get(path, {}):
                missing.append(f"{method} {rule.rule}")
    assert missing == []
    assert len(paths) >= 30


def test_each_operation_documents_its_errors_with_the_one_error_shape(client, db):
    document = _document(client)
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            statuses = operation["responses"]
            public = {} in operation["security"]
            assert public or {"401", "403"} <= set(statuses), (method, path)
            if "{" in path:
                assert "404" in statuses, (method, path)
            if "requestBody" in operation:
                assert {"400", "422"} <= set(statuses), (method, path)
            for status, answer in statuses.items():
                if status.startswith(("4", "5")):
                    assert answer["content"]["application/json"]["schema"] == {
                        "$ref": "#/components/schemas/Error"}, (method, path, status)


# ------------------------------------------------------------------ a world to call the API in
@pytest.fixture
def world(make_user, make_case, make_referral, db):
    counsellor = make_user("counsellor")
    social = make_user("social_worker", team=counsellor.team)
    supervisor = make_user("supervisor", team=counsellor.team)
    case = make_case(counsellor, social_worker=social)
    referral = make_referral(social, case=case)
    note = note_service.create_note(counsellor, case, {"kind": "casework", "mode": "phone", "duration_minutes": 10,
                                                       "body": "Called to check in."})
    notification = notify(counsellor, "case_assigned", "/cases")
    inbound = InboundReferral(relation="neighbour")
    inbound.person_name, inbound.concern = "Mr Cheung", "Not eating"
    db.session.add(inbound)
    assessment = assessment_service.record_assessment(counsellor, case, cssrs=[True, True, False, True, False,
                                                                             False, None],
                                                      risk_level="high", rationale="A plan with a date.")
    plan = safety_service.save_draft(counsellor, case, {"warning_signs": "Stops answering."}, 0)
    alert = raise_alert("rescreen", "urgent", subject_type="case", subject_id=case.id, team_id=counsellor.team_id)
    entry = register_service.add_to_register(counsellor, case.client, {"tier": "orange", "flags": ["bereaved"]})
    from carecycle.database import utcnow
    from casework.models import FollowUp, Task
    task = Task(case_id=case.id, kind="review", due_at=utcnow(), assigned_to_id=counsellor.id)
    follow_up = FollowUp(case_id=case.id, months=1, closed_at=utcnow(), due_at=utcnow())
    db.session.add_all([task, follow_up])
    from casework.service import groups as group_service
    group = group_service.create_group(counsellor, {"name": "Carers", "kind": "carers", "facilitator": "Sam",
                                                    "schedule": "Mondays 18:00"})
    group_session = group_service.add_session(counsellor, group, day=str(case.opened_at.date()), at="18:00")
    member = group_service.enrol(counsellor, group, case)
    db.session.commit()
    consent_id = str(case.client.consents[0].id)
    ids = {"case_id": str(case.id), "client_id": str(case.client_id), "note_id": str(note.id),
           "referral_id": str(referral.id), "alert_id": str(alert.id), "consent_id": consent_id,
           "instrument_id": "phq9", "notification_id": str(notification.id), "inbound_id": str(inbound.id),
           "assessment_id": str(assessment.id), "number": plan.number, "kind": "risk",
           "item_id": str(assessment.id), "worker_id": str(counsellor.id), "entry_id": str(entry.id),
           "group_id": str(group.id), "session_id": str(group_session.id), "member_id": str(member.id)}
    ids.update(task_id=str(task.id), follow_up_id=str(follow_up.id))
    from referrals.service import volunteers as volunteer_service
    crew = volunteer_service.save_team(None, {"name": "Crew", "kind": "crisis_response",
                                              "team_id": str(counsellor.team_id)})  # held by the supervisor's team
    volunteer = volunteer_service.save_member(None, crew, {"full_name": "Ho Wing Sze", "phone": "5550 1001"})
    training = volunteer_service.save_training(None, {"name": "First aid", "validity_months": 24})
    ids.update(volunteer_team_id=str(crew.id), volunteer_id=str(volunteer.id), training_id=str(training.id))
    from referrals.service import agreements as agreement_service
    agreement = agreement_service.create_agreement(None, referral.service.organisation, {
        "title": "Emergency shelter", "valid_from": "2026-01-01", "valid_to": "2030-12-31",
        "commitments": [{"side": "partner", "quantity": 10, "unit": "beds", "what": "shelter"}],
        "contacts": [{"name": "Chan Mei Ling", "phone": "555-0161", "role": "Duty officer"}]})
    ids.update(org_id=str(referral.service.organisation_id), agreement_id=str(agreement.id))
    from referrals.service import reserves as reserve_service
    reserve = reserve_service.create_item(social, {"level": "service", "kind": "food", "name": "Rice",
                                                   "unit": "kg", "quantity": 40, "low_at": 10,
                                                   "expires_on": "2030-01-01"})
    ids.update(reserve_id=str(reserve.id))
    from datetime import timedelta

    from carecycle.mode import ModeChange
    from referrals.models import Activation
    started = ModeChange(mode="emergency", reason="Typhoon", switched_at=utcnow() - timedelta(days=2))
    ended = ModeChange(mode="normal", reason="Over", switched_at=utcnow() - timedelta(days=1))
    db.session.add_all([started, ended])
    db.session.flush()
    activation = Activation(team_id=social.team_id, period_id=started.id, agreement_id=agreement.id, commitment=0,
                            what="10 beds shelter", unit="beds", promised=10, status="promised",
                            called_at=utcnow() - timedelta(days=2), called_by_id=social.id)
    activation.contact = "Chan Mei Ling"
    db.session.add(activation)
    ids.update(activation_id=str(activation.id))
    from casework.service import procedures as procedure_service
    procedure = procedure_service.create(supervisor, {"applies_to": "register_tier", "applies_value": "orange",
                                                      "title": "First contact", "items": ["Call", "Visit"]})
    ids.update(procedure_id=str(procedure.id), subject_type="register_entry", subject_id=str(entry.id))
    from casework.service import groupplans
    group_plan = groupplans.create(social, {"name": "Block 4", "kind": "building", "meeting_point": "Lobby"})
    groupplans.add_member(social, group_plan, case.client)
    ids.update(plan_id=str(group_plan.id))
    from supervision.service import recovery
    recovery_plan = recovery.create(supervisor, {"title": "After the storm", "area": "Riverside", "incident": "Storm",
                                                 "started_on": "2026-01-01", "ended_on": "2026-01-03"})
    recovery_action = recovery.add_action(supervisor, recovery_plan, {"description": "Outreach",
                                                                      "owner_id": str(social.id),
                                                                      "due_on": "2026-02-01"})
    ids.update(recovery_id=str(recovery_plan.id), action_id=str(recovery_action.id))
    tokens = {name: create_token(user) for name, user in
              (("counsellor", counsellor), ("social_worker", social), ("supervisor", supervisor))}
    db.session.commit()
    return ids, tokens


def _operations(document):
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method in METHODS:
                yield path, method, operation


def _call(client, method, url, token, **kwargs):
    return client.open(url, method=method.upper(), headers={"Authorization": f"Bearer {token}"}, **kwargs)


def test_every_operation_refuses_an_unknown_field_with_422_naming_it(client, world, db):
    """The one rule for a field an endpoint does not take: 422, `error.fields` naming it, nothing changed."""
    ids, tokens = world
    document = _document(client)
    checked = []
    for path, method, operation in _operations(document):
        body = operation.get("requestBody")
        if body is None or body["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/HsdsFile"}:
            continue
        url = path.format(**ids)
        answers = []
        for role in ("counsellor", "social_worker", "supervisor"):
            response = _call(client, method, url, tokens[role], json={"surprise_field": 1})
            answers.append(response.status_code)
            if response.status_code not in (401, 403, 404):
                break
        assert response.status_code == 422, (method, path, answers, response.get_data(as_text=True))
        assert response.get_json()["error"]["fields"] == {"surprise_field": "Unknown field."}, (method, path)
        checked.append((method, path))
    assert len(checked) >= 18


def _validator(document, schema) -> OAS31Validator:
    """A validator of `schema` (a $ref into the document), resolving the document's own refs."""
    registry: Registry = Registry().with_resource("urn:doc", Resource.from_contents(
        document, default_specification=DRAFT202012))
    return OAS31Validator({"$ref": "urn:doc" + schema["$ref"]}, registry=registry)


def test_answers_of_real_calls_match_the_document(client, world, db):
    """Every GET answers 200 with a body its documented schema accepts (the roles that may call it)."""
    ids, tokens = world
    document = _document(client)
    checked = []
    for path, method, operation in _operations(document):
        if method != "get" or path == "/api/v1/openapi.json":
            continue
        url = path.format(**ids)
        if path == "/api/v1/clients":
            url += "?name=Alex Example"
        for role in ("counsellor", "social_worker", "supervisor"):
            response = _call(client, method, url, tokens[role])
            if response.status_code == 200:
                break
        assert response.status_code == 200, (path, response.get_data(as_text=True))
        schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
        errors = sorted(e.message for e in _validator(document, schema).iter_errors(response.get_json()))
        assert errors == [], (path, errors[:3])
        checked.append(path)
    assert len(checked) >= 15


def test_an_error_answer_matches_the_error_shape(client, world, db):
    ids, tokens = world
    document = _document(client)
    response = _call(client, "post", "/api/v1/cases", tokens["counsellor"], json={"client_id": ids["client_id"]})
    assert response.status_code == 422
    schema = {"$ref": "#/components/schemas/Error"}
    assert list(_validator(document, schema).iter_errors(response.get_json())) == []
    assert list(_validator(document, schema).iter_errors({"error": "flat"})) != []  # the check can fail


def test_answers_of_real_writes_match_the_document(client, world, db, make_service):
    """A valid request to each kind of write, and its answer checked against the documented schema
    of the status it got."""
    ids, tokens = world
    document = _document(client)
    service = make_service(tier=3)
    case = db.session.get(CaseRow, uuid.UUID(ids["case_id"]))
    case.phase = "recovery"  # the care plan is written in recovery
    db.session.commit()
    case_version = client.get(f"/api/v1/cases/{ids['case_id']}",
                              headers={"Authorization": f"Bearer {tokens['counsellor']}"}).get_json()["version"]
    steps = [
        ("counsellor", "post", "/api/v1/clients", {"full_name": "Chan Tai Man", "phone": "+852 5550 4321"}, 201),
        ("counsellor", "post", "/api/v1/clients/{client_id}/consents", {"scope": "data_processing"}, 201),
        ("counsellor", "patch", "/api/v1/cases/{case_id}", {"version": case_version, "priority": "high"}, 200),
        ("counsellor", "post", "/api/v1/cases/{case_id}/notes", {"kind": "casework", "mode": "phone",
                                                                  "duration_minutes": 5, "body": "Rang."}, 201),
        ("counsellor", "post", "/api/v1/cases/{case_id}/notes/{note_id}/sign", {}, 200),
        ("counsellor", "post", "/api/v1/cases/{case_id}/notes/{note_id}/addenda", {"body": "Also texted."}, 201),
        ("counsellor", "post", "/api/v1/cases/{case_id}/screenings",
         {"instrument": "gad7", "answers": [1] * 7}, 201),
        ("social_worker", "put", "/api/v1/cases/{case_id}/care-plan",
         {"version": 0, "client_note": "Steady steps.", "goals": [{"domain": "housing", "title": "Stay housed"}]},
         200),
        ("social_worker", "post", "/api/v1/cases/{case_id}/referrals",
         {"service_id": str(service.id), "reason": "Food support.", "urgency": "routine", "share": []}, 201),
        ("social_worker", "post", "/api/v1/referrals/{referral_id}/status", {"status": "sent"}, 200),
        ("social_worker", "post", "/api/v1/referrals/{referral_id}/partner-link", {}, 201),
        ("social_worker", "delete", "/api/v1/referrals/{referral_id}/partner-link", {}, 200),
        ("counsellor", "post", "/api/v1/triage/{alert_id}/claim", {}, 200),
        ("counsellor", "post", "/api/v1/notifications/{notification_id}/read", {}, 200),
        ("counsellor", "post", "/api/v1/notifications/read-all", {}, 200),
        ("supervisor", "post", "/api/v1/mode", {"mode": "emergency", "reason": "Typhoon signal 8."}, 200),
        (None, "post", "/api/v1/screenings", {"instrument": "phq9", "answers": [0] * 9},
         201),
    ]
    for role, method, path, body, expected in steps:
        url = path.format(**ids)
        headers = {"Authorization": f"Bearer {tokens[role]}"} if role else {}
        response = client.open(url, method=method.upper(), headers=headers, json=body)
        assert response.status_code == expected, (method, path, response.get_data(as_text=True))
        answers = document["paths"][path][method]["responses"]
        schema = answers[str(expected)]["content"]["application/json"]["schema"]
        errors = sorted(e.message for e in _validator(document, schema).iter_errors(response.get_json()))
        assert errors == [], (method, path, errors[:3])
