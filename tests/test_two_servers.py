"""Two app servers on one database behave as one service: one person's requests sent to each in
turn (as a load balancer without sticky sessions does) keep their session, their CSRF token, a
sign-out, a lockout, the sign-in limit, an alert claim and the operating mode. Runs on the suite's
database: in CI both SQLite (two servers on one machine) and PostgreSQL (as on two machines)."""
from __future__ import annotations

import http.cookiejar
import itertools
import re
import urllib.error
import urllib.parse
import urllib.request
from contextlib import ExitStack

import pytest
from sqlalchemy import select

from carecycle.alerts import Alert, AlertState, raise_alert
from carecycle.extensions import db as _db
from tests.conftest import PASSWORD
from tests.served import gunicorn

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Balanced:
    """One browser (one cookie jar) whose every request goes to the next server in turn."""

    def __init__(self, bases: list[str]):
        self.bases = itertools.cycle(bases)
        self.served_by: list[str] = []
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
                                                  _NoRedirect())

    def open(self, path: str, data: dict | None = None) -> tuple[int, str, str]:
        base = next(self.bases)
        self.served_by.append(base)
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(base + path, data=body, timeout=30) as response:
                return response.status, response.headers.get("Location", ""), response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("Location", ""), error.read().decode()

    def token(self, page: str) -> str:
        status, _location, html = self.open(page)
        assert status == 200, (page, status)
        match = CSRF_RE.search(html)
        assert match, f"no CSRF token on {page}"
        return match.group(1)

    def post(self, page: str, path: str, data: dict) -> tuple[int, str, str]:
        """The form read from one server, submitted to the other."""
        return self.open(path, {**data, "csrf_token": self.token(page)})

    def sign_in(self, username: str, password: str = PASSWORD) -> int:
        return self.post("/login", "/login", {"username": username, "password": password})[0]


@pytest.fixture
def two_servers(app, db, tmp_path):
    db.session.commit()
    db.session.remove()
    with ExitStack() as stack:
        yield [stack.enter_context(gunicorn(app, tmp_path / name, workers=2)) for name in ("a", "b")]


def test_one_persons_requests_alternate_between_two_servers(app, db, make_user, two_servers):
    counsellor = make_user("counsellor")
    colleague = make_user("counsellor", team=counsellor.team)
    supervisor = make_user("supervisor", team=counsellor.team)
    locked_out = make_user("counsellor", team=counsellor.team)
    alert = raise_alert("hotline", "crisis", team_id=counsellor.team.id, summary="Caller at risk")
    db.session.commit()
    names = {u: u.username for u in (counsellor, colleague, supervisor, locked_out)}
    alert_id, counsellor_id = alert.id, counsellor.id
    _db.session.remove()  # a transaction held here would hold SQLite's write lock against the servers

    # the session and the CSRF token, issued by one server, hold on the other
    browser = Balanced(two_servers)
    assert browser.sign_in(names[counsellor]) == 302
    for _ in range(4):
        status, _location, html = browser.open("/cases")
        assert status == 200 and "Sign in" not in html.split("<main", 1)[-1][:200]
    assert set(browser.served_by) == set(two_servers)

    # a claim made through one server is seen, and defended, by the other
    status, location, _html = browser.post(f"/triage/{alert_id}", f"/triage/{alert_id}/claim", {})
    assert status == 302 and location.endswith(f"/triage/{alert_id}")
    other = Balanced(list(reversed(two_servers)))
    assert other.sign_in(names[colleague]) == 302
    status, _location, html = other.post(f"/triage/{alert_id}", f"/triage/{alert_id}/claim", {})
    assert status == 409
    _db.session.remove()
    claimed = _db.session.scalar(select(Alert).where(Alert.id == alert_id))
    assert claimed.state == AlertState.CLAIMED.value and claimed.claimed_by_id == counsellor_id
    _db.session.remove()

    # the operating mode switched on one server is the mode of the other
    boss = Balanced(two_servers)
    assert boss.sign_in(names[supervisor]) == 302
    status, _location, _html = boss.post("/supervision/mode", "/supervision/mode",
                                         {"mode": "emergency", "reason": "Typhoon signal 8"})
    assert status == 302
    for _ in range(2):
        status, _location, html = browser.open("/cases")
        assert status == 200 and "Emergency operation" in html and "Typhoon signal 8" in html

    # signing out through one server ends the session on both
    assert browser.post("/cases", "/logout", {})[0] == 302
    for _ in range(2):
        status, location, _html = browser.open("/cases")
        assert status == 302 and "/login" in location

    # five failures spread over both servers lock the account on both; the correct password is refused
    attacker = Balanced(two_servers)
    for _ in range(5):
        assert attacker.sign_in(names[locked_out], "wrong password") == 401
    for _ in range(2):
        assert attacker.sign_in(names[locked_out]) == 401

    # the sign-in limit per address counts failed attempts on both servers together: seven failed above
    statuses = [attacker.sign_in("nobody-at-all", "wrong password") for _ in range(15)]
    allowed = app.config["LOGIN_ADDRESS_LIMIT"] - 7
    assert statuses == [401] * allowed + [429] * (15 - allowed)
