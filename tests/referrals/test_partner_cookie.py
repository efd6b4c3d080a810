"""No secret in a URL: the first visit of /p/<token> checks the token, moves it into a short-lived
cookie and redirects to /p/ without it; the page and its form work from the cookie."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from carecycle.database import utcnow
from referrals.models import PartnerLink, Referral
from referrals.views.partner import PARTNER_COOKIE
from tests.referrals.test_partner_link import _csrf


def _set_cookie(response) -> str:
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(PARTNER_COOKIE + "=")]
    assert len(headers) == 1, response.headers.getlist("Set-Cookie")
    return headers[0]


def test_the_link_hands_the_token_to_a_cookie_and_redirects_without_it(client, db, sent):
    _referral, token, _worker = sent
    response = client.get(f"/p/{token}")
    assert response.status_code == 303 and response.headers["Location"] == "/p/"
    cookie = _set_cookie(response)
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in attributes and "samesite=lax" in attributes and "path=/p" in attributes
    assert "max-age=1800" in attributes and "secure" not in attributes  # Secure in production (below)
    page = client.get("/p/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Ming" in html and token not in html
    assert '<form method="post" novalidate class="narrow partner-actions">' in html  # posts back to /p/


def test_the_cookie_is_secure_in_production(app, client, db, sent):
    _referral, token, _worker = sent
    app.config["SESSION_COOKIE_SECURE"] = True
    try:
        response = client.get(f"/p/{token}")
    finally:
        app.config["SESSION_COOKIE_SECURE"] = False
    assert "secure" in [part.strip().lower() for part in _set_cookie(response).split(";")]


def test_the_partner_answers_from_the_cookie(client, db, sent):
    referral, token, _worker = sent
    page = client.get(f"/p/{token}", follow_redirects=True).get_data(as_text=True)
    response = client.post("/p/", data={"csrf_token": _csrf(page), "action": "acknowledged", "note": ""})
    assert response.status_code == 200 and "Thank you, recorded" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Referral, referral.id).status == "acknowledged"


@pytest.mark.parametrize("cookie", [None, "forged-value", "not.a.valid.signature"])
def test_without_a_valid_cookie_the_page_shows_nothing(client, db, sent, cookie):
    referral, _token, _worker = sent
    if cookie:
        client.set_cookie(PARTNER_COOKIE, cookie, path="/p")
    for response in (client.get("/p/"), client.post("/p/", data={"action": "acknowledged"})):
        html = response.get_data(as_text=True)
        assert response.status_code in (400, 404) and "Ming" not in html and "Weekly home visits" not in html
    db.session.expire_all()
    assert db.session.get(Referral, referral.id).status == "sent"


def test_a_cookie_older_than_30_minutes_no_longer_works(client, db, sent, monkeypatch):
    from itsdangerous import TimestampSigner
    _referral, token, _worker = sent
    real = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: real(self) - 31 * 60)
    client.get(f"/p/{token}")  # the cookie is signed 31 minutes ago
    monkeypatch.setattr(TimestampSigner, "get_timestamp", real)
    response = client.get("/p/")
    assert response.status_code == 404 and "Ming" not in response.get_data(as_text=True)


def test_the_cookie_holds_a_token_for_its_link_only_while_the_link_is_open(client, db, sent):
    referral, token, _worker = sent
    client.get(f"/p/{token}")
    link = db.session.scalar(select(PartnerLink).where(PartnerLink.referral_id == referral.id))
    link.revoked_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    response = client.get("/p/")
    assert response.status_code == 410 and "This link is not valid" in response.get_data(as_text=True)


def test_an_invalid_token_gives_the_same_page_as_before_and_no_cookie(client, db):
    response = client.get("/p/not-a-real-token")
    assert response.status_code == 404 and "This link is not valid" in response.get_data(as_text=True)
    assert not [h for h in response.headers.getlist("Set-Cookie") if h.startswith(PARTNER_COOKIE)]


def test_the_worker_is_shown_the_link_with_its_token(client, db, login_as, make_referral):
    """The letter still carries /p/<token>: only the partner's browser drops it from the address."""
    from tests.conftest import form_post
    worker = login_as("counsellor")
    referral = make_referral(worker, "sent")
    renewed = form_post(client, f"/referrals/{referral.id}/link", {}, page=f"/referrals/{referral.id}")
    assert re.search(r"/p/[A-Za-z0-9_\-]{40,}", renewed.get_data(as_text=True))
