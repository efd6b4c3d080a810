"""Partner links: only the shared fields, actions without an account, expiry, revocation,
rate limiting, audit, and no access to anything else."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from carecycle.audit import AuditEvent
from carecycle.database import utcnow
from referrals.models import PartnerLink, Referral, ReferralEvent
from referrals.service import links


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def test_the_partner_sees_only_the_shared_fields(client, db, sent, make_client):
    referral, token, worker = sent
    # a clinical note on the case: never on the partner page
    from casework.models import ContactNote
    note = ContactNote(case_id=referral.case_id, kind="clinical", mode="phone", at=utcnow(), author_id=worker.id)
    note.body = "Clinical: passive suicidal ideation, no plan."
    db.session.add(note)
    db.session.commit()
    response = client.get(f"/p/{token}", follow_redirects=True)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Ming" in page and "5123 4567" in page
    assert "Weekly home visits" in page  # the reason is written for the partner
    for hidden in ("Wong Siu Ming", "Harbour View", "1950", "A1234567", "Lives alone", "6111 2222",
                   "suicidal", "Moderate risk", str(referral.case_id)):
        assert hidden not in page, hidden
    assert 'href="/cases' not in page and 'href="/clients' not in page and "Sign out" not in page
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_the_shared_values_are_frozen_when_sent(client, db, sent):
    referral, token, _worker = sent
    referral.client.phone = "5999 0000"
    db.session.commit()
    page = client.get(f"/p/{token}", follow_redirects=True).get_data(as_text=True)
    assert "5123 4567" in page and "5999 0000" not in page


def test_the_partner_acknowledges_accepts_starts_and_completes_with_notes(client, db, sent):
    referral, token, _worker = sent
    for action, note in (("acknowledged", ""), ("accepted", "First visit Monday."), ("in_service", ""),
                         ("completed", "Visited four times; now joins the Tuesday group.")):
        page = client.get(f"/p/{token}", follow_redirects=True).get_data(as_text=True)
        assert f'value="{action}"' in page
        response = client.post("/p/", data={"csrf_token": _csrf(page), "action": action, "note": note})
        assert response.status_code == 200, response.get_data(as_text=True)
    db.session.expire_all()
    stored = db.session.get(Referral, referral.id)
    assert stored.status == "completed" and stored.outcome.startswith("Visited four times")
    events = db.session.scalars(select(ReferralEvent).where(ReferralEvent.referral_id == referral.id,
                                                            ReferralEvent.via_partner_link.is_(True))).all()
    assert [e.to_status for e in sorted(events, key=lambda e: e.at)] == [
        "acknowledged", "accepted", "in_service", "completed"]
    assert all(e.actor_id is None for e in events)
    # completed: the link closes and shows nothing any more
    after = client.get(f"/p/{token}", follow_redirects=True)
    assert after.status_code == 410 and "Ming" not in after.get_data(as_text=True)


def test_the_partner_declines_with_a_reason_and_cannot_skip_steps(client, db, sent):
    referral, token, _worker = sent
    page = client.get(f"/p/{token}", follow_redirects=True).get_data(as_text=True)
    skip = client.post("/p/", data={"csrf_token": _csrf(page), "action": "accepted", "note": ""})
    assert skip.status_code == 409
    close = client.post("/p/", data={"csrf_token": _csrf(page), "action": "closed", "note": ""})
    assert close.status_code == 409
    client.post("/p/", data={"csrf_token": _csrf(page), "action": "acknowledged", "note": ""})
    page = client.get(f"/p/{token}", follow_redirects=True).get_data(as_text=True)
    empty = client.post("/p/", data={"csrf_token": _csrf(page), "action": "declined", "note": " "})
    assert empty.status_code == 400 and "Say why the referral is declined." in empty.get_data(as_text=True)
    done = client.post("/p/", data={"csrf_token": _csrf(page), "action": "declined",
                                            "note": "We only serve people over 65."})
    assert done.status_code == 200
    db.session.expire_all()
    assert db.session.get(Referral, referral.id).status == "declined"


def test_a_post_without_csrf_changes_nothing(client, db, sent):
    referral, token, _worker = sent
    response = client.post(f"/p/{token}", data={"action": "acknowledged"})
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Referral, referral.id).status == "sent"


def test_every_view_and_action_is_audited(client, db, sent):
    referral, token, _worker = sent
    page = client.get(f"/p/{token}", follow_redirects=True).get_data(as_text=True)
    client.post("/p/", data={"csrf_token": _csrf(page), "action": "acknowledged", "note": ""})
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.object_id == str(referral.id))).all()
    views = [e for e in events if e.action == "view" and (e.reason or "").startswith("partner_link:")]
    assert len(views) == 1 and views[0].actor_id is None
    assert any(e.reason == "partner_link:status:sent->acknowledged" and e.actor_id is None for e in events)
    assert any(e.action == "partner_action" for e in events)


@pytest.mark.parametrize("how", ["expired", "revoked"])
def test_an_expired_or_revoked_link_shows_a_plain_message_only(client, db, sent, how):
    referral, token, worker = sent
    link = db.session.scalar(select(PartnerLink).where(PartnerLink.referral_id == referral.id))
    if how == "expired":
        link.expires_at = utcnow() - timedelta(seconds=1)
    else:
        links.revoke_all(referral, worker)
    db.session.commit()
    csrf = _csrf(client.get("/refer").get_data(as_text=True))
    for response in (client.get(f"/p/{token}", follow_redirects=True),
                     client.post(f"/p/{token}", data={"action": "acknowledged", "csrf_token": csrf})):
        assert response.status_code == 410
        page = response.get_data(as_text=True)
        assert "This link is not valid" in page
        for hidden in ("Ming", "5123", "Weekly home visits", referral.service.name, "<form", "<nav"):
            assert hidden not in page
    db.session.expire_all()
    assert db.session.get(Referral, referral.id).status == "sent"
    denied = db.session.scalar(select(AuditEvent).where(AuditEvent.object_type == "partner_link",
                                                        AuditEvent.outcome == "denied", AuditEvent.reason == how))
    assert denied is not None


def test_links_last_30_days_and_the_token_is_stored_hashed(db, sent):
    referral, token, _worker = sent
    link = db.session.scalar(select(PartnerLink).where(PartnerLink.referral_id == referral.id))
    assert abs((link.expires_at - link.created_at) - timedelta(days=30)) < timedelta(seconds=1)
    assert link.token_hash == links.token_hash(token) and token not in link.token_hash
    assert len(token) >= 40


def test_an_unknown_token_is_404_and_a_new_link_replaces_the_old(client, db, sent, login_as):
    referral, old_token, worker = sent
    assert client.get("/p/not-a-real-token").status_code == 404
    new_link, new_token = links.issue(worker, referral)
    db.session.commit()
    assert client.get(f"/p/{old_token}", follow_redirects=True).status_code == 410
    assert client.get(f"/p/{new_token}", follow_redirects=True).status_code == 200


def test_the_worker_revokes_and_renews_from_the_referral_page(client, db, login_as, make_referral):
    from tests.conftest import form_post
    worker = login_as("counsellor")
    referral = make_referral(worker, "sent")
    page = f"/referrals/{referral.id}"
    renewed = form_post(client, f"/referrals/{referral.id}/link", {}, page=page)
    assert renewed.status_code == 200
    token = re.search(r"/p/([A-Za-z0-9_\-]+)", renewed.get_data(as_text=True)).group(1)
    assert client.get(f"/p/{token}", follow_redirects=True).status_code == 200
    assert form_post(client, f"/referrals/{referral.id}/link/revoke", {}, page=page).status_code == 302
    assert client.get(f"/p/{token}", follow_redirects=True).status_code == 410


def test_a_link_gives_no_access_to_anything_else(client, db, sent, make_referral, make_user):
    referral, token, _worker = sent
    other = make_referral(make_user("counsellor"), "sent")
    client.get(f"/p/{token}", follow_redirects=True)
    # still anonymous: staff pages and the API refuse
    for path in (f"/referrals/{referral.id}", f"/referrals/{other.id}", f"/cases/{referral.case_id}",
                 f"/referrals/{referral.id}/letter", "/referrals"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
    assert client.get(f"/api/v1/referrals/{referral.id}").status_code == 401
    # the token is bound to its referral only
    page = client.get(f"/p/{token}", follow_redirects=True).get_data(as_text=True)
    assert str(other.id) not in page and other.reason not in page


def test_partner_links_are_rate_limited(app, client, db, sent):
    referral, token, _worker = sent
    limit = app.config["REFERRALS_PARTNER_TOKEN_LIMIT"]
    app.config["REFERRALS_PARTNER_TOKEN_LIMIT"] = 3
    try:
        responses = [client.get(f"/p/{token}") for _ in range(5)]  # each checks the token once
    finally:
        app.config["REFERRALS_PARTNER_TOKEN_LIMIT"] = limit
    assert [r.status_code for r in responses] == [303, 303, 303, 429, 429]
    assert "Ming" not in responses[-1].get_data(as_text=True)
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.reason == "rate_limited")) is not None


def test_guessing_tokens_is_rate_limited_per_address(app, client, db):
    limit = app.config["REFERRALS_PARTNER_RATE_LIMIT"]
    app.config["REFERRALS_PARTNER_RATE_LIMIT"] = 4
    try:
        codes = [client.get(f"/p/guess{n}").status_code for n in range(6)]
    finally:
        app.config["REFERRALS_PARTNER_RATE_LIMIT"] = limit
    assert codes == [404, 404, 404, 404, 429, 429]
