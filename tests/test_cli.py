"""The carecycle command: users, tokens, demo data."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from carecycle.accounts.models import ApiToken, Team, User
from carecycle.database import utcnow
from carecycle.demo import DEMO_PASSWORD, DEMO_USERS
from tests.conftest import dispose, make_app, sign_in


def test_users_create_reads_the_password_from_stdin(runner, db, make_team, client):
    make_team("Riverside")
    result = runner.invoke(args=["users", "create", "duty1", "--role", "counsellor", "--team", "Riverside"],
                           input="a long stdin passphrase\n")
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.username == "duty1"))
    assert user.role == "counsellor" and user.team.name == "Riverside"
    assert sign_in(client, "duty1", "a long stdin passphrase").status_code == 302


def test_users_create_refuses_bad_input_and_creates_nothing(runner, db):
    cases = [
        (["users", "create", "weak", "--role", "resident"], "password1234\n", "too common"),
        (["users", "create", "lonely", "--role", "counsellor"], "a long stdin passphrase\n", "team"),
        (["users", "create", "lost", "--role", "counsellor", "--team", "Nowhere"], "a long stdin passphrase\n",
         "no team"),
        (["users", "create", "odd", "--role", "wizard"], "a long stdin passphrase\n", "wizard"),
    ]
    for args, stdin, message in cases:
        result = runner.invoke(args=args, input=stdin)
        assert result.exit_code != 0, args
        assert message in result.output, result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_tokens_create_prints_once_and_revoke(runner, db, make_user, client):
    user = make_user("counsellor")
    result = runner.invoke(args=["tokens", "create", user.username])
    assert result.exit_code == 0
    token = result.output.strip()
    assert token.startswith("cct_")
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    revoked = runner.invoke(args=["tokens", "revoke", user.username])
    assert revoked.exit_code == 0 and "revoked 1" in revoked.output
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert db.session.scalar(select(ApiToken)).revoked_at is not None


def _new_token(runner, user) -> str:
    result = runner.invoke(args=["tokens", "create", user.username])
    assert result.exit_code == 0, result.output
    return result.output.strip()


def _api_status(client, token) -> int:
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code


def _live_tokens(db, user) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(ApiToken).where(
        ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)))


@pytest.mark.parametrize("part", ["whole", 8, 12, 20])
def test_tokens_revoke_one_token_given_whole_or_by_its_beginning(runner, db, make_user, client, part):
    user = make_user("counsellor")
    token, other = _new_token(runner, user), _new_token(runner, user)
    given = token if part == "whole" else token[:part]
    result = runner.invoke(args=["tokens", "revoke", user.username, "--token", given])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("revoked 1 token(s)") and token[:12] in result.output
    assert _api_status(client, token) == 401  # refused by the API from now on
    assert _api_status(client, other) == 200  # the user's other token is untouched
    assert _live_tokens(db, user) == 1


@pytest.mark.parametrize("given, message", [
    ("short7c", "at least its first 8 characters"),  # 7 characters
    ("", "at least its first 8 characters"),
    ("cct_zzzzzzzz", "No active token"),  # 8+ characters, matching none
])
def test_tokens_revoke_refuses_a_short_or_unknown_token_and_revokes_nothing(runner, db, make_user, client,
                                                                           given, message):
    user = make_user("counsellor")
    token = _new_token(runner, user)
    if given == "short7c":
        given = token[:7]
    result = runner.invoke(args=["tokens", "revoke", user.username, "--token", given])
    assert result.exit_code != 0 and message in result.output, result.output
    assert _api_status(client, token) == 200  # the token keeps working
    assert _live_tokens(db, user) == 1


def test_tokens_revoke_matches_only_the_users_own_live_tokens(runner, db, make_user, client):
    user, someone = make_user("counsellor"), make_user("counsellor")
    theirs = _new_token(runner, someone)
    _new_token(runner, user)
    result = runner.invoke(args=["tokens", "revoke", user.username, "--token", theirs])
    assert result.exit_code != 0 and "No active token" in result.output
    assert _api_status(client, theirs) == 200
    mine = _new_token(runner, user)
    assert runner.invoke(args=["tokens", "revoke", user.username, "--token", mine]).exit_code == 0
    again = runner.invoke(args=["tokens", "revoke", user.username, "--token", mine])
    assert again.exit_code != 0 and "No active token" in again.output  # already revoked


def test_tokens_revoke_refuses_an_ambiguous_beginning(runner, db, make_user):
    user = make_user("counsellor")
    db.session.add_all([ApiToken(user_id=user.id, token_hash=f"{n}" * 64, prefix=f"cct_abcd{n}xyz",
                                 expires_at=utcnow() + timedelta(days=1)) for n in (1, 2)])
    db.session.commit()
    result = runner.invoke(args=["tokens", "revoke", user.username, "--token", "cct_abcd"])
    assert result.exit_code != 0 and "2 active tokens" in result.output, result.output
    assert _live_tokens(db, user) == 2
    chosen = runner.invoke(args=["tokens", "revoke", user.username, "--token", "cct_abcd1"])
    assert chosen.exit_code == 0, chosen.output
    assert _live_tokens(db, user) == 1


def test_tokens_for_unknown_user_fail(runner):
    result = runner.invoke(args=["tokens", "create", "ghost"])
    assert result.exit_code != 0 and "no user" in result.output


def test_demo_load_is_idempotent_and_every_account_signs_in(runner, db, app):
    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0, first.output
    counts = (db.session.scalar(select(func.count()).select_from(User)),
              db.session.scalar(select(func.count()).select_from(Team)))
    second = runner.invoke(args=["demo", "load"])
    assert second.exit_code == 0 and "0 created" in second.output
    assert (db.session.scalar(select(func.count()).select_from(User)),
            db.session.scalar(select(func.count()).select_from(Team))) == counts
    assert counts[1] >= 2
    teams = {u.username: (u.role, u.team.name if u.team else None) for u in db.session.scalars(select(User))}
    for username, role, team, _name in DEMO_USERS:
        assert teams[username] == (role, team)
        browser = app.test_client()
        assert sign_in(browser, username, DEMO_PASSWORD).status_code == 302, username
        assert browser.get("/").status_code == 200


def test_demo_load_is_refused_in_production(tmp_path, monkeypatch):
    from carecycle.keyring import KeyRing
    key_file = tmp_path / "keys.json"
    ring = KeyRing.generate(key_file)
    ring.save()
    prod = make_app(tmp_path, CARECYCLE_ENV="production", SECRET_KEY="x" * 40, KEY_FILE=str(key_file),
                    SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/prod.db")
    try:
        result = prod.test_cli_runner().invoke(args=["demo", "load"])
        assert result.exit_code != 0 and "production" in result.output
    finally:
        dispose(prod)


def test_production_cookies_are_secure(tmp_path):
    from carecycle.keyring import KeyRing
    key_file = tmp_path / "keys.json"
    KeyRing.generate(key_file).save()
    prod = make_app(tmp_path, CARECYCLE_ENV="production", SECRET_KEY="x" * 40, KEY_FILE=str(key_file),
                    SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/prod.db")
    try:
        assert prod.config["SESSION_COOKIE_SECURE"] is True
        response = prod.test_client().get("/login", base_url="https://localhost")
        assert "Secure" in response.headers["Set-Cookie"]
    finally:
        dispose(prod)
