"""The served access log holds no personal data and no secret: the real server (gunicorn with
`--config python:carecycle.gunicorn_conf`, as `make run` starts it) on the test database, a client
search through the form, an old search link, a partner link, a resident's link code; then the log
is read. The requests are there, the name, phone, ID number, token and link code are not."""
from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request

import pytest

from casework.service import safety
from tests.conftest import PASSWORD
from tests.served import gunicorn

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
PERSON = {"full_name": "Wong Siu Ming", "preferred_name": "Ming", "phone": "5123 4567", "id_number": "A1234567"}


class Browser:
    """A cookie-keeping HTTP client that follows redirects, as a browser does."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def open(self, path: str, data: dict | None = None) -> tuple[int, str, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.base + path, data=body, timeout=30) as response:
                return response.status, response.geturl(), response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.geturl(), error.read().decode()

    def post_form(self, page: str, path: str, data: dict) -> tuple[int, str, str]:
        _status, _url, html = self.open(page)
        match = CSRF_RE.search(html)
        assert match, f"no CSRF token on {page}"
        return self.open(path, {**data, "csrf_token": match.group(1)})


@pytest.fixture
def server(app, db, tmp_path):
    """gunicorn serving the test database with the test app's keys; yields (base URL, access-log path)."""
    db.session.commit()
    db.session.remove()
    log = tmp_path / "access.log"
    with gunicorn(app, tmp_path, access_log=log) as base:
        yield base, log


@pytest.fixture
def data(db, make_user, make_client, make_case, make_referral):
    worker = make_user("counsellor")
    case = make_case(worker, client=make_client(worker.team, worker, **PERSON))
    referral = make_referral(worker, "sent", case=case, share=("preferred_name",))
    _row, code = safety.issue_link_code(worker, case)
    resident = make_user("resident")
    db.session.commit()
    return {"worker": worker.username, "resident": resident.username, "token": referral.partner_token,
            "code": code}


def _encodings(value: str) -> set[str]:
    """The ways a value can appear in a request line: as typed, %-encoded, +-encoded, without spaces/dashes."""
    return {value, urllib.parse.quote(value), urllib.parse.quote_plus(value), value.replace(" ", ""),
            value.replace("-", "")}


def test_the_access_log_holds_no_personal_data_and_no_secret(data, server):
    base, log = server
    worker = Browser(base)
    status, _url, _html = worker.post_form("/login", "/login", {"username": data["worker"], "password": PASSWORD})
    assert status == 200
    for criterion in ("full_name", "phone", "id_number"):  # the search form, as a worker fills it in
        field = "name" if criterion == "full_name" else criterion
        status, url, html = worker.post_form("/clients", "/clients", {field: PERSON[criterion]})
        assert status == 200 and "Search results" in html and PERSON["full_name"] in html, criterion
        assert url == base + "/clients"
    # an old bookmark with the phone in its URL: not searched, and masked in the log
    status, _url, html = worker.open("/clients?" + urllib.parse.urlencode({"phone": PERSON["phone"]}))
    assert status == 400 and "Search results" not in html

    partner = Browser(base)
    status, url, html = partner.open(f"/p/{data['token']}")
    assert status == 200 and url == base + "/p/" and "Ming" in html
    status, _url, html = partner.post_form("/p/", "/p/", {"action": "acknowledged", "note": ""})
    assert status == 200 and "Thank you, recorded" in html

    resident = Browser(base)
    resident.post_form("/login", "/login", {"username": data["resident"], "password": PASSWORD})
    status, url, _html = resident.post_form("/my/link", "/my/link", {"code": data["code"]})
    assert status == 200 and url == base + "/my/safety-plan"

    text = log.read_text()
    for request_line in ('"POST /login ', '"POST /clients ', '"GET /clients?phone=*** ', '"GET /p/*** ',
                         '"GET /p/ ', '"POST /p/ ', '"POST /my/link '):
        assert request_line in text, request_line  # the requests ARE logged
    secrets = [PERSON["full_name"], "Wong", PERSON["phone"], "51234567", PERSON["id_number"], data["token"],
               data["code"]]
    for secret in secrets:
        for form in _encodings(secret):
            assert form not in text, f"{secret!r} is in the access log"


@pytest.mark.parametrize("logged, expected", [
    ("GET /p/abc-DEF_123 HTTP/1.1", "GET /p/*** HTTP/1.1"),
    ("GET /p/ HTTP/1.1", "GET /p/ HTTP/1.1"),
    ("/login?next=%2Fp%2Fabc", "/login?next=%2Fp%2F***"),
    ("GET /clients?phone=5123+4567&page=2 HTTP/1.1", "GET /clients?phone=***&page=2 HTTP/1.1"),
    ("/api/v1/clients?ID_Number=A1234567", "/api/v1/clients?ID_Number=***"),
    ("/fhir/R4/Patient?identifier=A1&name=Wong%20Siu&_count=5", "/fhir/R4/Patient?identifier=***&name=***&_count=5"),
    ("/library?q=self+harm&topic=sleep", "/library?q=***&topic=sleep"),
    ("/referrals?status=sent&overdue=1", "/referrals?status=sent&overdue=1"),
])
def test_the_logger_masks_partner_paths_and_sensitive_query_values(logged, expected):
    from carecycle.gunicorn_conf import mask
    assert mask(logged) == expected
