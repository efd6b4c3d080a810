"""Care plans: the API round trip with versions and 409 on a stale edit, validation, who may change
what (social workers lead, counsellors add), reviews with their task, kept versions, closed cases,
a social worker's view never holding clinical notes, and the client's summary at /my/plan."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from carecycle.audit import AuditEvent
from carecycle.lifecycle import Forbidden
from carecycle.validation import Conflict, Invalid
from casework.models import CarePlan, CarePlanGoal, CarePlanVersion, Task
from casework.service import careplans
from casework.service import notes as note_service
from tests.casework.recovery_helpers import GOAL, bearer, recovery_case
from tests.conftest import csrf_from, form_post, sign_in

CLINICAL_TEXT = "Disclosed flashbacks of the flood and thoughts of not waking up"
REVIEW_TEXT = "Reviewed the flat search together; viewing booked at Garden Terrace"


def _plan(social, case, db, *goals):
    plan = careplans.save_plan(social, case, 0, {"goals": list(goals) or [dict(GOAL)], "client_note": "Well done"})
    db.session.commit()
    return plan


# ------------------------------------------------------------------ the API round trip
def test_care_plan_api_round_trip_with_409_on_stale(client, db, make_user, make_case):
    case, _counsellor, social = recovery_case(make_user, make_case)
    headers = bearer(social)
    empty = client.get(f"/api/v1/cases/{case.id}/care-plan", headers=headers)
    assert empty.status_code == 200 and empty.get_json()["version"] == 0 and empty.get_json()["goals"] == []
    created = client.put(f"/api/v1/cases/{case.id}/care-plan", headers=headers,
                         json={"version": 0, "client_note": "We start with the flat.",
                               "goals": [GOAL, {"domain": "income_work", "title": "Benefits paid", "owner": "partner",
                                                "owner_detail": "Citizens Advice"}]})
    assert created.status_code == 200, created.get_json()
    body = created.get_json()
    assert body["version"] == 1 and [g["status"] for g in body["goals"]] == ["not_started", "not_started"]
    goal_ids = [g["id"] for g in body["goals"]]
    assert [str(i) for i in careplans.goal_ids(case)] == goal_ids  # exposed for referrals

    goals = body["goals"]
    goals[0]["status"] = "in_progress"
    saved = client.put(f"/api/v1/cases/{case.id}/care-plan", headers=headers, json={"version": 1, "goals": goals})
    assert saved.status_code == 200 and saved.get_json()["version"] == 2
    assert saved.get_json()["goals"][0]["id"] == goal_ids[0]  # the same goal, not a new one

    goals[1]["title"] = "Someone else's overwrite"
    stale = client.put(f"/api/v1/cases/{case.id}/care-plan", headers=headers, json={"version": 1, "goals": goals})
    assert stale.status_code == 409 and stale.get_json()["error"]["code"] == "conflict"
    again = client.get(f"/api/v1/cases/{case.id}/care-plan", headers=headers).get_json()
    assert again["version"] == 2 and again["goals"][1]["title"] == "Benefits paid"
    assert again["client_note"] == "We start with the flat."
    db.session.expire_all()
    kept = db.session.scalars(select(CarePlanVersion.number).order_by(CarePlanVersion.number)).all()
    assert kept == [1, 2]
    first = db.session.scalar(select(CarePlanVersion).where(CarePlanVersion.number == 1))
    assert first.content["goals"][0]["status"] == "not_started"  # the old version is kept as it was
    assert client.put(f"/api/v1/cases/{case.id}/care-plan", headers=headers,
                      json={"goals": goals}).status_code == 422  # version is required


def test_care_plan_validation(client, db, make_user, make_case):
    case, _counsellor, social = recovery_case(make_user, make_case)
    headers = bearer(social)
    answer = client.put(f"/api/v1/cases/{case.id}/care-plan", headers=headers, json={"version": 0, "goals": [
        {"domain": "moon", "title": ""},
        {**GOAL, "status": "dropped"},
        {**GOAL, "owner": "partner", "owner_detail": ""},
        {**GOAL, "target_date": "31/01/2030", "colour": "red"}]})
    assert answer.status_code == 422
    fields = answer.get_json()["error"]["fields"]
    assert {"goals[0].domain", "goals[0].title", "goals[1].drop_reason", "goals[2].owner_detail",
            "goals[3].target_date", "goals[3].colour"} <= set(fields)
    assert db.session.scalar(select(CarePlan.id)) is None  # nothing stored
    _plan(social, case, db)
    assert client.put(f"/api/v1/cases/{case.id}/care-plan", headers=headers,
                      json={"version": 1, "goals": []}).status_code == 422  # goals are never removed


def test_goals_are_dropped_with_a_reason_never_deleted(db, make_user, make_case):
    case, _counsellor, social = recovery_case(make_user, make_case)
    plan = _plan(social, case, db)
    goal = careplans.goal_json(careplans.goals_of(plan)[0])
    with pytest.raises(Invalid):
        careplans.save_plan(social, case, plan.version, {"goals": [{**goal, "status": "dropped"}]})
    careplans.save_plan(social, case, plan.version, {"goals": [{**goal, "status": "dropped",
                                                                "drop_reason": "Moved in with her sister."}]})
    db.session.commit()
    stored = db.session.scalar(select(CarePlanGoal))
    assert (stored.status, stored.drop_reason) == ("dropped", "Moved in with her sister.")


# ------------------------------------------------------------------ who leads and who adds
def test_counsellors_add_goals_but_do_not_change_them(client, db, make_user, make_case):
    case, counsellor, social = recovery_case(make_user, make_case)
    plan = _plan(social, case, db)
    existing = careplans.goal_json(careplans.goals_of(plan)[0])
    headers = bearer(counsellor)
    added = client.put(f"/api/v1/cases/{case.id}/care-plan", headers=headers, json={
        "version": 1, "goals": [existing, {"domain": "mental_health", "title": "Sleep through most nights"}]})
    assert added.status_code == 200 and len(added.get_json()["goals"]) == 2
    changed = client.put(f"/api/v1/cases/{case.id}/care-plan", headers=headers, json={
        "version": 2, "goals": [{**existing, "status": "achieved"}, added.get_json()["goals"][1]]})
    assert changed.status_code == 403
    note = client.put(f"/api/v1/cases/{case.id}/care-plan", headers=headers,
                      json={"version": 2, "client_note": "Changed by the counsellor"})
    assert note.status_code == 403
    db.session.expire_all()
    assert db.session.scalar(select(CarePlan.version)) == 2
    denied = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "permission_denied")).all()
    assert [e.reason for e in denied] == ["care plan edit", "care plan edit"]
    with pytest.raises(Forbidden):
        careplans.share(counsellor, case)


def test_plan_is_written_in_recovery_and_a_closed_case_is_read_only(db, make_user, make_case):
    case, _counsellor, social = recovery_case(make_user, make_case)
    case.phase = "crisis"
    db.session.commit()
    with pytest.raises(Conflict):
        careplans.save_plan(social, case, 0, {"goals": [GOAL]})
    case.phase = "recovery"
    plan = _plan(social, case, db)
    case.phase = "closed"
    db.session.commit()
    with pytest.raises(Conflict):
        careplans.save_plan(social, case, plan.version, {"client_note": "after closure"})
    with pytest.raises(Conflict):
        careplans.record_review(social, case, plan.version, reviewed_on="2020-01-01", summary="Too late now.")


def test_api_care_plan_is_404_for_an_invisible_case(client, db, make_user, make_case):
    case, _counsellor, _social = recovery_case(make_user, make_case)
    stranger = make_user("social_worker", team="elsewhere")
    assert client.get(f"/api/v1/cases/{case.id}/care-plan", headers=bearer(stranger)).status_code == 404
    assert client.put(f"/api/v1/cases/{case.id}/care-plan", headers=bearer(stranger),
                      json={"version": 0, "goals": [GOAL]}).status_code == 404


# ------------------------------------------------------------------ reviews
def test_review_changes_statuses_keeps_a_version_and_sets_the_next_review_task(db, make_user, make_case):
    case, counsellor, social = recovery_case(make_user, make_case)
    plan = _plan(social, case, db)
    goal = careplans.goals_of(plan)[0]
    today = careplans.local_today()
    first = careplans.schedule_review(social, case, (today + timedelta(days=7)).isoformat())
    db.session.commit()
    review = careplans.record_review(social, case, plan.version, reviewed_on=today.isoformat(),
                                     summary=REVIEW_TEXT, changes={str(goal.id): {"status": "in_progress"}},
                                     next_review_on=(today + timedelta(days=28)).isoformat())
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(CarePlanGoal, goal.id).status == "in_progress"
    assert review.changes == [{"goal_id": str(goal.id), "from": "not_started", "to": "in_progress", "reason": None}]
    assert db.session.get(Task, first.id).done_at is not None  # the earlier review task is done
    task = db.session.get(Task, review.task_id)
    assert task.kind == "review" and task.done_at is None and task.assigned_to_id == social.id
    assert db.session.get(CarePlan, plan.id).version == 2
    assert db.session.scalar(select(CarePlanVersion.cause).where(CarePlanVersion.number == 2)) == "review"
    # a counsellor records a review, but cannot change a goal's status in it
    with pytest.raises(Forbidden):
        careplans.record_review(counsellor, case, 2, reviewed_on=today.isoformat(), summary=REVIEW_TEXT,
                                changes={str(goal.id): {"status": "achieved"}})
    db.session.rollback()
    careplans.record_review(counsellor, case, 2, reviewed_on=today.isoformat(), summary=REVIEW_TEXT)
    with pytest.raises(Invalid) as refused:
        careplans.record_review(social, case, 3, reviewed_on=(today + timedelta(days=1)).isoformat(),
                                summary="x")
    assert {"reviewed_on", "summary"} <= set(refused.value.fields)


def test_review_page_records_a_review(client, db, make_user, make_case):
    case, _counsellor, social = recovery_case(make_user, make_case)
    plan = _plan(social, case, db)
    goal = careplans.goals_of(plan)[0]
    sign_in(client, social.username)
    path = f"/cases/{case.id}/care-plan/reviews/new"
    today = careplans.local_today().isoformat()
    refused = form_post(client, path, {"version": 1, "reviewed_on": today, "summary": REVIEW_TEXT,
                                       f"goal-{goal.id}-status": "dropped", f"goal-{goal.id}-reason": ""})
    assert refused.status_code == 400 and "Say why the goal is dropped" in refused.get_data(as_text=True)
    done = form_post(client, path, {"version": 1, "reviewed_on": today, "summary": REVIEW_TEXT,
                                    f"goal-{goal.id}-status": "achieved"})
    assert done.status_code == 302
    page = client.get(f"/cases/{case.id}/care-plan").get_data(as_text=True)
    assert REVIEW_TEXT in page and "Achieved" in page
    stale = form_post(client, path, {"version": 1, "reviewed_on": today, "summary": REVIEW_TEXT})
    assert stale.status_code == 409


def test_goal_pages_add_and_edit(client, db, make_user, make_case):
    case, _counsellor, social = recovery_case(make_user, make_case)
    sign_in(client, social.username)
    assert form_post(client, f"/cases/{case.id}/care-plan/goals/new", {
        "version": 0, "domain": "housing", "title": "", "status": "not_started", "owner": "worker"}).status_code == 400
    assert form_post(client, f"/cases/{case.id}/care-plan/goals/new", {
        "version": 0, "domain": "housing", "title": "A flat without stairs", "status": "not_started",
        "owner": "worker"}).status_code == 302
    goal = db.session.scalar(select(CarePlanGoal))
    path = f"/cases/{case.id}/care-plan/goals/{goal.id}/edit"
    assert form_post(client, path, {"version": 1, "domain": "housing", "title": "A flat without stairs",
                                    "status": "achieved", "owner": "worker"}).status_code == 302
    assert form_post(client, path, {"version": 1, "domain": "housing", "title": "Stale",
                                    "status": "achieved", "owner": "worker"}).status_code == 409
    db.session.expire_all()
    assert db.session.get(CarePlanGoal, goal.id).status == "achieved"
    assert client.get(f"/cases/{case.id}/care-plan/versions/2").status_code == 200
    assert client.get(f"/cases/{case.id}/care-plan/versions/9").status_code == 404


# ------------------------------------------------------------------ a social worker's view holds no clinical notes
def test_social_workers_view_of_the_plan_never_contains_clinical_notes(client, db, make_user, make_case):
    case, counsellor, social = recovery_case(make_user, make_case)
    note_service.create_note(counsellor, case, {"kind": "clinical", "mode": "office", "body": CLINICAL_TEXT,
                                                "duration_minutes": 40}, sign=True)
    db.session.commit()
    plan = _plan(social, case, db)
    careplans.record_review(counsellor, case, plan.version, reviewed_on=careplans.local_today().isoformat(),
                            summary=REVIEW_TEXT)
    db.session.commit()
    sign_in(client, social.username)
    pages = [client.get(f"/cases/{case.id}/care-plan"), client.get(f"/cases/{case.id}/care-plan/summary"),
             client.get(f"/cases/{case.id}/care-plan/versions"), client.get(f"/cases/{case.id}/care-plan/versions/1"),
             client.get(f"/api/v1/cases/{case.id}/care-plan", headers=bearer(social))]
    for page in pages:
        assert page.status_code == 200
        text = page.get_data(as_text=True)
        assert CLINICAL_TEXT not in text and "flashbacks" not in text
    assert REVIEW_TEXT in pages[0].get_data(as_text=True)


# ------------------------------------------------------------------ the client's summary at /my/plan
def test_my_plan_shows_only_the_plain_summary_to_the_linked_resident(client, db, make_user, make_case):
    case, counsellor, social = recovery_case(make_user, make_case)
    resident, other_resident = make_user("resident"), make_user("resident")
    plan = _plan(social, case, db, dict(GOAL), {**GOAL, "title": "Replace the ID card", "status": "dropped",
                                                   "drop_reason": "Private reason for the team"})
    careplans.record_review(social, case, plan.version, reviewed_on=careplans.local_today().isoformat(),
                            summary=REVIEW_TEXT)
    note_service.create_note(counsellor, case, {"kind": "clinical", "mode": "office", "body": CLINICAL_TEXT,
                                                "duration_minutes": 40}, sign=True)
    db.session.commit()
    with pytest.raises(Invalid):
        careplans.share(social, case)  # no linked account yet
    case.client.resident_user_id = resident.id
    db.session.commit()

    sign_in(client, resident.username)
    assert GOAL["title"] not in client.get("/my/plan").get_data(as_text=True)  # not shared yet
    careplans.share(social, case)
    db.session.commit()
    page = client.get("/my/plan")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert GOAL["title"] in text and "Well done" in text and "Replace the ID card" in text
    for private in (REVIEW_TEXT, CLINICAL_TEXT, "Private reason for the team"):
        assert private not in text
    assert "style=" not in text

    other = client.application.test_client()
    sign_in(other, other_resident.username)
    assert GOAL["title"] not in other.get("/my/plan").get_data(as_text=True)
    staff = client.application.test_client()
    sign_in(staff, social.username)
    assert staff.get("/my/plan").status_code == 403
    anonymous = client.application.test_client()
    assert anonymous.get("/my/plan").status_code in (302, 401)

    careplans.stop_sharing(social, case)
    db.session.commit()
    again = client.application.test_client()
    sign_in(again, resident.username)
    assert GOAL["title"] not in again.get("/my/plan").get_data(as_text=True)


def test_plan_page_for_counsellor_and_print_summary_is_audited(client, db, make_user, make_case):
    case, counsellor, social = recovery_case(make_user, make_case)
    _plan(social, case, db)
    sign_in(client, counsellor.username)
    page = client.get(f"/cases/{case.id}/care-plan").get_data(as_text=True)
    assert GOAL["title"] in page and "Add a goal" in page and "style=" not in page
    assert client.get(f"/cases/{case.id}/care-plan/summary").status_code == 200
    exports = db.session.scalars(select(AuditEvent.reason).where(AuditEvent.action == "export",
                                                                 AuditEvent.object_type == "care_plan")).all()
    assert exports == ["client summary"]


def test_two_saves_of_the_same_version_at_once_one_wins(app, db, make_user, make_case):
    """Two writers that both read plan version 1, then save at once: one saves, the other gets a conflict.
    PostgreSQL only (see tests/race.py): SQLite runs one transaction at a time; the serial stale save
    is test_care_plan_api_round_trip_with_409_on_stale."""
    import threading

    from sqlalchemy.orm.exc import StaleDataError

    from carecycle.accounts.models import User
    from carecycle.extensions import db as _db
    from casework.models import Case
    from tests.race import Contenders, needs_concurrent_transactions
    needs_concurrent_transactions(db)
    case, _counsellor, social = recovery_case(make_user, make_case)
    plan = _plan(social, case, db)
    goal = careplans.goal_json(careplans.goals_of(plan)[0])
    case_id, user_id = case.id, social.id
    db.session.commit()
    contenders = Contenders(2)
    results, errors = [], []

    def save(title):
        with app.app_context():
            try:
                user, row = _db.session.get(User, user_id), _db.session.get(Case, case_id)
                current = careplans.plan_of(row)
                careplans.goals_of(current)
                contenders.ready(current.version)  # both hold version 1 before either saves
                careplans.save_plan(user, row, current.version, {"goals": [{**goal, "title": title}]})
                _db.session.commit()
                results.append("saved")
            except (Conflict, StaleDataError):
                _db.session.rollback()
                results.append("refused")
            except Exception as error:  # surfaced below
                _db.session.rollback()
                errors.append(error)
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=save, args=(t,)) for t in ("First title", "Second title")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    contenders.assert_overlapped(1)
    assert sorted(results) == ["refused", "saved"]
    db.session.expire_all()
    assert db.session.scalar(select(CarePlan.version)) == 2
    assert db.session.scalar(select(func.count()).select_from(CarePlanVersion)) == 2


def test_plan_and_outcome_pages_of_another_teams_case_do_not_exist_for_me(client, db, make_user, make_case):
    case, _counsellor, social = recovery_case(make_user, make_case)
    _plan(social, case, db)
    stranger = make_user("social_worker", team="elsewhere")
    sign_in(client, stranger.username)
    for path in ("care-plan", "care-plan/summary", "care-plan/versions", "care-plan/versions/1",
                 "care-plan/goals/new", "care-plan/reviews/new", "outcomes", "screenings/link",
                 "screenings/new/phq9"):
        assert client.get(f"/cases/{case.id}/{path}").status_code == 404, path
    token = csrf_from(client.get("/"))
    for path in ("care-plan/share", "care-plan/next-review", "rescreen-schedule", "groups"):
        assert client.post(f"/cases/{case.id}/{path}", data={"csrf_token": token}).status_code == 404, path
    db.session.expire_all()
    assert db.session.scalar(select(CarePlan.shared_at)) is None


def test_a_counsellor_cannot_change_a_goal_or_share_the_plan_from_the_pages(client, db, make_user, make_case):
    case, counsellor, social = recovery_case(make_user, make_case)
    case.client.resident_user_id = make_user("resident").id
    plan = _plan(social, case, db)
    goal = careplans.goals_of(plan)[0]
    sign_in(client, counsellor.username)
    edit = form_post(client, f"/cases/{case.id}/care-plan/goals/{goal.id}/edit", {
        "version": 1, "domain": "housing", "title": goal.title, "status": "achieved", "owner": "worker"})
    assert edit.status_code == 403
    share = form_post(client, f"/cases/{case.id}/care-plan/share", {}, page=f"/cases/{case.id}/care-plan")
    assert share.status_code == 403
    db.session.expire_all()
    stored = db.session.scalar(select(CarePlan))
    assert stored.version == 1 and stored.shared_at is None
    assert db.session.get(CarePlanGoal, goal.id).status == "not_started"
