"""QuestionnaireResponse and Observation for the screenings on a case: the answers map to the
served Questionnaire's linkIds and answer codes, the total carries the LOINC total code and the band;
the answers are clinical (never to social workers, on any route), the total follows the case; another
team's screenings are 404; reads are audited."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from carecycle.audit import AuditEvent
from carecycle.database import utcnow
from casework.service import outcomes
from tests.casework.recovery_helpers import gad7, phq9, recovery_case
from tests.fhir.helpers import bearer, entries, get


@pytest.fixture
def screened(db, make_user, make_case):
    case, counsellor, social = recovery_case(make_user, make_case)
    first, _outcome, _alert = outcomes.record_screening(counsellor, case, "phq9", phq9(17, item9=1),
                                                        taken_at=utcnow() - timedelta(days=30), language="en")
    second, _outcome, _alert = outcomes.record_screening(counsellor, case, "gad7", gad7(6), language="en")
    db.session.commit()
    return case, counsellor, social, first, second


def test_the_answers_follow_the_questionnaire_and_the_total_its_loinc_code(client, db, screened):
    case, counsellor, _social, first, _second = screened
    headers = bearer(counsellor, db)
    response = get(client, f"QuestionnaireResponse/{first.id}", headers=headers)
    assert response["status"] == "completed" and response["subject"]["reference"] == f"Patient/{case.client_id}"
    url, _bar, version = response["questionnaire"].partition("|")
    questionnaire = get(client, url[url.index("/fhir/R4/"):])
    assert questionnaire["id"] == "phq9-en" and version == questionnaire["version"]
    offered = {item["linkId"]: {o["valueCoding"]["code"] for o in item.get("answerOption", [])}
               for item in questionnaire["item"]}
    answers = {item["linkId"]: item["answer"][0]["valueCoding"] for item in response["item"]}
    assert list(answers) == [str(n) for n in range(1, 10)]
    assert all(coding["code"] in offered[link] for link, coding in answers.items())
    assert answers["9"]["code"] == "1" and answers["9"]["display"] == "Several days"

    observation = get(client, f"Observation/{first.id}", headers=headers)
    codes = {(c["system"], c["code"]) for c in observation["code"]["coding"]}
    assert ("http://loinc.org", "44261-6") in codes
    assert observation["valueQuantity"]["value"] == 17
    band = observation["interpretation"][0]["coding"][0]
    assert band["code"] == "phq9-moderately_severe" and band["system"].endswith("/fhir/R4/CodeSystem/screening-band")
    assert observation["derivedFrom"] == [{"reference": f"QuestionnaireResponse/{first.id}"}]
    bands = get(client, "CodeSystem/screening-band")
    assert "phq9-moderately_severe" in {c["code"] for c in bands["concept"]}
    events = {(e.object_type, e.object_id) for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.actor_id == counsellor.id, AuditEvent.action == "view"))}
    assert ("case_screening", str(first.id)) in events


def test_searches_by_patient_questionnaire_and_code(client, db, screened, make_user, make_case):
    case, counsellor, _social, first, second = screened
    other, other_counsellor, _other_social = recovery_case(make_user, make_case)
    third, _outcome, _alert = outcomes.record_screening(other_counsellor, other, "phq9", phq9(3), language="en")
    db.session.commit()
    headers = bearer(counsellor, db)
    mine = entries(get(client, "QuestionnaireResponse", headers=headers, patient=f"Patient/{case.client_id}"))
    assert [r["id"] for r in mine] == [str(second.id), str(first.id)]  # newest first
    url = get(client, "Questionnaire/phq9-en")["url"]
    by_form = entries(get(client, "QuestionnaireResponse", headers=headers, subject=str(case.client_id),
                          questionnaire=url))
    assert [r["id"] for r in by_form] == [str(first.id)]
    by_loinc = entries(get(client, "Observation", headers=headers, patient=str(case.client_id),
                           code="http://loinc.org|70274-6"))
    assert [o["id"] for o in by_loinc] == [str(second.id)]
    by_own = entries(get(client, "Observation", headers=bearer(other_counsellor, db), code="phq9"))
    assert [o["id"] for o in by_own] == [str(third.id)]  # the other counsellor's caseload only
    get(client, "Observation", headers=headers, code="http://loinc.org|0000-0", status=400)
    get(client, "QuestionnaireResponse", headers=headers, questionnaire="nonsense", status=400)
    get(client, "Observation", headers=headers, patient="Group/1", status=400)
    paged = get(client, "Observation", headers=headers, _count=1, patient=str(case.client_id))
    assert len(entries(paged)) == 1 and any(link["relation"] == "next" for link in paged["link"])


def test_social_workers_get_the_totals_but_never_the_answers(client, db, screened):
    case, _counsellor, social, first, _second = screened
    headers = bearer(social, db)
    get(client, f"QuestionnaireResponse/{first.id}", headers=headers, status=403)
    get(client, "QuestionnaireResponse", headers=headers, patient=str(case.client_id), status=403)
    assert get(client, f"Observation/{first.id}", headers=headers)["valueQuantity"]["value"] == 17
    everything = entries(get(client, f"Patient/{case.client_id}/$everything", headers=headers))
    kinds = [r["resourceType"] for r in everything]
    assert kinds.count("Observation") == 2 and "QuestionnaireResponse" not in kinds


def test_another_team_and_roles_without_cases_see_nothing(client, db, screened, make_user):
    case, _counsellor, _social, first, _second = screened
    stranger = make_user("counsellor", team="elsewhere")
    headers = bearer(stranger, db)
    get(client, f"QuestionnaireResponse/{first.id}", headers=headers, status=404)
    get(client, f"Observation/{first.id}", headers=headers, status=404)
    assert entries(get(client, "Observation", headers=headers, patient=str(case.client_id))) == []
    get(client, f"Observation/{first.id}", headers=bearer(make_user("admin"), db), status=403)
    get(client, f"Observation/{first.id}", status=401)


def test_everything_holds_both_for_a_counsellor(client, db, screened):
    case, counsellor, _social, first, _second = screened
    everything = entries(get(client, f"Patient/{case.client_id}/$everything", headers=bearer(counsellor, db)))
    found = {(r["resourceType"], r["id"]) for r in everything}
    assert ("QuestionnaireResponse", str(first.id)) in found and ("Observation", str(first.id)) in found
