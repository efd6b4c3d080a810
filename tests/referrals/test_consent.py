"""The consent gate on sending, and the audited tier-1 override for high and imminent risk."""
import pytest
from sqlalchemy import select

from carecycle.audit import AuditEvent
from casework.service import clients as client_service
from referrals.models import PartnerLink, Referral
from tests.conftest import form_post, sign_in

REASON = "Acute crisis tonight; client cannot be asked now and the assessment cannot wait."


def _draft(make_referral, worker, **kwargs):
    return make_referral(worker, "draft", with_consent=False, **kwargs)


def test_sending_without_consent_is_blocked_with_409_consent_required(client, db, make_user, make_referral, bearer):
    worker = make_user("counsellor")
    referral = _draft(make_referral, worker)
    response = client.post(f"/api/v1/referrals/{referral.id}/status", json={"status": "sent"}, headers=bearer(worker))
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "consent_required" and "consent" in error["message"]
    db.session.expire_all()
    stored = db.session.get(Referral, referral.id)
    assert stored.status == "draft" and stored.sent_at is None and stored.shared is None
    assert db.session.scalar(select(PartnerLink).where(PartnerLink.referral_id == referral.id)) is None


def test_with_consent_it_is_sent_and_a_withdrawn_consent_blocks_again(client, db, make_user, make_referral, consent,
                                                                      bearer):
    worker = make_user("counsellor")
    referral = _draft(make_referral, worker)
    consent(referral.client, worker)
    response = client.post(f"/api/v1/referrals/{referral.id}/status", json={"status": "sent"}, headers=bearer(worker))
    assert response.status_code == 200 and response.get_json()["status"] == "sent"
    assert "/p/" in response.get_json()["partner_link"]
    second = make_referral(worker, "draft", case=referral.case, with_consent=False)
    given = next(c for c in second.client.consents if c.scope == "referral_sharing")
    client_service.withdraw_consent(worker, second.client, given.id)
    db.session.commit()
    response = client.post(f"/api/v1/referrals/{second.id}/status", json={"status": "sent"}, headers=bearer(worker))
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "consent_required"


def test_the_page_shows_the_block_and_a_clear_message(client, db, login_as, make_referral):
    worker = login_as("counsellor")
    referral = _draft(make_referral, worker)
    page = client.get(f"/referrals/{referral.id}").get_data(as_text=True)
    assert "No consent to share with referral partners." in page
    assert "Send without consent" not in page  # tier 3, moderate risk: no override offered
    response = form_post(client, f"/referrals/{referral.id}/send", {}, page=f"/referrals/{referral.id}")
    assert response.status_code == 409
    assert "has not given consent" in response.get_data(as_text=True)


@pytest.mark.parametrize("risk", ["high", "imminent"])
def test_tier_1_high_or_imminent_risk_may_override_with_a_reason_audited_and_listed(
        client, db, make_user, make_referral, bearer, login_as, risk):
    worker = make_user("counsellor")
    referral = _draft(make_referral, worker, tier=1, risk_level=risk)
    headers = bearer(worker)
    short = client.post(f"/api/v1/referrals/{referral.id}/status",
                        json={"status": "sent", "override_reason": "urgent"}, headers=headers)
    assert short.status_code == 422 and "override_reason" in short.get_json()["error"]["fields"]
    response = client.post(f"/api/v1/referrals/{referral.id}/status",
                           json={"status": "sent", "override_reason": REASON}, headers=headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["consent_override"] is True
    db.session.expire_all()
    stored = db.session.get(Referral, referral.id)
    assert stored.status == "sent" and stored.override_reason == REASON and stored.override_by_id == worker.id
    assert REASON not in (stored._override_reason or "")  # stored encrypted
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "consent_override",
                                                       AuditEvent.object_id == str(referral.id)))
    assert event is not None and event.actor_id == worker.id and REASON not in (event.reason or "")
    # listed for the supervisor of the team, who marks it reviewed
    supervisor = login_as("supervisor", team=worker.team)
    listing = client.get("/referrals/overrides").get_data(as_text=True)
    assert REASON in listing and f"/referrals/{referral.id}/override/review" in listing
    done = form_post(client, f"/referrals/{referral.id}/override/review", {}, page="/referrals/overrides")
    assert done.status_code == 302
    db.session.expire_all()
    stored = db.session.get(Referral, referral.id)
    assert stored.override_reviewed_by_id == supervisor.id
    assert REASON not in client.get("/referrals/overrides").get_data(as_text=True)
    assert REASON in client.get("/referrals/overrides?all=1").get_data(as_text=True)


@pytest.mark.parametrize("tier, risk", [(2, "high"), (3, "imminent"), (1, "moderate"), (1, "low")])
def test_no_override_outside_tier_1_at_high_or_imminent_risk(client, db, make_user, make_referral, bearer, tier, risk):
    worker = make_user("counsellor")
    referral = _draft(make_referral, worker, tier=tier, risk_level=risk)
    response = client.post(f"/api/v1/referrals/{referral.id}/status",
                           json={"status": "sent", "override_reason": REASON}, headers=bearer(worker))
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "consent_required"
    db.session.expire_all()
    assert db.session.get(Referral, referral.id).status == "draft"
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "consent_override")) is None


def test_the_override_on_the_page(client, db, login_as, make_referral):
    worker = login_as("counsellor")
    referral = _draft(make_referral, worker, tier=1, risk_level="imminent")
    page = client.get(f"/referrals/{referral.id}").get_data(as_text=True)
    assert "Send without consent" in page
    response = form_post(client, f"/referrals/{referral.id}/send", {"override_reason": REASON},
                         page=f"/referrals/{referral.id}")
    assert response.status_code == 200 and "Referral sent" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Referral, referral.id).consent_override is True


def test_other_teams_supervisors_and_workers_do_not_see_the_override(app, client, db, make_user, make_referral,
                                                                     login_as):
    worker = make_user("counsellor")
    referral = _draft(make_referral, worker, tier=1, risk_level="high")
    from referrals.service import referrals as service
    service.send(worker, referral, override_reason=REASON)
    db.session.commit()
    login_as("supervisor", team="elsewhere")
    assert REASON not in client.get("/referrals/overrides").get_data(as_text=True)
    assert form_post(client, f"/referrals/{referral.id}/override/review", {},
                     page="/referrals/overrides").status_code == 404
    colleague = app.test_client()
    sign_in(colleague, make_user("counsellor", team=worker.team).username)
    assert colleague.get("/referrals/overrides").status_code == 403


def test_marking_an_override_reviewed_needs_the_csrf_token(client, db, make_user, make_referral, login_as):
    worker = make_user("counsellor")
    referral = _draft(make_referral, worker, tier=1, risk_level="imminent")
    from referrals.service import referrals as service
    service.send(worker, referral, override_reason=REASON)
    db.session.commit()
    login_as("supervisor", team=worker.team)
    assert client.post(f"/referrals/{referral.id}/override/review").status_code == 400
    db.session.expire_all()
    assert db.session.get(Referral, referral.id).override_reviewed_at is None
    assert REASON in client.get("/referrals/overrides").get_data(as_text=True)  # still to review
