"""The risk-assessment and safety-plan API: the pages' rules, through bearer tokens."""
from __future__ import annotations

import uuid

from sqlalchemy import func, select

from carecycle.accounts.service import create_token
from carecycle.audit import AuditEvent
from casework.models import Case, RiskAssessment
from casework.models.safety import SafetyPlanVersion

N, Y = False, True
LOW = [N, N, None, None, None, N, None]
HIGH = [Y, Y, N, Y, N, N, None]


def _headers(db, user) -> dict:
    token = create_token(user)
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def _team(make_user, make_case, db):
    counsellor = make_user("counsellor")
    social = make_user("social_worker", team=counsellor.team)
    supervisor = make_user("supervisor", team=counsellor.team)
    case = make_case(counsellor, social_worker=social)
    return case, {name: _headers(db, user) for name, user in
                  (("counsellor", counsellor), ("social", social), ("supervisor", supervisor))}


def _count(db, model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


# ------------------------------------------------------------------ risk assessments
def test_a_counsellor_records_a_high_risk_assessment_and_the_supervisor_acknowledges_it(client, db, make_user,
                                                                                      make_case):
    case, h = _team(make_user, make_case, db)
    created = client.post(f"/api/v1/cases/{case.id}/risk-assessments", headers=h["counsellor"], json={
        "cssrs": HIGH, "risk_level": "high", "rationale": "Plan with a date; lives alone.",
        "risk_factors": ["previous_attempt"], "protective_factors": ["family_support"]})
    assert created.status_code == 201, created.get_data(as_text=True)
    body = created.get_json()
    assert body["risk_level"] == "high" and body["needs_acknowledgement"] is True and body["cssrs"] == HIGH
    assert body["risk_factors"]["checked"] == ["previous_attempt"] and body["suggested_level"]
    db.session.expire_all()
    assert db.session.get(Case, case.id).risk_level == "high"  # the case follows the assessment

    listed = client.get(f"/api/v1/cases/{case.id}/risk-assessments", headers=h["counsellor"]).get_json()
    assert [a["id"] for a in listed["risk_assessments"]] == [body["id"]]
    one = client.get(f"/api/v1/cases/{case.id}/risk-assessments/{body['id']}", headers=h["counsellor"])
    assert one.status_code == 200 and one.get_json()["rationale"] == "Plan with a date; lives alone."

    pending = client.get("/api/v1/risk-acknowledgements", headers=h["supervisor"]).get_json()
    assert [a["id"] for a in pending["risk_assessments"]] == [body["id"]]
    done = client.post(f"/api/v1/risk-acknowledgements/{body['id']}/acknowledge", headers=h["supervisor"],
                       json={"comment": "Seen; call daily."})
    assert done.status_code == 200 and done.get_json()["acknowledged_at"] is not None
    again = client.post(f"/api/v1/risk-acknowledgements/{body['id']}/acknowledge", headers=h["supervisor"])
    assert again.status_code == 409
    assert client.get("/api/v1/risk-acknowledgements", headers=h["supervisor"]).get_json()["total"] == 0
    row = db.session.get(RiskAssessment, uuid.UUID(body["id"]))
    assert row.acknowledgement_comment == "Seen; call daily."


def test_risk_assessments_are_refused_to_social_workers_and_bad_input_changes_nothing(client, db, make_user,
                                                                                    make_case, make_team):
    case, h = _team(make_user, make_case, db)
    good = {"cssrs": LOW, "risk_level": "low", "rationale": "Settled."}
    assert client.get(f"/api/v1/cases/{case.id}/risk-assessments", headers=h["social"]).status_code == 403
    assert client.post(f"/api/v1/cases/{case.id}/risk-assessments", headers=h["social"],
                       json=good).status_code == 403
    assert client.get("/api/v1/risk-acknowledgements", headers=h["counsellor"]).status_code == 403
    elsewhere = make_case(make_user("counsellor", team=make_team()))
    assert client.post(f"/api/v1/cases/{elsewhere.id}/risk-assessments", headers=h["counsellor"],
                       json=good).status_code == 404
    for body, field in (({**good, "risk_level": "sky-high"}, "risk_level"), ({**good, "rationale": ""}, "rationale"),
                        ({**good, "cssrs": [Y]}, "cssrs"), ({**good, "mood": "ok"}, "mood")):
        refused = client.post(f"/api/v1/cases/{case.id}/risk-assessments", headers=h["counsellor"], json=body)
        assert refused.status_code == 422 and field in refused.get_json()["error"]["fields"], (field, refused.json)
    assert _count(db, RiskAssessment) == 0
    assert client.get(f"/api/v1/cases/{case.id}/risk-assessments").status_code == 401


# ------------------------------------------------------------------ safety plans
def test_a_safety_plan_is_drafted_signed_and_read_through_the_api(client, db, make_user, make_case):
    case, h = _team(make_user, make_case, db)
    url = f"/api/v1/cases/{case.id}/safety-plan"
    empty = client.get(url, headers=h["counsellor"]).get_json()
    assert empty["current"] is None and empty["draft"] is None and empty["versions"] == []
    assert empty["required_to_sign"] == ["warning_signs", "professionals"]

    drafted = client.put(f"{url}/draft", headers=h["supervisor"], json={
        "version": 0, "warning_signs": "Not sleeping; stops answering the phone."})
    assert drafted.status_code == 200, drafted.get_data(as_text=True)
    draft = drafted.get_json()
    assert draft["status"] == "draft" and draft["number"] == 1
    # a supervisor writes drafts but does not sign; a draft missing a required section is not signed
    assert client.post(f"{url}/1/sign", headers=h["supervisor"]).status_code == 403
    missing = client.post(f"{url}/1/sign", headers=h["counsellor"])
    assert missing.status_code == 422 and "professionals" in missing.get_json()["error"]["fields"]
    # a stale version is a conflict and changes nothing
    stale = client.put(f"{url}/draft", headers=h["counsellor"], json={"version": 0, "professionals": "x"})
    assert stale.status_code == 409
    more = client.put(f"{url}/draft", headers=h["counsellor"], json={
        "version": draft["version"], "professionals": "Crisis line 2382 0000, day and night."})
    assert more.status_code == 200
    assert more.get_json()["sections"]["warning_signs"] == "Not sleeping; stops answering the phone."  # kept
    signed = client.post(f"{url}/1/sign", headers=h["counsellor"], json={"version": more.get_json()["version"]})
    assert signed.status_code == 200 and signed.get_json()["status"] == "signed"
    assert client.put(f"{url}/draft", headers=h["counsellor"], json={"version": 1, "on_my_own": "x"}).status_code == 409

    # the social worker on the case reads the signed plan, not drafts, and cannot write one
    seen = client.get(url, headers=h["social"]).get_json()
    assert seen["current"]["sections"]["professionals"].startswith("Crisis line") and seen["draft"] is None
    client.put(f"{url}/draft", headers=h["counsellor"], json={"version": 0, "on_my_own": "Walk by the sea."})
    assert [v["number"] for v in client.get(url, headers=h["social"]).get_json()["versions"]] == [1]
    assert client.get(f"{url}/2", headers=h["social"]).status_code == 404
    assert client.get(f"{url}/2", headers=h["counsellor"]).get_json()["sections"]["on_my_own"] == "Walk by the sea."
    assert client.put(f"{url}/draft", headers=h["social"], json={"version": 0}).status_code == 403
    views = db.session.scalars(select(AuditEvent.object_type).where(AuditEvent.action == "view")).all()
    assert "safety_plan" in views


def test_sharing_needs_a_linked_resident_and_bad_drafts_change_nothing(client, db, make_user, make_case, make_team):
    case, h = _team(make_user, make_case, db)
    url = f"/api/v1/cases/{case.id}/safety-plan"
    refused = client.post(f"{url}/share", headers=h["counsellor"])
    assert refused.status_code == 422 and "share" in refused.get_json()["error"]["fields"]
    for body, field in (({"warning_signs": "x"}, "version"), ({"version": 0, "mood": "x"}, "mood"),
                        ({"version": 0, "warning_signs": "x" * 5000}, "warning_signs"),
                        ({"version": 0}, "warning_signs")):
        answer = client.put(f"{url}/draft", headers=h["counsellor"], json=body)
        assert answer.status_code == 422 and field in answer.get_json()["error"]["fields"], (body, answer.json)
    assert _count(db, SafetyPlanVersion) == 0
    elsewhere = make_case(make_user("counsellor", team=make_team()))
    assert client.get(f"/api/v1/cases/{elsewhere.id}/safety-plan", headers=h["counsellor"]).status_code == 404
    assert client.post(f"{url}/unshare", headers=h["counsellor"]).get_json() == {"shared_number": None}
    assert client.get(url).status_code == 401


def test_a_supervisor_never_acknowledges_their_own_assessment_on_any_route(client, db, make_user, make_case):
    """Separation of duties: the API, the casework page and the approvals queue all refuse it."""
    from tests.conftest import form_post, sign_in
    case, h = _team(make_user, make_case, db)
    own = client.post(f"/api/v1/cases/{case.id}/risk-assessments", headers=h["supervisor"], json={
        "cssrs": HIGH, "risk_level": "high", "rationale": "Seen at the door."}).get_json()
    assert client.post(f"/api/v1/risk-acknowledgements/{own['id']}/acknowledge",
                       headers=h["supervisor"]).status_code == 403
    supervisor = db.session.get(RiskAssessment, uuid.UUID(own["id"])).assessed_by
    assert sign_in(client, supervisor.username).status_code == 302
    form_post(client, f"/cases/risk-acknowledgements/{own['id']}/acknowledge", {},
              page="/cases/risk-acknowledgements")
    decided = form_post(client, f"/supervision/approvals/risk/{own['id']}", {"decision": "acknowledge"},
                        page="/supervision/approvals")
    assert decided.status_code in (302, 403)
    db.session.expire_all()
    assert db.session.get(RiskAssessment, uuid.UUID(own["id"])).acknowledged_at is None
    denied = db.session.scalars(select(AuditEvent.reason).where(AuditEvent.action == "permission_denied")).all()
    assert "own risk_assessment" in denied


def test_the_pages_offer_no_acknowledge_button_on_ones_own_assessment(client, db, make_user, make_case):
    from tests.conftest import sign_in
    case, h = _team(make_user, make_case, db)
    own = client.post(f"/api/v1/cases/{case.id}/risk-assessments", headers=h["supervisor"], json={
        "cssrs": HIGH, "risk_level": "high", "rationale": "Seen at the door."}).get_json()
    supervisor = db.session.get(RiskAssessment, uuid.UUID(own["id"])).assessed_by
    assert sign_in(client, supervisor.username).status_code == 302
    for page in ("/cases/risk-acknowledgements", f"/cases/{case.id}/assessments/{own['id']}"):
        text = client.get(page).get_data(as_text=True)
        assert "another supervisor must acknowledge it" in text, page
        assert f"/cases/risk-acknowledgements/{own['id']}/acknowledge" not in text, page
