"""Closure and follow-up: the outcome snapshot kept with the closure (the approval rule still
applies), follow-ups at 1, 3 and 6 months as tasks, closed cases read-only except follow-ups, and a
follow-up that finds deterioration or a crisis reopening the case into triage with its history."""
from datetime import UTC, datetime, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from carecycle.alerts import Alert
from carecycle.database import utcnow
from carecycle.validation import Conflict, Invalid
from casework.models import Case, ClosureRequest, FollowUp, Task
from casework.service import careplans, followup, outcomes, phases
from casework.service.caseload import my_day
from casework.service.cases import update_case
from tests.casework.recovery_helpers import GOAL, bearer, phq9, recovery_case
from tests.conftest import form_post, sign_in

SUMMARY = "Back at work part time and sleeping well; knows how to reach us."


def _closed_case(db, make_user, make_case, scores=(14, 8)):
    case, counsellor, social = recovery_case(make_user, make_case)
    careplans.save_plan(social, case, 0, {"goals": [{**GOAL, "status": "achieved"}, dict(GOAL)]})
    for position, score in enumerate(scores):
        outcomes.record_screening(counsellor, case, "phq9", phq9(score),
                                  taken_at=utcnow() - timedelta(days=28 * (len(scores) - 1 - position), hours=1))
    db.session.commit()
    assert phases.request_closure(social, case, case.version, SUMMARY, "goals_achieved") is None
    db.session.commit()
    return case, counsellor, social


def test_add_months_keeps_the_day_or_takes_the_last_of_a_shorter_month():
    start = datetime(2027, 1, 31, 10, 0, tzinfo=UTC)
    assert followup.add_months(start, 1) == datetime(2027, 2, 28, 10, 0, tzinfo=UTC)
    assert followup.add_months(start, 3) == datetime(2027, 4, 30, 10, 0, tzinfo=UTC)
    assert followup.add_months(datetime(2027, 8, 15, tzinfo=UTC), 6) == \
        datetime(2028, 2, 15, tzinfo=UTC)


def test_closing_stores_the_outcome_snapshot_and_schedules_follow_ups(db, make_user, make_case):
    case, counsellor, social = recovery_case(make_user, make_case)
    careplans.save_plan(social, case, 0, {"goals": [{**GOAL, "status": "achieved"}, dict(GOAL)]})
    outcomes.record_screening(counsellor, case, "phq9", phq9(17), taken_at=utcnow() - timedelta(days=56))
    outcomes.record_screening(counsellor, case, "phq9", phq9(8))
    outcomes.set_schedule(counsellor, case, "phq9", 4)
    careplans.schedule_review(social, case, (careplans.local_today() + timedelta(days=10)).isoformat())
    db.session.commit()
    phases.request_closure(social, case, case.version, SUMMARY, "goals_achieved")
    db.session.commit()
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    snap = case.outcome_snapshot
    (phq,) = snap["instruments"]
    assert (phq["instrument"], phq["baseline"], phq["latest"], phq["markers"]) == \
        ("phq9", 17, 8, ["reliable_improvement", "response"])
    assert snap["goals"]["achieved"] == 1 and snap["goals"]["not_started"] == 1
    tasks = db.session.scalars(select(Task).where(Task.case_id == case.id, Task.kind == "follow_up")
                               .order_by(Task.due_at)).all()
    assert [t.due_at for t in tasks] == [followup.add_months(case.closed_at, m) for m in (1, 3, 6)]
    assert all(t.assigned_to_id == social.id and t.done_at is None for t in tasks)
    follow_ups = db.session.scalars(select(FollowUp).where(FollowUp.case_id == case.id)
                                    .order_by(FollowUp.months)).all()
    assert [f.months for f in follow_ups] == [1, 3, 6] and {f.task_id for f in follow_ups} == {t.id for t in tasks}
    # the re-screening and review tasks stop at closure
    assert db.session.scalars(select(Task).where(Task.case_id == case.id, Task.kind.in_(["rescreen", "review"]),
                                                 Task.done_at.is_(None))).all() == []
    assert any(e.kind == "follow_ups_scheduled" and "17 -> 8" in (e.detail or "") for e in case.events)


def test_closure_needing_approval_keeps_the_snapshot_and_schedules_on_approval(db, make_user, make_case):
    case, counsellor, social = recovery_case(make_user, make_case, risk_level="moderate")
    supervisor = make_user("supervisor")
    outcomes.record_screening(counsellor, case, "phq9", phq9(15), taken_at=utcnow() - timedelta(days=30))
    outcomes.record_screening(counsellor, case, "phq9", phq9(4))
    db.session.commit()
    request = phases.request_closure(social, case, case.version, SUMMARY, "goals_achieved")
    db.session.commit()
    assert request is not None and case.phase == "recovery"  # held for the supervisor
    assert request.outcome_snapshot["instruments"][0]["markers"] == ["reliable_improvement", "remission", "response"]
    assert db.session.scalar(select(FollowUp.id)) is None
    phases.decide_closure(supervisor, db.session.get(ClosureRequest, request.id), True)
    db.session.commit()
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert case.phase == "closed" and case.outcome_snapshot == request.outcome_snapshot
    assert len(db.session.scalars(select(FollowUp).where(FollowUp.case_id == case.id)).all()) == 3


def test_a_closed_case_is_read_only_except_follow_ups(client, db, make_user, make_case):
    case, counsellor, social = _closed_case(db, make_user, make_case)
    headers = bearer(social)
    plan = client.get(f"/api/v1/cases/{case.id}/care-plan", headers=headers).get_json()
    assert client.put(f"/api/v1/cases/{case.id}/care-plan", headers=headers,
                      json={"version": plan["version"], "client_note": "late"}).status_code == 409
    assert client.post(f"/api/v1/cases/{case.id}/screenings", headers=bearer(counsellor),
                       json={"instrument": "phq9", "answers": phq9(3)}).status_code == 409
    with pytest.raises(Conflict):
        outcomes.set_schedule(counsellor, case, "phq9", 4)
    with pytest.raises(Conflict):
        update_case(counsellor, case, case.version, {"priority": "high"})
    item = db.session.scalar(select(FollowUp).where(FollowUp.months == 1))
    done, alert = followup.record_follow_up(social, case, item, status="better", note="Working three days a week.")
    db.session.commit()
    assert alert is None and done.recorded_at is not None and case.phase == "closed"
    assert db.session.get(Task, item.task_id).done_at is not None
    with pytest.raises(Conflict):
        followup.record_follow_up(social, case, item, status="same")


def test_follow_up_finding_the_person_worse_reopens_into_triage_with_history(db, make_user, make_case):
    case, _counsellor, social = _closed_case(db, make_user, make_case)
    one, three, six = db.session.scalars(select(FollowUp).order_by(FollowUp.months)).all()
    followup.record_follow_up(social, case, one, status="better")
    db.session.commit()
    _item, alert = followup.record_follow_up(social, case, three, status="worse",
                                             note="Lost the job again; not sleeping.")
    db.session.commit()
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert case.phase in ("intake", "crisis") and case.closed_at is None
    stored = db.session.get(Alert, alert.id)
    assert (stored.kind, stored.urgency, stored.subject_type, stored.subject_id, stored.team_id, stored.state) == \
        ("follow_up", "urgent", "case", str(case.id), case.team_id, "open")
    text = stored.summary_text
    assert "3-month follow-up" in text and "14 -> 8" in text  # the history goes with it
    assert "1-month follow-up" in text and "worse than at closure" in text and "Goals achieved" in text
    # stored as a message: a Chinese reader reads the same summary in Chinese, not in the writer's English
    assert "3-month" not in stored.summary or stored.summary.startswith('{"m":')
    with force_locale("zh_Hant"):
        chinese = stored.summary_text
    assert "結案後 3 個月跟進" in chinese and "14 -> 8" in chinese and "follow-up" not in chinese
    assert "worse than at closure" not in chinese
    three = db.session.get(FollowUp, three.id)
    assert three.reopened and three.deteriorated and three.alert_id == alert.id
    six = db.session.get(FollowUp, six.id)
    assert six.cancelled_at is not None and db.session.get(Task, six.task_id).done_at is not None
    kinds = [e.kind for e in case.events]
    assert "follow_up_recorded" in kinds and "follow_up_alert" in kinds and "phase_changed" in kinds


def test_follow_up_screening_deteriorated_since_closure_reopens(db, make_user, make_case):
    case, _counsellor, social = _closed_case(db, make_user, make_case, scores=(14, 8))
    one = db.session.scalar(select(FollowUp).where(FollowUp.months == 1))
    # +5 against the closing score of 8: not reliable, the case stays closed
    _item, alert = followup.record_follow_up(social, case, one, status="same",
                                             screening={"instrument": "phq9", "answers": phq9(13)})
    db.session.commit()
    assert alert is None and case.phase == "closed"
    assert db.session.scalar(select(Alert.id)) is None  # no separate re-screen alert either
    three = db.session.scalar(select(FollowUp).where(FollowUp.months == 3))
    _item, alert = followup.record_follow_up(social, case, three, status="same",
                                             screening={"instrument": "phq9", "answers": phq9(14)})
    db.session.commit()
    assert alert is not None and alert.kind == "follow_up" and case.phase != "closed"
    assert "8 -> 14" in alert.summary_text
    assert db.session.scalars(select(Alert.kind)).all() == ["follow_up"]


def test_follow_up_crisis_reopens_with_a_crisis_alert(db, make_user, make_case):
    case, _counsellor, social = _closed_case(db, make_user, make_case)
    one = db.session.scalar(select(FollowUp).where(FollowUp.months == 1))
    _item, alert = followup.record_follow_up(social, case, one, status="better",
                                             screening={"instrument": "phq9", "answers": phq9(4, item9=1)})
    db.session.commit()
    assert alert.urgency == "crisis" and one.crisis and case.phase != "closed"
    case2, _c2, social2 = _closed_case(db, make_user, make_case)
    first = db.session.scalar(select(FollowUp).where(FollowUp.case_id == case2.id, FollowUp.months == 1))
    _item, alert2 = followup.record_follow_up(social2, case2, first, status="same", crisis=True)
    db.session.commit()
    assert alert2.urgency == "crisis" and case2.phase != "closed"


def test_not_reached_keeps_the_follow_up_open_and_retries(db, make_user, make_case):
    case, _counsellor, social = _closed_case(db, make_user, make_case)
    one = db.session.scalar(select(FollowUp).where(FollowUp.months == 1))
    with pytest.raises(Invalid):
        followup.record_follow_up(social, case, one, status="not_reached", crisis=True)
    with pytest.raises(Invalid):
        followup.record_follow_up(social, case, one, status="fine")
    task = db.session.get(Task, one.task_id)
    task.due_at = utcnow() - timedelta(days=1)
    db.session.commit()
    followup.record_follow_up(social, case, one, status="not_reached")
    db.session.commit()
    assert one.attempts == 1 and not one.done
    assert task.done_at is None and task.due_at > utcnow() + timedelta(days=2)


def test_follow_ups_appear_on_my_day_and_the_page_records_one(client, db, make_user, make_case):
    case, _counsellor, social = _closed_case(db, make_user, make_case)
    one = db.session.scalar(select(FollowUp).where(FollowUp.months == 1))
    task = db.session.get(Task, one.task_id)
    task.due_at = utcnow() - timedelta(hours=2)
    db.session.commit()
    assert task.id in [t.id for t in my_day(social).overdue]
    sign_in(client, social.username)
    case_page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Record the follow-up" in case_page and "Outcome at closure" in case_page
    path = f"/cases/{case.id}/follow-ups/{one.id}"
    assert form_post(client, path, {"status": "bogus"}).status_code == 400
    screened = form_post(client, f"{path}?instrument=phq9",
                         {"status": "better", "note": "Doing well.", "instrument": "phq9",
                          **{f"item-{n + 1}": str(v) for n, v in enumerate(phq9(5))}}, page=f"{path}?instrument=phq9")
    assert screened.status_code == 302
    db.session.expire_all()
    one = db.session.get(FollowUp, one.id)
    assert one.status == "better" and one.screening_id is not None
    assert client.get(path).status_code == 200  # shows the recorded result
    stranger = client.application.test_client()
    sign_in(stranger, make_user("social_worker", team="elsewhere").username)
    assert stranger.get(path).status_code == 404


def test_reopening_by_hand_cancels_the_follow_ups_and_closing_again_schedules_new_ones(db, make_user, make_case):
    case, _counsellor, social = _closed_case(db, make_user, make_case)
    phases.reopen(social, case, case.version, "The client asked for help again.")
    db.session.commit()
    follow_ups = db.session.scalars(select(FollowUp).where(FollowUp.case_id == case.id)).all()
    assert len(follow_ups) == 3 and all(f.cancelled_at is not None for f in follow_ups)
    assert db.session.scalars(select(Task).where(Task.case_id == case.id, Task.kind == "follow_up",
                                                 Task.done_at.is_(None))).all() == []
    case.phase = "recovery"
    db.session.commit()
    phases.request_closure(social, case, case.version, SUMMARY, "moved_away")
    db.session.commit()
    open_now = db.session.scalars(select(FollowUp).where(FollowUp.case_id == case.id,
                                                         FollowUp.cancelled_at.is_(None))).all()
    assert sorted(f.months for f in open_now) == [1, 3, 6]


def test_a_follow_up_opened_under_another_case_does_not_exist(client, db, make_user, make_case):
    case, _counsellor, social = _closed_case(db, make_user, make_case)
    item = db.session.scalar(select(FollowUp).where(FollowUp.case_id == case.id, FollowUp.months == 1))
    other = make_case(social, risk_level="low")  # a case the same worker sees
    sign_in(client, social.username)
    assert client.get(f"/cases/{other.id}/follow-ups/{item.id}").status_code == 404
    assert client.get(f"/cases/{case.id}/follow-ups/not-a-uuid").status_code == 404
    assert client.get(f"/cases/{case.id}/follow-ups/{item.id}").status_code == 200
