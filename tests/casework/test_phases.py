"""Phase moves: recovery needs low enough risk and a signed safety plan; closure approval; reopening."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from carecycle.audit import AuditEvent
from carecycle.database import utcnow
from carecycle.lifecycle import Forbidden
from carecycle.validation import Conflict, Invalid
from casework.models import Case, CaseRiskChange, ClosureRequest
from casework.service import phases
from casework.service.cases import update_case
from tests.conftest import form_post, sign_in


@pytest.fixture
def no_safety_plan(monkeypatch):
    monkeypatch.setattr(phases, "has_signed_plan", lambda case: False)


@pytest.fixture
def signed_plan(monkeypatch):
    monkeypatch.setattr(phases, "has_signed_plan", lambda case: True)


def test_risk_history_is_kept_automatically(db, make_user, make_case):
    worker = make_user("counsellor")
    case = make_case(worker, risk_level="high")
    update_case(worker, case, case.version, {"risk_level": "low"})
    db.session.commit()
    levels = [c.risk_level for c in db.session.scalars(select(CaseRiskChange).order_by(CaseRiskChange.at))]
    assert levels == ["high", "low"]


def test_recovery_refused_while_risk_is_high(db, make_user, make_case, signed_plan):
    worker = make_user("counsellor")
    case = make_case(worker, risk_level="high")
    with pytest.raises(Invalid) as refused:
        phases.move_to_recovery(worker, case, case.version)
    assert "above moderate" in refused.value.fields["phase"]
    assert case.phase == "crisis"


def test_recovery_needs_a_signed_safety_plan_if_risk_was_ever_moderate(db, make_user, make_case, no_safety_plan):
    worker = make_user("counsellor")
    case = make_case(worker, risk_level="moderate")
    update_case(worker, case, case.version, {"risk_level": "low"})
    with pytest.raises(Invalid) as refused:
        phases.move_to_recovery(worker, case, case.version)
    assert "safety plan" in refused.value.fields["phase"]


def test_recovery_allowed_with_plan(db, make_user, make_case, signed_plan):
    worker = make_user("counsellor")
    case = make_case(worker, risk_level="moderate")
    phases.move_to_recovery(worker, case, case.version)
    db.session.commit()
    assert db.session.get(Case, case.id).phase == "recovery"


def test_low_risk_case_moves_to_recovery_without_plan(db, make_user, make_case, no_safety_plan):
    worker = make_user("counsellor")
    case = make_case(worker, risk_level="low")
    phases.move_to_recovery(worker, case, case.version)
    assert case.phase == "recovery"


def test_closing_needs_summary_and_reason(db, make_user, make_case):
    worker = make_user("counsellor")
    case = make_case(worker, risk_level="low")
    with pytest.raises(Invalid) as refused:
        phases.request_closure(worker, case, case.version, "", "bored")
    assert set(refused.value.fields) == {"summary", "reason"}
    assert case.phase != "closed"


def test_low_risk_case_closes_at_once(client, login_as, make_case, db):
    worker = login_as("counsellor")
    case = make_case(worker, risk_level="low")
    response = form_post(client, f"/cases/{case.id}/close", {"version": str(case.version), "reason": "goals_achieved",
                                                             "summary": "Back at work, sleeping well."},
                         page=f"/cases/{case.id}")
    assert response.status_code == 302
    db.session.expire_all()
    closed = db.session.get(Case, case.id)
    assert closed.phase == "closed" and closed.closed_at and closed.closure_summary.startswith("Back at work")


def test_closure_after_moderate_risk_waits_for_another_supervisor(app, client, make_user, make_case, db):
    supervisor = make_user("supervisor")
    worker = make_user("counsellor", team=supervisor.team)
    case = make_case(worker, risk_level="moderate")
    update_case(worker, case, case.version, {"risk_level": "low"})
    db.session.commit()
    sign_in(client, worker.username)
    response = form_post(client, f"/cases/{case.id}/close", {"version": str(case.version), "reason": "goals_achieved",
                                                             "summary": "Stable for a month, back at work."},
                         page=f"/cases/{case.id}")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Case, case.id).phase != "closed"
    request = db.session.scalar(select(ClosureRequest))
    assert request.decision is None
    boss = app.test_client()
    sign_in(boss, supervisor.username)
    assert "Stable for a month" in boss.get("/cases/closure-approvals").get_data(as_text=True)
    other_team_boss = app.test_client()
    sign_in(other_team_boss, make_user("supervisor", team="elsewhere").username)
    assert form_post(other_team_boss, f"/cases/closure-approvals/{request.id}", {"decision": "approve"},
                     page="/cases/closure-approvals").status_code == 404
    assert form_post(boss, f"/cases/closure-approvals/{request.id}", {"decision": "approve", "comment": "ok"},
                     page="/cases/closure-approvals").status_code == 302
    db.session.expire_all()
    assert db.session.get(Case, case.id).phase == "closed"
    assert db.session.get(ClosureRequest, request.id).decided_by_id == supervisor.id


def test_supervisor_never_approves_their_own_request(db, make_user, make_case):
    supervisor = make_user("supervisor")
    worker = make_user("counsellor", team=supervisor.team)
    case = make_case(worker, risk_level="high")
    update_case(worker, case, case.version, {"risk_level": "low"})
    request = phases.request_closure(supervisor, case, case.version, "Handled by the supervisor.", "other")
    assert request is not None
    with pytest.raises(Forbidden):
        phases.decide_closure(supervisor, request, True)
    assert case.phase != "closed"


def test_one_rule_decides_a_closure_on_the_closure_page_and_the_approvals_queue_alike(
        client, db, make_user, make_case):
    """Deciding one's own closure request answers 403 (audited) on both pages, never 400 on one of them."""
    supervisor = make_user("supervisor")
    worker = make_user("counsellor", team=supervisor.team)
    case = make_case(worker, risk_level="high")
    update_case(worker, case, case.version, {"risk_level": "low"})
    request = phases.request_closure(supervisor, case, case.version, "Handled by the supervisor.", "other")
    db.session.commit()
    sign_in(client, supervisor.username)
    on_closure_page = form_post(client, f"/cases/closure-approvals/{request.id}", {"decision": "approve"},
                                page="/cases/closure-approvals")
    on_queue = form_post(client, "/supervision/approvals/closure/" + str(request.id),
                         {"decision": "approve", "comment": "ok"}, page="/supervision/approvals")
    assert on_closure_page.status_code == 403
    assert on_queue.status_code == 403
    db.session.expire_all()
    assert db.session.get(type(request), request.id).decision is None
    assert db.session.get(type(case), case.id).phase != "closed"
    refusals = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "permission_denied",
                                                           AuditEvent.object_id == str(request.id))).all()
    assert refusals


def test_risk_older_than_thirty_days_needs_no_approval(db, make_user, make_case):
    worker = make_user("counsellor")
    case = make_case(worker, risk_level="high")
    update_case(worker, case, case.version, {"risk_level": "low"})
    db.session.flush()
    for change in case.risk_history:
        change.at = utcnow() - timedelta(days=40 if change.risk_level == "high" else 31)
    db.session.commit()
    assert not phases.needs_approval(case)
    assert phases.request_closure(worker, case, case.version, "Well for a long time now.", "goals_achieved") is None
    assert case.phase == "closed"


def test_closed_case_is_read_only_and_reopening_needs_a_reason(db, make_user, make_case):
    worker = make_user("counsellor")
    case = make_case(worker, risk_level="low")
    phases.request_closure(worker, case, case.version, "All goals reached, thanks.", "goals_achieved")
    db.session.commit()
    with pytest.raises(Conflict):
        update_case(worker, case, case.version, {"priority": "high"})
    with pytest.raises(Invalid):
        phases.reopen(worker, case, case.version, "")
    phases.reopen(worker, case, case.version, "Client called again after losing her job.")
    db.session.commit()
    assert case.phase == "intake" and case.closed_at is None


def test_stale_phase_move_is_409(client, login_as, make_case, db, signed_plan):
    worker = login_as("counsellor")
    case = make_case(worker, risk_level="low")
    response = form_post(client, f"/cases/{case.id}/phase/recovery", {"version": "99"}, page=f"/cases/{case.id}")
    assert response.status_code == 409
    db.session.expire_all()
    assert db.session.get(Case, case.id).phase == "intake"


def test_closing_with_bad_input_shows_the_form_again_with_what_was_typed(client, login_as, make_case, db):
    worker = login_as("counsellor")
    case = make_case(worker, risk_level="low")
    response = form_post(client, f"/cases/{case.id}/close", {"version": str(case.version), "reason": "",
                                                             "summary": "Too short"}, page=f"/cases/{case.id}")
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "Too short" in body and "at least 10 characters" in body and "Choose a reason" in body
    db.session.expire_all()
    assert db.session.get(Case, case.id).phase != "closed"


def test_reopening_without_a_reason_shows_the_form_again(client, login_as, make_case, db):
    worker = login_as("counsellor")
    case = make_case(worker, risk_level="low")
    phases.request_closure(worker, case, case.version, "All goals reached, thanks.", "goals_achieved")
    db.session.commit()
    response = form_post(client, f"/cases/{case.id}/reopen", {"version": str(case.version), "reason": "Short"},
                         page=f"/cases/{case.id}")
    assert response.status_code == 400
    assert "at least 10 characters" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Case, case.id).phase == "closed"


def test_only_supervisors_decide_closures(app, client, make_user, make_case, db):
    supervisor = make_user("supervisor")
    worker = make_user("counsellor", team=supervisor.team)
    case = make_case(worker, risk_level="high")
    update_case(worker, case, case.version, {"risk_level": "low"})
    request = phases.request_closure(worker, case, case.version, "Stable for a month, back at work.", "other")
    db.session.commit()
    colleague = make_user("counsellor", team=supervisor.team)
    sign_in(client, colleague.username)
    assert client.get("/cases/closure-approvals").status_code == 403
    assert form_post(client, f"/cases/closure-approvals/{request.id}", {"decision": "approve"},
                     page=f"/cases/{case.id}").status_code == 403
    boss = app.test_client()
    sign_in(boss, supervisor.username)
    assert form_post(boss, "/cases/closure-approvals/not-a-uuid", {"decision": "approve"},
                     page="/cases/closure-approvals").status_code == 404
    db.session.expire_all()
    assert db.session.get(ClosureRequest, request.id).decision is None
    assert db.session.get(Case, case.id).phase != "closed"
