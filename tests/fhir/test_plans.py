"""RiskAssessment, CarePlan (care plan and safety plan) and Goal: clinical resources never reach
social workers on any route (read, search, $everything); the care plan and its goals do; another
team's records are 404; reads are audited."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from carecycle.audit import AuditEvent
from casework.service import assessments, careplans
from casework.service import safety as safety_service
from tests.casework.recovery_helpers import GOAL, recovery_case
from tests.fhir.helpers import bearer, entries, get

N = False
PLAN = {"warning_signs": "Not sleeping", "professionals": "Counsellor Lee 2345 6789",
        "reasons_for_living": "My cat Mochi"}


@pytest.fixture
def plans(db, make_user, make_case):
    case, counsellor, social = recovery_case(make_user, make_case)
    assessment = assessments.record_assessment(counsellor, case, cssrs=[N, N, None, None, None, N, None],
                                               risk_level="low", rationale="Protective family, no plan")
    careplans.save_plan(social, case, 0, {"goals": [dict(GOAL), {**GOAL, "title": "Return to work",
                                                                   "domain": "income_work"}],
                                          "client_note": "Well done"})
    for reasons in ("My cat Mochi", "My daughter"):
        draft = safety_service.save_draft(counsellor, case, {**PLAN, "reasons_for_living": reasons})
        safety_service.sign(counsellor, case, draft)
    db.session.commit()
    return case, counsellor, social, assessment


def test_a_risk_assessment_carries_the_level_decided(client, db, plans):
    case, counsellor, _social, assessment = plans
    resource = get(client, f"RiskAssessment/{assessment.id}", headers=bearer(counsellor, db))
    risk = resource["prediction"][0]["qualitativeRisk"]["coding"]
    assert {"system": "http://terminology.hl7.org/CodeSystem/risk-probability", "code": "low"} in risk
    assert risk[1]["code"] == "low" and risk[1]["system"].endswith("/fhir/R4/CodeSystem/risk-level")
    assert resource["subject"]["reference"] == f"Patient/{case.client_id}"
    assert resource["prediction"][0]["rationale"] == "Protective family, no plan"
    found = entries(get(client, "RiskAssessment", headers=bearer(counsellor, db), patient=str(case.client_id)))
    assert [r["id"] for r in found] == [str(assessment.id)]
    events = [(e.action, e.object_type, e.object_id) for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.actor_id == counsellor.id))]
    assert ("view", "risk_assessment", str(assessment.id)) in events


def test_care_plan_goals_and_the_signed_safety_plans(client, db, plans):
    case, counsellor, _social, _assessment = plans
    headers = bearer(counsellor, db)
    found = entries(get(client, "CarePlan", headers=headers, patient=f"Patient/{case.client_id}"))
    kinds = [(p["category"][0]["coding"][0]["code"], p["status"]) for p in found]
    assert kinds == [("reintegration", "active"), ("safety-plan", "active"), ("safety-plan", "revoked")]
    care_plan = found[0]
    assert care_plan["description"] == "Well done" and len(care_plan["goal"]) == 2
    newest = found[1]
    sections = {a["detail"]["code"]["coding"][0]["code"]: a["detail"]["description"] for a in newest["activity"]}
    assert sections["reasons_for_living"] == "My daughter" and "on_my_own" not in sections
    goal = get(client, care_plan["goal"][1]["reference"], headers=headers)
    assert goal["category"][0]["coding"][0]["code"] == "income_work" and goal["description"]["text"] == "Return to work"
    domain = entries(get(client, "Goal", headers=headers, patient=str(case.client_id), category="income_work"))
    assert [g["id"] for g in domain] == [goal["id"]]
    only_safety = entries(get(client, "CarePlan", headers=headers, patient=str(case.client_id),
                              category="safety-plan"))
    assert len(only_safety) == 2
    paged = get(client, "CarePlan", headers=headers, patient=str(case.client_id), _count="1")
    assert len(entries(paged)) == 1 and any(link["relation"] == "next" for link in paged["link"])
    get(client, "CarePlan", headers=headers, status=400, category="other")


def test_social_workers_never_receive_clinical_resources(client, db, plans):
    case, _counsellor, social, assessment = plans
    headers = bearer(social, db)
    get(client, f"RiskAssessment/{assessment.id}", headers=headers, status=403)
    get(client, "RiskAssessment", headers=headers, status=403, patient=str(case.client_id))
    found = entries(get(client, "CarePlan", headers=headers, patient=str(case.client_id)))
    assert [p["category"][0]["coding"][0]["code"] for p in found] == ["reintegration"]
    get(client, "CarePlan", headers=headers, status=403, category="safety-plan")
    safety_id = str(safety_service.current_signed(case).id)
    get(client, f"CarePlan/{safety_id}", headers=headers, status=403)
    everything = entries(get(client, f"Patient/{case.client_id}/$everything", headers=headers))
    types = {r["resourceType"] for r in everything}
    assert "RiskAssessment" not in types and "Goal" in types
    assert all(r["category"][0]["coding"][0]["code"] == "reintegration"
               for r in everything if r["resourceType"] == "CarePlan")
    assert "My daughter" not in str(everything)


def test_another_team_sees_none_of_it(client, db, plans, make_user, make_team):
    case, _counsellor, _social, assessment = plans
    headers = bearer(make_user("counsellor", team=make_team()), db)
    get(client, f"RiskAssessment/{assessment.id}", headers=headers, status=404)
    get(client, f"CarePlan/{safety_service.current_signed(case).id}", headers=headers, status=404)
    assert entries(get(client, "CarePlan", headers=headers, patient=str(case.client_id))) == []
    assert entries(get(client, "Goal", headers=headers, patient=str(case.client_id))) == []


def test_everything_for_the_counsellor_holds_the_whole_case(client, db, plans):
    case, counsellor, _social, _assessment = plans
    types = [r["resourceType"] for r in entries(get(client, f"Patient/{case.client_id}/$everything",
                                                     headers=bearer(counsellor, db)))]
    assert types.count("CarePlan") == 3 and types.count("Goal") == 2 and types.count("RiskAssessment") == 1
