"""One request must not take the service down: small bodies on public endpoints, long answer lists
refused at once, every request to a rate-limited endpoint counted, deep JSON and numbers that do
not fit answered 400/422 (never 500)."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from carecycle.accounts.models import Team, User
from carecycle.limits import PUBLIC_BODY_LIMIT
from carecycle.ratelimit import RateLimitHit
from screening.models import ScreeningResult
from tests.conftest import form_post


def test_the_reviews_huge_screening_is_refused_before_it_is_read(client, db):
    body = json.dumps({"instrument": "phq9", "answers": [0] * 650_000})  # 1.95 MB
    response = client.post("/api/v1/screenings", data=body, content_type="application/json")
    assert response.status_code == 413
    assert response.json["error"]["code"] == "too_large" and len(response.data) < 1000
    assert db.session.scalar(select(func.count()).select_from(ScreeningResult)) == 0


def test_a_long_answer_list_within_the_body_limit_gets_one_short_error(client, db):
    response = client.post("/api/v1/screenings", json={"instrument": "phq9", "answers": [0] * 4000})
    assert response.status_code == 422
    assert list(response.json["error"]["fields"]) == ["answers"] and len(response.data) < 1000
    assert db.session.scalar(select(func.count()).select_from(ScreeningResult)) == 0


@pytest.mark.parametrize("path", ["/refer", "/register", "/login"])
def test_public_pages_take_small_bodies_only(client, path):
    response = client.post(path, data={"concern": "x" * (PUBLIC_BODY_LIMIT + 1)})
    assert response.status_code == 413
    assert "larger than allowed" in response.get_data(as_text=True)


def test_staff_endpoints_keep_the_larger_limit(client, login_as):
    """The 16 KiB limit is for public endpoints: a staff form may be larger (up to MAX_CONTENT_LENGTH)."""
    login_as("supervisor")
    response = client.post("/clients/new", data={"notes": "x" * (PUBLIC_BODY_LIMIT * 4)})
    assert response.status_code != 413


def test_refused_screenings_count_towards_the_limit(client, app, db):
    """The review's 40 invalid requests in a row never met a 429: now each one counts."""
    limit = app.config["SCREENING_RATE_LIMIT"]
    app.config["SCREENING_RATE_LIMIT"] = 3
    try:
        codes = [client.post("/api/v1/screenings", json={"instrument": "phq9", "answers": ["bad"]}).status_code
                 for _ in range(3)]
        codes.append(client.post("/api/v1/screenings", json={"instrument": "phq9", "answers": [0] * 9}).status_code)
        too_large = client.post("/api/v1/screenings", data="x" * (PUBLIC_BODY_LIMIT + 1),
                                content_type="application/json")
    finally:
        app.config["SCREENING_RATE_LIMIT"] = limit
    assert codes == [422, 422, 422, 429]
    assert too_large.status_code == 413
    assert db.session.scalar(select(func.count()).select_from(ScreeningResult)) == 0
    assert db.session.scalar(select(func.count()).select_from(RateLimitHit)
                             .where(RateLimitHit.bucket == "screening")) == 3


def test_refused_inbound_referrals_count_too(client, app, db):
    from tests.conftest import csrf_from
    limit = app.config["REFERRALS_INBOUND_RATE_LIMIT"]
    app.config["REFERRALS_INBOUND_RATE_LIMIT"] = 2
    try:
        token = csrf_from(client.get("/refer"))
        codes = [client.post("/refer", data={"csrf_token": token}).status_code for _ in range(3)]
    finally:
        app.config["REFERRALS_INBOUND_RATE_LIMIT"] = limit
    assert codes == [400, 400, 429]


@pytest.mark.parametrize("body", ["[" * 100_000 + "]" * 100_000, '{"a":' * 100 + "1" + "}" * 100])
def test_deeply_nested_json_is_a_bad_request(client, body):
    response = client.post("/api/v1/screenings", data=body[:PUBLIC_BODY_LIMIT - 1] if len(body) > PUBLIC_BODY_LIMIT
                           else body, content_type="application/json")
    assert response.status_code == 400 and response.json["error"]["code"] == "bad_request"


@pytest.mark.parametrize("path", ["/library/", "/alerts", "/api/v1/cases", "/supervision/audit"])
def test_page_numbers_that_do_not_fit_are_refused(client, login_as, path):
    login_as("supervisor")
    response = client.get(path, query_string={"page": "1" + "0" * 24})
    assert response.status_code in (400, 422)
    if path.startswith("/api/"):
        assert response.json["error"]["fields"] == {"page": "A whole number from 1 to 100000."}
    else:
        assert "whole number from 1 to 100000" in response.get_data(as_text=True)


def test_path_numbers_that_do_not_fit_are_not_found(client, login_as, make_case):
    me = login_as("counsellor")
    case = make_case(me)
    assert client.get(f"/cases/{case.id}/safety-plan/{'9' * 23}").status_code == 404


@pytest.mark.parametrize("path, form, created", [
    ("/admin/users/new", {"username": "a\x00b", "password": "a long enough password", "role": "counsellor"},
     lambda: select(func.count()).select_from(User).where(User.username.like("a%b"))),
    ("/admin/teams", {"name": "a\x00b"}, lambda: select(func.count()).select_from(Team).where(Team.name.like("a%b"))),
])
def test_a_nul_character_is_refused_not_a_server_error(client, db, login_as, path, form, created):
    """PostgreSQL cannot store or compare a NUL character: it is refused before any query."""
    login_as("admin")
    assert client.get("/admin/users", query_string={"q": "a\x00b"}).status_code == 400
    # with a valid CSRF token, so that it is the NUL rule (not the CSRF check) that refuses it
    refused = form_post(client, path, form)
    assert refused.status_code == 400
    assert "character that is not allowed (NUL)" in refused.get_data(as_text=True)
    assert db.session.scalar(created()) == 0
    api = client.post("/api/v1/screenings", json={"instrument": "phq9\x00", "answers": [0] * 9})
    assert api.status_code == 400
