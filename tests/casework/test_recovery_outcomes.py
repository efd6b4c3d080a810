"""Outcomes over time: the change markers at their exact thresholds, the outcome in words, screenings
recorded with the client or linked from the client's own account, the deterioration and crisis
alerts, the re-screening schedule, the outcomes API and the chart page."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from carecycle.alerts import Alert
from carecycle.audit import AuditEvent
from carecycle.database import utcnow
from carecycle.validation import Conflict, Invalid
from casework.models import CaseScreening, Task
from casework.service import outcomes
from casework.service.outcomes import markers, outcome_statement
from screening.models import ScreeningResult
from tests.casework.recovery_helpers import bearer, gad7, phq9, recovery_case, who5
from tests.conftest import form_post, sign_in


# ------------------------------------------------------------------ markers at their exact thresholds
@pytest.mark.parametrize("baseline, latest, expected", [
    (17, 11, ["reliable_improvement"]),               # improvement of exactly 6 (11 > 17 / 2: no response)
    (17, 12, []),                                     # 5: not reliable (the MCID, context only)
    (8, 14, ["reliable_deterioration"]),              # deterioration of exactly 6
    (8, 13, []),                                      # 5: not reliable
    (10, 4, ["reliable_improvement", "remission", "response"]),  # baseline exactly 10, latest 4 < 5
    (10, 5, ["response"]),                            # latest 5 is not < 5: no remission; 5 <= 10 / 2: response
    (9, 0, ["reliable_improvement"]),                 # baseline 9 < 10: neither remission nor response
    (11, 5, ["reliable_improvement", "response"]),    # 5 <= 5.5
    (11, 6, []),                                      # 6 > 5.5: no response, improvement 5 < 6
    (12, 6, ["reliable_improvement", "response"]),    # exactly half
    (12, 7, []),                                      # more than half, improvement 5
])
def test_phq9_markers_at_thresholds(baseline, latest, expected):
    assert markers("phq9", baseline, latest) == expected


@pytest.mark.parametrize("baseline, latest, expected", [
    (12, 8, ["reliable_improvement"]), (12, 9, []), (5, 9, ["reliable_deterioration"]), (5, 8, []),
])
def test_gad7_markers_at_thresholds(baseline, latest, expected):
    assert markers("gad7", baseline, latest) == expected


@pytest.mark.parametrize("baseline, latest, expected", [
    (40, 30, ["reliable_improvement"]), (40, 31, []), (20, 30, ["reliable_deterioration"]), (20, 29, []),
])
def test_pcl5_markers_at_thresholds(baseline, latest, expected):
    assert markers("pcl5", baseline, latest) == expected


def test_who5_compares_percentages_and_higher_is_better():
    # raw x 4: +3 raw = +12 %, +2 raw = +8 %
    assert markers("who5", 10, 13) == ["reliable_improvement"]
    assert markers("who5", 10, 12) == []
    assert markers("who5", 13, 10) == ["reliable_deterioration"]
    assert markers("who5", 12, 10) == []
    # exactly 10 percentage points (with a factor that reaches it) is reliable; just under is not
    assert markers("who5", 10, 15, percentage_factor=2) == ["reliable_improvement"]
    assert markers("who5", 10, 14, percentage_factor=2) == []
    assert markers("who5", 15, 10, percentage_factor=2) == ["reliable_deterioration"]


def test_other_instruments_get_no_markers():
    assert markers("k10", 40, 10) == [] and markers("phq2", 6, 0) == [] and markers("auditc", 10, 0) == []


def test_outcome_in_words(app):
    with app.test_request_context():
        assert outcome_statement("PHQ-9", "phq9", [17, 12, 8]) == "PHQ-9 reliably improved: 17 -> 8 (response)"
        assert outcome_statement("PHQ-9", "phq9", [17, 4]) == \
            "PHQ-9 reliably improved: 17 -> 4 (remission, response)"
        assert outcome_statement("PHQ-9", "phq9", [9, 15]) == "PHQ-9 reliably deteriorated: 9 -> 15"
        assert outcome_statement("PHQ-9", "phq9", [12, 11]) == "PHQ-9: no reliable change, 12 -> 11"
        assert outcome_statement("WHO-5", "who5", [7, 16], 4) == "WHO-5 reliably improved: 28% -> 64%"
        assert outcome_statement("PHQ-9", "phq9", [14]) == "PHQ-9: one score so far, 14"


# ------------------------------------------------------------------ recording, baseline and latest
def _record(worker, case, db, instrument, answers, days_ago=0):
    link, outcome, alert = outcomes.record_screening(worker, case, instrument, answers,
                                                     taken_at=utcnow() - timedelta(days=days_ago))
    db.session.commit()
    return link, outcome, alert


def test_baseline_is_the_first_score_taken_and_latest_the_last(db, make_user, make_case):
    case, counsellor, _social = recovery_case(make_user, make_case)
    _record(counsellor, case, db, "phq9", phq9(8), days_ago=1)
    _record(counsellor, case, db, "phq9", phq9(17), days_ago=60)   # entered late, taken first: the baseline
    _record(counsellor, case, db, "phq9", phq9(12), days_ago=30)
    (found,) = outcomes.outcomes_of(case)
    assert [r.score for r in found.results] == [17, 12, 8]
    assert found.markers == ["reliable_improvement", "response"]
    assert "PHQ-9 reliably improved: 17 -> 8" in found.statement


def test_worker_screening_is_scored_like_self_screening_and_stored_without_identity(db, make_user, make_case):
    case, counsellor, _social = recovery_case(make_user, make_case)
    link, outcome, _alert = _record(counsellor, case, db, "phq9", phq9(14))
    result = db.session.get(ScreeningResult, link.result_id)
    assert (result.score, result.band, result.user_id) == (14, "moderate", None)
    assert outcome.band == "moderate" and result.answers == phq9(14)
    raw = db.session.execute(select(ScreeningResult.__table__.c.answers).where(
        ScreeningResult.id == result.id)).scalar_one()
    assert raw.startswith("ccv1:")  # the answers are encrypted


def test_invalid_answers_store_nothing(db, make_user, make_case):
    case, counsellor, _social = recovery_case(make_user, make_case)
    with pytest.raises(Invalid) as refused:
        outcomes.record_screening(counsellor, case, "phq9", phq9(10)[:8] + [7])
    assert "answers[8]" in refused.value.fields
    db.session.rollback()
    assert db.session.scalar(select(CaseScreening.id)) is None
    with pytest.raises(Invalid) as refused:
        outcomes.record_screening(counsellor, case, "cssrs", [False] * 7)
    assert "instrument" in refused.value.fields


# ------------------------------------------------------------------ the deterioration and crisis alerts
def test_reliable_deterioration_raises_a_triage_alert_on_the_case(db, make_user, make_case):
    case, counsellor, _social = recovery_case(make_user, make_case)
    _record(counsellor, case, db, "phq9", phq9(9), days_ago=30)
    _link, _o, alert = _record(counsellor, case, db, "phq9", phq9(14))   # +5: not reliable
    assert alert is None and db.session.scalar(select(Alert.id)) is None
    link, _o, alert = _record(counsellor, case, db, "phq9", phq9(15))    # +6 from the baseline
    assert alert is not None
    stored = db.session.get(Alert, alert.id)
    assert (stored.kind, stored.urgency, stored.subject_type, stored.subject_id, stored.team_id) == \
        ("rescreen", "urgent", "case", str(case.id), case.team_id)
    assert "9 -> 15" in stored.summary_text
    assert db.session.get(CaseScreening, link.id).alert_id == alert.id
    assert any(e.kind == "rescreen_alert" for e in case.events)


def test_who5_deterioration_in_percent_raises_an_alert(db, make_user, make_case):
    case, counsellor, _social = recovery_case(make_user, make_case)
    _record(counsellor, case, db, "who5", who5(15), days_ago=30)
    assert _record(counsellor, case, db, "who5", who5(13))[2] is None       # -8 %
    assert _record(counsellor, case, db, "who5", who5(12))[2] is not None   # -12 %


def test_a_crisis_answer_raises_a_crisis_alert_even_without_deterioration(db, make_user, make_case):
    case, counsellor, _social = recovery_case(make_user, make_case)
    _record(counsellor, case, db, "phq9", phq9(12), days_ago=30)
    _link, outcome, alert = _record(counsellor, case, db, "phq9", phq9(6, item9=1))
    assert outcome.crisis and alert is not None
    assert (alert.kind, alert.urgency) == ("rescreen", "crisis")


def test_improvement_raises_no_alert(db, make_user, make_case):
    case, counsellor, _social = recovery_case(make_user, make_case)
    _record(counsellor, case, db, "gad7", gad7(15), days_ago=30)
    assert _record(counsellor, case, db, "gad7", gad7(5))[2] is None


# ------------------------------------------------------------------ the client's own self-screenings
def _self_screening(db, resident, total):
    result = ScreeningResult(instrument="phq9", instrument_version="1", score=total, band="moderate", flags="",
                             crisis=False, language="en", user_id=resident.id)
    result.answers = phq9(total)
    db.session.add(result)
    db.session.commit()
    return result


def test_linking_the_clients_own_self_screening(db, make_user, make_case):
    case, counsellor, _social = recovery_case(make_user, make_case)
    resident, stranger = make_user("resident"), make_user("resident")
    case.client.resident_user_id = resident.id
    db.session.commit()
    own, foreign = _self_screening(db, resident, 13), _self_screening(db, stranger, 11)
    assert [r.id for r in outcomes.resident_screenings(case)] == [own.id]
    with pytest.raises(Invalid):
        outcomes.link_self_screening(counsellor, case, foreign.id)  # someone else's: refused like a missing one
    with pytest.raises(Invalid):
        outcomes.link_self_screening(counsellor, case, "not-a-uuid")
    link, _alert = outcomes.link_self_screening(counsellor, case, own.id)
    db.session.commit()
    assert link.source == "self" and outcomes.resident_screenings(case) == []
    with pytest.raises(Conflict):
        outcomes.link_self_screening(counsellor, case, own.id)


# ------------------------------------------------------------------ re-screening schedule
def test_due_rescreens_are_tasks_and_a_recorded_screening_moves_them(db, make_user, make_case):
    case, counsellor, _social = recovery_case(make_user, make_case)
    _record(counsellor, case, db, "phq9", phq9(12), days_ago=10)
    schedule = outcomes.set_schedule(counsellor, case, "phq9", 4)
    outcomes.set_schedule(counsellor, case, "who5", 4)
    db.session.commit()
    due = db.session.scalars(select(Task).where(Task.case_id == case.id, Task.kind == "rescreen",
                                                Task.done_at.is_(None)).order_by(Task.due_at)).all()
    assert len(due) == 2
    assert abs(due[1].due_at - (utcnow() + timedelta(days=18))) < timedelta(minutes=1)  # PHQ-9: 28 days after
    assert abs(due[0].due_at - utcnow()) < timedelta(minutes=1)                          # WHO-5: none yet, due now
    assert due[1].assigned_to_id == counsellor.id and due[1].note == "PHQ-9"
    first_task = schedule.task_id
    _record(counsellor, case, db, "phq9", phq9(10))
    db.session.expire_all()
    assert db.session.get(Task, first_task).done_at is not None
    nxt = db.session.get(Task, db.session.get(type(schedule), schedule.id).task_id)
    assert nxt.done_at is None and abs(nxt.due_at - (utcnow() + timedelta(days=28))) < timedelta(minutes=1)
    with pytest.raises(Invalid):
        outcomes.set_schedule(counsellor, case, "phq9", 0)
    outcomes.stop_schedule(counsellor, case, "phq9")
    db.session.commit()
    assert db.session.get(Task, nxt.id).done_at is not None


# ------------------------------------------------------------------ API and pages
def test_api_screenings_and_outcomes(client, db, make_user, make_case):
    case, counsellor, _social = recovery_case(make_user, make_case)
    headers = bearer(counsellor)
    first = client.post(f"/api/v1/cases/{case.id}/screenings", headers=headers,
                        json={"instrument": "phq9", "answers": phq9(17),
                              "taken_at": (utcnow() - timedelta(days=28)).isoformat()})
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert (body["score"], body["band"], body["crisis"], body["source"], body["markers"]) == \
        (17, "moderately_severe", False, "worker", [])
    second = client.post(f"/api/v1/cases/{case.id}/screenings", headers=headers,
                         json={"instrument": "phq9", "answers": phq9(8)})
    assert second.status_code == 201 and second.get_json()["markers"] == ["reliable_improvement", "response"]
    bad = client.post(f"/api/v1/cases/{case.id}/screenings", headers=headers,
                      json={"instrument": "phq9", "answers": [0, 0, 0]})
    assert bad.status_code == 422 and "answers[3]" in bad.get_json()["error"]["fields"]
    assert client.post(f"/api/v1/cases/{case.id}/screenings", headers=headers,
                       json={"instrument": "phq9", "answers": phq9(3), "colour": "red"}).status_code == 422
    answer = client.get(f"/api/v1/cases/{case.id}/outcomes", headers=headers)
    assert answer.status_code == 200
    assert answer.get_json() == {"instruments": [{
        "instrument": "phq9", "markers": ["reliable_improvement", "response"],
        "points": [{"at": p["at"], "score": s} for p, s in zip(answer.get_json()["instruments"][0]["points"],
                                                                [17, 8], strict=True)]}]}
    assert db.session.scalar(select(CaseScreening.id).where(CaseScreening.case_id == case.id).limit(1))


def test_api_outcomes_is_404_for_an_invisible_case_and_403_for_a_resident(client, db, make_user, make_case):
    case, _counsellor, _social = recovery_case(make_user, make_case)
    other = make_user("counsellor", team="elsewhere")
    assert client.get(f"/api/v1/cases/{case.id}/outcomes", headers=bearer(other)).status_code == 404
    assert client.post(f"/api/v1/cases/{case.id}/screenings", headers=bearer(other),
                       json={"instrument": "phq9", "answers": phq9(3)}).status_code == 404
    assert client.get(f"/api/v1/cases/{case.id}/outcomes", headers=bearer(make_user("resident"))).status_code == 403


def test_outcomes_page_has_an_svg_chart_a_table_and_no_inline_style(client, db, make_user, make_case):
    case, counsellor, _social = recovery_case(make_user, make_case)
    _record(counsellor, case, db, "phq9", phq9(17), days_ago=28)
    _record(counsellor, case, db, "phq9", phq9(8))
    sign_in(client, counsellor.username)
    page = client.get(f"/cases/{case.id}/outcomes").get_data(as_text=True)
    assert "<svg" in page and "<polyline" in page and "<table" in page
    assert 'class="baseline"' in page  # the first score on the case, drawn dashed
    assert "PHQ-9 reliably improved: 17 -&gt; 8" in page
    assert "style=" not in page
    summary = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "PHQ-9 reliably improved: 17 -&gt; 8" in summary   # the case summary states the outcome in words
    views = db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "case_outcomes")).all()
    assert views == ["view"]


def test_screening_form_records_and_shows_item_errors(client, db, make_user, make_case):
    case, counsellor, _social = recovery_case(make_user, make_case)
    sign_in(client, counsellor.username)
    path = f"/cases/{case.id}/screenings/new/phq9"
    data = {f"item-{n + 1}": str(v) for n, v in enumerate(phq9(11))}
    missing = dict(data)
    missing.pop("item-4")
    refused = form_post(client, path, missing)
    assert refused.status_code == 400 and "Item 4 must be answered" in refused.get_data(as_text=True)
    assert db.session.scalar(select(CaseScreening.id)) is None
    assert form_post(client, path, data).status_code == 302
    db.session.expire_all()
    (found,) = outcomes.outcomes_of(case)
    assert found.results[0].score == 11
    assert client.get(f"/cases/{case.id}/screenings/new/cssrs").status_code == 404
