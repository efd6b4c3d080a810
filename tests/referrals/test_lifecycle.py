"""The referral lifecycle: every allowed move, every refused one (409 `invalid_transition`),
notes that some moves require, response deadlines by tier, overdue marks."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from carecycle.audit import AuditEvent
from carecycle.database import utcnow
from carecycle.mode import switch_mode
from casework.models import CaseEvent
from referrals.enums import CloseReason, ReferralStatus
from referrals.models import PartnerLink, Referral, ReferralEvent
from referrals.service import referrals as service
from referrals.service.common import TransitionRefused
from tests.conftest import form_post

STATUSES = [s.value for s in ReferralStatus]
NOTES = {"declined": "No places left this month.", "completed": "Attended all six sessions."}

ALLOWED = [(current.value, target.value, None) for current, targets in service.TRANSITIONS.items()
           for target in targets if target is not ReferralStatus.CLOSED]
ALLOWED += [(current.value, "closed", reason.value) for reason, states in service.CLOSE_REASONS.items()
            for current in states]


def test_the_lifecycle_table_is_the_one_the_issue_names():
    moves = {s.value: sorted(t.value for t in targets) for s, targets in service.TRANSITIONS.items()}
    assert moves == {
        "draft": ["closed", "sent"], "sent": ["acknowledged", "closed"],
        "acknowledged": ["accepted", "closed", "declined"], "accepted": ["closed", "in_service"],
        "in_service": ["closed", "completed"], "declined": [], "completed": [], "closed": []}


@pytest.mark.parametrize("current, target, reason", ALLOWED)
def test_every_allowed_move_through_the_api(client, db, make_user, make_referral, bearer, current, target, reason):
    worker = make_user("counsellor")
    referral = make_referral(worker, current)
    body = {"status": target, "note": NOTES.get(target, "")}
    if reason:
        body["close_reason"] = reason
    response = client.post(f"/api/v1/referrals/{referral.id}/status", json=body, headers=bearer(worker))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == target
    db.session.expire_all()
    stored = db.session.get(Referral, referral.id)
    assert stored.status == target
    last = db.session.scalars(select(ReferralEvent).where(ReferralEvent.referral_id == referral.id)
                              .order_by(ReferralEvent.at.desc())).first()
    assert (last.from_status, last.to_status, last.actor_id) == (current, target, worker.id)
    if reason:
        assert stored.close_reason == reason
    assert db.session.scalar(select(AuditEvent).where(
        AuditEvent.object_id == str(referral.id), AuditEvent.reason == f"status:{current}->{target}"))
    kinds = db.session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == referral.case_id)).all()
    assert f"referral_{target}" in kinds


@pytest.mark.parametrize("current", STATUSES)
def test_every_other_move_is_refused_with_409_and_changes_nothing(client, db, make_user, make_referral, bearer,
                                                                   current):
    worker = make_user("counsellor")
    referral = make_referral(worker, current)
    headers = bearer(worker)
    allowed = {t.value for t in service.TRANSITIONS[ReferralStatus(current)]}
    version = referral.version
    for target in STATUSES:
        if target in allowed:
            continue
        body = {"status": target, "note": "a note", "close_reason": "withdrawn"}
        response = client.post(f"/api/v1/referrals/{referral.id}/status", json=body, headers=headers)
        assert response.status_code == 409, (current, target, response.get_json())
        assert response.get_json()["error"]["code"] == "invalid_transition"
    db.session.expire_all()
    stored = db.session.get(Referral, referral.id)
    assert stored.status == current and stored.version == version


@pytest.mark.parametrize("current, reason", [
    (state.value, reason.value) for reason in CloseReason for state in ReferralStatus
    if state in service.TRANSITIONS and ReferralStatus.CLOSED in service.TRANSITIONS[state]
    and state not in service.CLOSE_REASONS[reason]])
def test_closing_with_a_reason_that_does_not_fit_the_state_is_refused(client, db, make_user, make_referral, bearer,
                                                                       current, reason):
    worker = make_user("counsellor")
    referral = make_referral(worker, current)
    response = client.post(f"/api/v1/referrals/{referral.id}/status", json={"status": "closed", "close_reason": reason},
                           headers=bearer(worker))
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "invalid_transition"


@pytest.mark.parametrize("current, target, field", [
    ("acknowledged", "declined", "note"), ("in_service", "completed", "note"), ("sent", "closed", "close_reason")])
def test_a_decline_needs_a_reason_a_completion_an_outcome_and_a_closing_its_reason(
        client, db, make_user, make_referral, bearer, current, target, field):
    worker = make_user("counsellor")
    referral = make_referral(worker, current)
    response = client.post(f"/api/v1/referrals/{referral.id}/status", json={"status": target, "note": "  "},
                           headers=bearer(worker))
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]
    db.session.expire_all()
    assert db.session.get(Referral, referral.id).status == current


def test_an_unknown_status_is_invalid_not_a_transition(client, db, make_user, make_referral, bearer):
    worker = make_user("counsellor")
    referral = make_referral(worker, "sent")
    response = client.post(f"/api/v1/referrals/{referral.id}/status", json={"status": "lost"}, headers=bearer(worker))
    assert response.status_code == 422 and "status" in response.get_json()["error"]["fields"]


def test_status_changes_on_the_page(client, db, login_as, make_referral):
    worker = login_as("counsellor")
    referral = make_referral(worker, "sent")
    page = f"/referrals/{referral.id}"
    response = form_post(client, f"/referrals/{referral.id}/status", {"status": "acknowledged", "note": ""}, page=page)
    assert response.status_code == 302
    response = form_post(client, f"/referrals/{referral.id}/status", {"status": "declined", "note": ""}, page=page)
    assert response.status_code == 400 and "Say why the referral is declined." in response.get_data(as_text=True)
    response = form_post(client, f"/referrals/{referral.id}/status", {"status": "completed", "note": "x"}, page=page)
    assert response.status_code == 409 and "cannot become" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Referral, referral.id).status == "acknowledged"


@pytest.mark.parametrize("tier, hours", [(1, 1), (2, 24), (3, 72)])
def test_response_deadline_by_tier_halved_in_emergency_mode(db, make_user, make_referral, tier, hours):
    worker = make_user("counsellor")
    referral = make_referral(worker, "sent", tier=tier)
    assert abs((referral.respond_by - referral.sent_at) - timedelta(hours=hours)) < timedelta(seconds=5)
    switch_mode("emergency", make_user("supervisor", team=worker.team), "Typhoon signal 10")
    db.session.commit()
    urgent = make_referral(worker, "sent", tier=tier)
    assert abs((urgent.respond_by - urgent.sent_at) - timedelta(hours=hours) / 2) < timedelta(seconds=5)


def test_overdue_referrals_are_marked_for_the_worker_and_the_supervisor(client, db, make_user, make_referral, login_as,
                                                                         bearer):
    worker = login_as("counsellor")
    supervisor = make_user("supervisor", team=worker.team)
    late = make_referral(worker, "sent", tier=1)
    late.respond_by = utcnow() - timedelta(minutes=5)
    on_time = make_referral(worker, "sent", tier=3)
    answered = make_referral(worker, "acknowledged", tier=1)
    answered.respond_by = utcnow() - timedelta(minutes=5)  # answered in time: no longer overdue
    db.session.commit()
    assert late.overdue and not on_time.overdue and not answered.overdue
    listing = client.get("/referrals?overdue=1").get_data(as_text=True)
    assert f"/referrals/{late.id}" in listing and f"/referrals/{on_time.id}" not in listing
    assert "1 referral is overdue." in client.get("/referrals").get_data(as_text=True)
    case_page = client.get(f"/cases/{late.case_id}").get_data(as_text=True)
    assert "Overdue" in case_page
    body = client.get("/api/v1/referrals?overdue=1", headers=bearer(supervisor)).get_json()
    assert [r["id"] for r in body["referrals"]] == [str(late.id)]
    assert body["referrals"][0]["overdue"] is True


def test_ending_a_referral_revokes_its_partner_link(db, make_user, make_referral):
    worker = make_user("counsellor")
    referral = make_referral(worker, "acknowledged")
    service.change_status(worker, referral, "declined", note="Full.")
    db.session.commit()
    links = db.session.scalars(select(PartnerLink).where(PartnerLink.referral_id == referral.id)).all()
    assert links and all(link.revoked_at is not None for link in links)


def test_service_refuses_directly_too(db, make_user, make_referral):
    worker = make_user("counsellor")
    referral = make_referral(worker, "completed")
    with pytest.raises(TransitionRefused):
        service.change_status(worker, referral, "in_service")
    with pytest.raises(TransitionRefused):
        service.change_status(None, make_referral(worker, "sent"), "closed", close_reason="expired",
                              via_partner_link=True)


def test_a_closed_case_cannot_get_a_new_referral(client, db, make_user, make_case, make_service, bearer):
    worker = make_user("counsellor")
    case = make_case(worker)
    case.phase = "closed"
    db.session.commit()
    svc = make_service()
    response = client.post(f"/api/v1/cases/{case.id}/referrals", headers=bearer(worker), json={
        "service_id": str(svc.id), "reason": "x", "urgency": "routine", "share": []})
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "invalid_transition"
