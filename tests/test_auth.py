"""Sign-in, lockout, sessions and passwords."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from carecycle.accounts.models import User, UserSession
from carecycle.audit import AuditEvent
from carecycle.database import utcnow
from tests.conftest import PASSWORD, csrf_from, form_post, sign_in
from tests.htmlform import submit

COOKIE = "carecycle_session"


def events(db, action):
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)).all()


def test_sign_in_starts_a_session_and_audits(client, make_user, db):
    user = make_user("counsellor")
    response = sign_in(client, user.username)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert db.session.scalar(select(UserSession).where(UserSession.user_id == user.id)) is not None
    assert [e.actor_id for e in events(db, "login")] == [user.id]
    assert "My day" in client.get("/").get_data(as_text=True)


def test_username_is_case_insensitive(client, make_user):
    user = make_user("counsellor")
    assert sign_in(client, user.username.upper()).status_code == 302


def _flash(response) -> str:
    return response.get_data(as_text=True).split('<p class="flash error"', 1)[1].split("</p>", 1)[0]


def test_failures_look_the_same_for_unknown_user_wrong_password_and_locked(client, make_user, db, app):
    user = make_user("counsellor")
    locked = make_user("counsellor")
    for _ in range(5):
        sign_in(client, locked.username, "not the password at all")
    answers = [
        sign_in(client, "nobody-here"),
        sign_in(client, user.username, "wrong password entirely"),
        sign_in(client, locked.username),  # right password, locked for this address
    ]
    statuses = {r.status_code for r in answers}
    assert statuses == {401}
    assert len({_flash(r) for r in answers}) == 1
    assert [e.outcome for e in events(db, "login_failed")][-3:] == ["unknown_user", "bad_password", "locked"]
    assert client.get("/").status_code == 200 and "My day" not in client.get("/").get_data(as_text=True)


def test_five_failures_lock_the_account_from_that_address(client, make_user, db):
    user = make_user("counsellor")
    for _ in range(5):
        assert sign_in(client, user.username, "not the password at all").status_code == 401
    assert [e.outcome for e in events(db, "login_failed")] == ["bad_password"] * 4 + ["locked_now"]
    # the right password is refused from this address while locked, with the same answer
    assert sign_in(client, user.username).status_code == 401
    assert events(db, "login_failed")[-1].outcome == "locked"
    assert events(db, "login") == []


def test_four_failures_then_success_resets_the_count(client, make_user, db):
    user = make_user("counsellor")
    for _ in range(4):
        sign_in(client, user.username, "not the password at all")
    assert sign_in(client, user.username).status_code == 302
    form_post(client, "/logout", {}, page="/")
    for _ in range(4):  # four more: still not five in a row
        sign_in(client, user.username, "not the password at all")
    assert sign_in(client, user.username).status_code == 302


def test_disabled_account_cannot_sign_in(client, make_user):
    user = make_user("counsellor", active=False)
    assert sign_in(client, user.username).status_code == 401


def test_attempts_per_address_are_limited(client, make_user, app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_ADDRESS_LIMIT", 3)
    user = make_user("counsellor")
    for i in range(3):
        assert sign_in(client, f"someone{i}", "whatever password").status_code == 401
    limited = sign_in(client, user.username)  # even the right password
    assert limited.status_code == 429
    assert "Too many" in limited.get_data(as_text=True)
    other = app.test_client()
    token = csrf_from(other.get("/login"))
    response = other.post("/login", data={"username": user.username, "password": PASSWORD, "csrf_token": token},
                          environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert response.status_code == 302, response.get_data(as_text=True)


def test_successful_sign_ins_from_one_address_are_not_limited(app, make_user, db):
    """A team behind one office address at shift change: 25 sign-ins within the window all succeed
    (the limit is 20 per 5 minutes), and failed attempts from that address are still counted up to it."""
    assert app.config["LOGIN_ADDRESS_LIMIT"] == 20
    team = [make_user("counsellor") for _ in range(5)]
    for i in range(25):
        browser = app.test_client()  # one browser per sign-in, all from 127.0.0.1
        response = sign_in(browser, team[i % 5].username)
        assert response.status_code == 302, (i, response.status_code)
        assert "My day" in browser.get("/").get_data(as_text=True)
    assert len(events(db, "login")) == 25
    attacker = app.test_client()
    for i in range(20):
        assert sign_in(attacker, f"nobody{i}", "a wrong password here").status_code == 401
    limited = sign_in(app.test_client(), team[0].username)  # the 21st attempt, even with the right password
    assert limited.status_code == 429 and "Too many" in limited.get_data(as_text=True)
    assert len(events(db, "login")) == 25


def test_logout_ends_the_session_and_a_replayed_cookie_is_refused(client, login_as, db):
    login_as("counsellor")
    stolen = client.get_cookie(COOKIE).value
    assert client.get("/alerts").status_code == 200
    response = form_post(client, "/logout", {}, page="/")
    assert response.status_code == 302
    assert db.session.scalar(select(UserSession)).ended_at is not None
    client.set_cookie(COOKIE, stolen)
    replay = client.get("/alerts")
    assert replay.status_code == 302 and "/login" in replay.headers["Location"]


def test_logout_needs_post(client, login_as):
    login_as("counsellor")
    assert client.get("/logout").status_code == 405
    assert client.get("/alerts").status_code == 200


def test_idle_session_ends(client, login_as, db, app):
    login_as("counsellor")
    row = db.session.scalar(select(UserSession))
    row.last_seen_at = utcnow() - app.config["SESSION_IDLE_TIMEOUT"] - timedelta(seconds=5)
    db.session.commit()
    response = client.get("/alerts")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    db.session.expire_all()
    assert db.session.scalar(select(UserSession)).end_reason == "idle"


def test_session_has_an_absolute_lifetime(client, login_as, db, app):
    login_as("counsellor")
    row = db.session.scalar(select(UserSession))
    row.created_at = utcnow() - app.config["SESSION_ABSOLUTE_LIFETIME"] - timedelta(seconds=5)
    db.session.commit()
    assert client.get("/alerts").status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(UserSession)).end_reason == "expired"


def test_each_sign_in_gets_a_new_session(client, make_user, db):
    user = make_user("counsellor")
    sign_in(client, user.username)
    first = client.get_cookie(COOKIE).value
    form_post(client, "/logout", {}, page="/")
    sign_in(client, user.username)
    assert client.get_cookie(COOKIE).value != first
    assert len(db.session.scalars(select(UserSession)).all()) == 2


def test_password_change_ends_every_other_session(app, client, make_user, db):
    user = make_user("counsellor")
    other_device = app.test_client()
    sign_in(other_device, user.username)
    sign_in(client, user.username)
    new = "a new and long passphrase 42"
    response = form_post(client, "/account/password",
                         {"current_password": PASSWORD, "new_password": new, "confirm": new})
    assert response.status_code == 302
    assert client.get("/alerts").status_code == 200  # this device got a fresh session
    assert other_device.get("/alerts").status_code == 302  # the other one is signed out
    form_post(client, "/logout", {}, page="/")
    assert sign_in(client, user.username, PASSWORD).status_code == 401
    assert sign_in(client, user.username, new).status_code == 302


@pytest.mark.parametrize("new, message", [
    ("short pw", "at least 12"),
    ("passwordpassword", "too common"),
    ("x" * 257, "at most 256"),
])
def test_password_rules_refuse_and_change_nothing(client, login_as, db, new, message):
    user = login_as("counsellor")
    before = db.session.get(User, user.id).password_hash
    response = form_post(client, "/account/password",
                         {"current_password": PASSWORD, "new_password": new, "confirm": new})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).password_hash == before


SHORT_BY_ONE, LONG_ENOUGH = "kq7 mzl ftr", "kq7 mzl ftrw"  # 11 and 12 characters, in no common list


@pytest.mark.parametrize("password, accepted", [(SHORT_BY_ONE, False), (LONG_ENOUGH, True)])
def test_password_minimum_on_the_change_password_page(client, login_as, db, password, accepted):
    user = login_as("counsellor")
    before = db.session.get(User, user.id).password_hash
    response = submit(client, "/account/password", "Change password",
                      {"Current password": PASSWORD, "New password": password, "Repeat the new password": password})
    db.session.expire_all()
    if accepted:
        assert response.status_code == 302 and db.session.get(User, user.id).password_hash != before
        form_post(client, "/logout", {}, page="/")
        assert sign_in(client, user.username, password).status_code == 302
    else:
        assert response.status_code == 400 and "Use at least 12 characters." in response.get_data(as_text=True)
        assert db.session.get(User, user.id).password_hash == before


@pytest.mark.parametrize("password, accepted", [(SHORT_BY_ONE, False), (LONG_ENOUGH, True)])
def test_password_minimum_on_the_sign_up_page(client, db, password, accepted):
    response = submit(client, "/register", "Create account",
                      {"Username": "new-resident", "Password": password, "Repeat the password": password})
    created = db.session.scalar(select(User).where(User.username == "new-resident"))
    if accepted:
        assert response.status_code == 302 and created is not None
    else:
        assert response.status_code == 400 and "Use at least 12 characters." in response.get_data(as_text=True)
        assert created is None


@pytest.mark.parametrize("password, accepted", [(SHORT_BY_ONE, False), (LONG_ENOUGH, True)])
def test_password_minimum_on_the_admin_pages(client, login_as, make_user, db, password, accepted):
    login_as("admin")
    created = submit(client, "/admin/users/new", "Create account",
                     {"Username": "new-account", "Role": "resident", "Temporary password": password})
    user = make_user("counsellor")
    before = user.password_hash
    reset = submit(client, f"/admin/users/{user.id}", "Reset password", {"Temporary password": password})
    db.session.expire_all()
    new_user = db.session.scalar(select(User).where(User.username == "new-account"))
    if accepted:
        assert created.status_code == 302 and new_user is not None
        assert reset.status_code == 302 and db.session.get(User, user.id).password_hash != before
    else:
        for response in (created, reset):
            assert response.status_code == 400 and "Use at least 12 characters." in response.get_data(as_text=True)
        assert new_user is None and db.session.get(User, user.id).password_hash == before


def test_long_passphrases_and_no_composition_rules(client, login_as):
    login_as("counsellor")
    for new in ("all lower case words here", "ä" * 128 + "b" * 100):
        response = form_post(client, "/account/password",
                             {"current_password": PASSWORD, "new_password": new, "confirm": new})
        assert response.status_code == 302, new
        form_post(client, "/account/password", {"current_password": new, "new_password": PASSWORD,
                                                "confirm": PASSWORD})


def test_wrong_current_password_is_refused(client, login_as):
    login_as("counsellor")
    new = "a new and long passphrase 42"
    response = form_post(client, "/account/password",
                         {"current_password": "not my password", "new_password": new, "confirm": new})
    assert response.status_code == 400 and "not correct" in response.get_data(as_text=True)


def test_passwords_are_hashed_with_argon2id(make_user, db):
    from carecycle.accounts.service import hash_password
    hashed = hash_password("a long enough password")
    assert hashed.startswith("$argon2id$")
    params = dict(p.split("=") for p in hashed.split("$")[3].split(","))
    assert int(params["m"]) >= 19 * 1024 and int(params["t"]) >= 2


def test_must_change_password_blocks_everything_else(client, make_user):
    user = make_user("counsellor", must_change_password=True)
    response = sign_in(client, user.username)
    assert response.headers["Location"] == "/account/password"
    blocked = client.get("/alerts")
    assert blocked.status_code == 302 and blocked.headers["Location"].endswith("/account/password")
    new = "my very own passphrase"
    form_post(client, "/account/password", {"current_password": PASSWORD, "new_password": new, "confirm": new})
    assert client.get("/alerts").status_code == 200


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example",
                                    "javascript:alert(1)"])
def test_next_must_be_local(client, make_user, target):
    user = make_user("counsellor")
    response = sign_in(client, user.username, page="/login", query_string={"next": target})
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_next_local_path_is_followed(client, make_user):
    user = make_user("counsellor")
    response = sign_in(client, user.username, query_string={"next": "/alerts"})
    assert response.headers["Location"] == "/alerts"


def test_protected_page_redirects_anonymous_to_login_with_next(client):
    response = client.get("/alerts")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_cookies_are_httponly_and_samesite(client, make_user):
    user = make_user("counsellor")
    response = sign_in(client, user.username)
    header = response.headers.get("Set-Cookie")
    assert "HttpOnly" in header and "SameSite=Lax" in header
    assert "Secure" not in header  # not in testing; production sets it (see test_config)


def test_a_refused_new_password_is_shown_once_under_its_field(client, login_as):
    login_as("counsellor")
    response = form_post(client, "/account/password",
                         {"current_password": PASSWORD, "new_password": "short pw", "confirm": "short pw"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert page.count("Use at least 12 characters.") == 1
    assert re.search(r'id="new_password-error">Use at least 12 characters\.', page)
