"""Risk assessments: C-SSRS with its skip logic, the counsellor's decision, history kept, case
risk and contact task set, supervisor acknowledgement of high and imminent risk."""
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from carecycle.audit import AuditEvent
from carecycle.database import utcnow
from carecycle.validation import Conflict, Invalid
from casework.models import Case, CaseEvent, RiskAssessment, Task
from casework.service import assessments as service
from tests.conftest import form_post, sign_in

Y, N = True, False


@pytest.mark.parametrize("answers, level", [
    ([N, N, None, None, None, N, None], "none"),
    ([Y, N, None, None, None, N, None], "low"),
    ([N, Y, N, N, N, N, None], "low"),
    ([Y, Y, Y, N, N, N, None], "moderate"),
    ([N, N, None, None, None, Y, N], "moderate"),
    ([Y, Y, N, Y, N, N, None], "high"),
    ([Y, Y, Y, Y, Y, N, None], "high"),
    ([N, N, None, None, None, Y, Y], "high"),
])
def test_cssrs_suggestion_follows_the_screener_rule(app, db, answers, level):
    assert service.cssrs_suggestion(answers) == level


@pytest.mark.parametrize("answers, bad", [
    ([N, N, N, None, None, N, None], {"cssrs_3"}),           # 3 asked although 2 is no
    ([N, Y, None, N, N, N, None], {"cssrs_3"}),              # 3 skipped although 2 is yes
    ([N, N, None, None, None, Y, None], {"cssrs_7"}),        # 7 not asked although 6 is yes
    ([N, N, None, None, None, N, Y], {"cssrs_7"}),           # 7 asked although 6 is no
    ([None, N, None, None, None, N, None], {"cssrs_1"}),     # 1 is always asked
    (["yes", N, None, None, None, N, None], {"cssrs_1"}),    # only true/false
])
def test_cssrs_skip_logic_is_checked(app, db, answers, bad):
    with pytest.raises(Invalid) as refused:
        service.cssrs_suggestion(answers)
    assert set(refused.value.fields) == bad


def form_data(answers=("no", "no", "", "", "", "no", ""), **fields):
    data = {f"cssrs_{n}": value for n, value in enumerate(answers, start=1)}
    data.update({"risk_level": "low", "rationale": "Denies current ideation; engaged and future-oriented.",
                 "judgement": "Calm, good eye contact.", "action": "save"})
    data.update(fields)
    return data


HIGH = ("yes", "yes", "yes", "yes", "no", "no", "")


def test_counsellor_records_an_assessment_and_the_case_follows_it(client, login_as, make_case, db):
    me = login_as("counsellor")
    case = make_case(me, risk_level="low")
    response = form_post(client, f"/cases/{case.id}/assessments/new", form_data(
        HIGH, risk_level="imminent", risk_factors=["previous_attempt", "access_to_means"],
        risk_factors_other="Stockpiling medication", protective_factors=["dependants"],
        rationale="Intent with access to means; C-SSRS says high, I judge imminent."))
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    assessment = db.session.scalar(select(RiskAssessment))
    assert assessment.risk_level == "imminent" and assessment.suggested_level == "high"
    assert assessment.cssrs_answers == [True, True, True, True, False, False, None]
    assert assessment.risk_factors == {"checked": ["previous_attempt", "access_to_means"],
                                       "other": "Stockpiling medication"}
    assert assessment.protective_factors == {"checked": ["dependants"], "other": ""}
    assert assessment.awaiting_acknowledgement and assessment.assessed_by_id == me.id
    raw = db.session.execute(text("SELECT cssrs, risk_factors, judgement, rationale FROM risk_assessment")).one()
    assert all(value.startswith("ccv1:") for value in raw) and "Stockpiling" not in "".join(raw)
    case = db.session.get(Case, case.id)
    assert case.risk_level == "imminent"
    kinds = {e.kind for e in db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id))}
    assert {"risk_assessed", "updated"} <= kinds
    # a contact is due within the hour for imminent risk (the first-contact task was due in 7 days)
    due = db.session.scalars(select(Task.due_at).where(Task.case_id == case.id, Task.done_at.is_(None))).all()
    assert min(due) - utcnow() <= timedelta(hours=1)
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Stockpiling medication" in detail and "Imminent risk" in detail and "Awaiting acknowledgement" in detail
    assert ("create", "risk_assessment", str(assessment.id)) in {
        (e.action, e.object_type, e.object_id) for e in db.session.scalars(select(AuditEvent))}


def test_history_is_kept_and_never_overwritten(client, login_as, make_case, db):
    me = login_as("counsellor")
    case = make_case(me, risk_level="moderate")
    for level in ("high", "moderate", "low"):
        answers = HIGH if level == "high" else ("yes", "no", "", "", "", "no", "")
        assert form_post(client, f"/cases/{case.id}/assessments/new",
                         form_data(answers, risk_level=level, rationale=f"Judged {level}")).status_code == 302
    db.session.expire_all()
    rows = db.session.scalars(select(RiskAssessment).order_by(RiskAssessment.assessed_at)).all()
    assert [r.risk_level for r in rows] == ["high", "moderate", "low"]
    assert [r.rationale for r in rows] == ["Judged high", "Judged moderate", "Judged low"]
    assert db.session.get(Case, case.id).risk_level == "low"
    history = client.get(f"/cases/{case.id}/assessments").get_data(as_text=True)
    assert history.count("/assessments/") >= 3 and "High risk" in history and "Low risk" in history
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Low risk" in page and "New risk assessment" in page


def test_check_shows_the_cssrs_suggestion_and_saves_nothing(client, login_as, make_case, db):
    me = login_as("counsellor")
    case = make_case(me)
    response = form_post(client, f"/cases/{case.id}/assessments/new",
                         form_data(HIGH, action="check", risk_level="", rationale=""))
    assert response.status_code == 200
    assert "C-SSRS result: High risk" in response.get_data(as_text=True)
    assert db.session.query(RiskAssessment).count() == 0


@pytest.mark.parametrize("answers, fields, message", [
    (("no", "no", "yes", "", "", "no", ""), {}, "not asked after the earlier answers"),
    (("no", "no", "", "", "", "yes", ""), {}, "must be answered"),
    (("maybe", "no", "", "", "", "no", ""), {}, "Choose yes, no or not asked"),
    (("no", "no", "", "", "", "no", ""), {"risk_level": ""}, "Choose the risk level"),
    (("no", "no", "", "", "", "no", ""), {"rationale": "  "}, "Say why you chose this risk level"),
    (("no", "no", "", "", "", "no", ""), {"risk_factors": ["made_up"]}, "Unknown item"),
])
def test_invalid_assessment_shows_messages_and_changes_nothing(client, login_as, make_case, db, answers, fields,
                                                               message):
    me = login_as("counsellor")
    case = make_case(me, risk_level="moderate")
    response = form_post(client, f"/cases/{case.id}/assessments/new", form_data(answers, **fields))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.query(RiskAssessment).count() == 0
    assert db.session.get(Case, case.id).risk_level == "moderate"


def test_social_workers_do_not_assess_risk(client, make_user, make_case, db):
    counsellor = make_user("counsellor")
    worker = make_user("social_worker", team=counsellor.team)
    case = make_case(counsellor, social_worker=worker)
    service.record_assessment(counsellor, case, cssrs=[N, N, None, None, None, N, None], risk_level="low",
                              rationale="fine")
    db.session.commit()
    assessment = db.session.scalar(select(RiskAssessment))
    sign_in(client, worker.username)
    assert client.get(f"/cases/{case.id}/assessments/new").status_code == 403
    assert client.get(f"/cases/{case.id}/assessments").status_code == 403
    assert client.get(f"/cases/{case.id}/assessments/{assessment.id}").status_code == 403
    page = client.get(f"/cases/{case.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Low risk" in html and "New risk assessment" not in html
    assert "fine" not in html  # the rationale stays with those who assess risk


def test_another_teams_case_cannot_be_assessed(client, login_as, make_user, make_case, db):
    login_as("counsellor")
    theirs = make_case(make_user("counsellor", team="elsewhere"))
    assert client.get(f"/cases/{theirs.id}/assessments/new").status_code == 404
    assert client.get(f"/cases/{theirs.id}/assessments").status_code == 404


def test_a_closed_case_is_not_assessed(make_user, make_case, db):
    me = make_user("counsellor")
    case = make_case(me)
    case.phase = "closed"
    db.session.commit()
    with pytest.raises(Conflict):
        service.record_assessment(me, case, cssrs=[N, N, None, None, None, N, None], risk_level="low",
                                  rationale="fine")


def test_a_contact_due_sooner_is_kept(make_user, make_case, db):
    me = make_user("counsellor")
    case = make_case(me, risk_level="imminent")  # first contact due within the hour
    first = db.session.scalar(select(Task).where(Task.case_id == case.id))
    service.record_assessment(me, case, cssrs=[N, N, None, None, None, N, None], risk_level="low", rationale="ok")
    db.session.commit()
    tasks = db.session.scalars(select(Task).where(Task.case_id == case.id)).all()
    assert [t.id for t in tasks] == [first.id]


# ------------------------------------------------------------------ supervisor acknowledgement
@pytest.fixture
def two_teams(make_user, make_case, db):
    counsellor = make_user("counsellor", team="river")
    supervisor = make_user("supervisor", team=counsellor.team)
    other_supervisor = make_user("supervisor", team="hill")
    other_counsellor = make_user("counsellor", team=other_supervisor.team)
    case = make_case(counsellor)
    other_case = make_case(other_counsellor)
    assessments = {}
    for name, who, where, level in (("high", counsellor, case, "high"), ("moderate", counsellor, case, "moderate"),
                                    ("theirs", other_counsellor, other_case, "imminent")):
        assessments[name] = service.record_assessment(
            who, where, cssrs=[Y, Y, N, Y, N, N, None], risk_level=level, rationale=f"reason {name}")
    db.session.commit()
    return supervisor, other_supervisor, counsellor, assessments


def test_high_and_imminent_appear_on_their_own_teams_list_only(app, client, two_teams, db):
    supervisor, other_supervisor, _counsellor, assessments = two_teams
    sign_in(client, supervisor.username)
    page = client.get("/cases/risk-acknowledgements").get_data(as_text=True)
    assert str(assessments["high"].id) in page
    assert str(assessments["moderate"].id) not in page and str(assessments["theirs"].id) not in page
    other = app.test_client()
    sign_in(other, other_supervisor.username)
    page = other.get("/cases/risk-acknowledgements").get_data(as_text=True)
    assert str(assessments["theirs"].id) in page and str(assessments["high"].id) not in page


def test_acknowledging_records_who_and_when_and_is_audited(client, two_teams, db):
    supervisor, _other, _counsellor, assessments = two_teams
    high = assessments["high"]
    sign_in(client, supervisor.username)
    response = form_post(client, f"/cases/risk-acknowledgements/{high.id}/acknowledge",
                         {"comment": "Discussed in huddle; daily calls"}, page="/cases/risk-acknowledgements")
    assert response.status_code == 302
    db.session.expire_all()
    high = db.session.get(RiskAssessment, high.id)
    assert high.acknowledged_by_id == supervisor.id and utcnow() - high.acknowledged_at < timedelta(minutes=1)
    assert high.acknowledgement_comment == "Discussed in huddle; daily calls"
    raw = db.session.scalar(select(RiskAssessment._acknowledgement_comment).where(RiskAssessment.id == high.id))
    assert raw.startswith("ccv1:")
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "acknowledge"))
    assert event.actor_id == supervisor.id and event.object_id == str(high.id)
    page = client.get("/cases/risk-acknowledgements").get_data(as_text=True)
    assert "Nothing waiting" in page and "acknowledged by" in page
    again = form_post(client, f"/cases/risk-acknowledgements/{high.id}/acknowledge", {},
                      page="/cases/risk-acknowledgements")
    assert again.status_code == 409


def test_another_teams_supervisor_cannot_acknowledge(client, two_teams, db):
    _supervisor, other_supervisor, _counsellor, assessments = two_teams
    sign_in(client, other_supervisor.username)
    response = form_post(client, f"/cases/risk-acknowledgements/{assessments['high'].id}/acknowledge", {},
                         page="/cases/risk-acknowledgements")
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(RiskAssessment, assessments["high"].id).acknowledged_at is None


def test_only_supervisors_have_the_list(client, two_teams, db):
    _supervisor, _other, counsellor, assessments = two_teams
    sign_in(client, counsellor.username)
    assert client.get("/cases/risk-acknowledgements").status_code == 403
    response = client.post(f"/cases/risk-acknowledgements/{assessments['high'].id}/acknowledge")
    assert response.status_code in (400, 403)  # no CSRF token / not allowed: nothing happens
    db.session.expire_all()
    assert db.session.get(RiskAssessment, assessments["high"].id).acknowledged_at is None


def test_a_moderate_assessment_needs_no_acknowledgement(two_teams, db):
    supervisor, _other, _counsellor, assessments = two_teams
    with pytest.raises(Conflict):
        service.acknowledge(supervisor, assessments["moderate"])


def test_the_acknowledgement_list_reads_its_clients_without_a_query_per_row(client, two_teams, make_case, db):
    from tests.screening_helpers import statements_run
    supervisor, _other, counsellor, _assessments = two_teams
    sign_in(client, supervisor.username)
    with statements_run(db) as one:
        assert client.get("/cases/risk-acknowledgements").status_code == 200
    for _ in range(3):
        service.record_assessment(counsellor, make_case(counsellor), cssrs=[Y, Y, N, Y, N, N, None],
                                  risk_level="imminent", rationale="another case")
    db.session.commit()
    with statements_run(db) as four:
        page = client.get("/cases/risk-acknowledgements").get_data(as_text=True)
    assert page.count("another case") == 0 and page.count("risk-imminent") == 3
    assert len(four) == len(one)
