"""API tokens expire, die with a password change, a reset, a role or team change and disabling,
and `carecycle tokens list USER` shows them."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from carecycle.accounts import service
from carecycle.accounts.models import ApiToken, User
from carecycle.audit import AuditEvent
from carecycle.config import config_for
from carecycle.database import utcnow
from tests.conftest import PASSWORD, form_post


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def me(client, token):
    return client.get("/api/v1/me", headers=bearer(token))


def new_token(db, user, days=None):
    token = service.create_token(user, days)
    db.session.commit()
    return token


def revocation_reasons(db):
    return [e.reason for e in db.session.scalars(select(AuditEvent).where(
        AuditEvent.object_type == "api_token", AuditEvent.reason.like("token_revoked%")).order_by(AuditEvent.seq))]


def assert_revoked(client, db, user, token, why):
    assert me(client, token).status_code == 401
    db.session.expire_all()
    rows = db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).all()
    assert rows and all(row.revoked_at is not None for row in rows)
    assert revocation_reasons(db) == [f"token_revoked:{why}"] * len(rows)


# ---------------------------------------------------------------- expiry
def test_a_token_lasts_the_default_days_then_is_refused_like_a_bad_one(app, client, make_user, db):
    user = make_user("counsellor")
    token = new_token(db, user)
    row = db.session.scalar(select(ApiToken))
    assert app.config["API_TOKEN_DAYS"] == 90
    assert timedelta(days=90) - timedelta(minutes=1) < row.expires_at - utcnow() <= timedelta(days=90)
    assert me(client, token).status_code == 200
    row.expires_at = utcnow() - timedelta(seconds=1)  # move the clock past the expiry
    db.session.commit()
    expired, bad = me(client, token), me(client, "cct_not-a-token-at-all")
    assert expired.status_code == bad.status_code == 401
    assert expired.json == bad.json
    db.session.expire_all()
    assert db.session.scalar(select(ApiToken)).last_used_at is not None  # from the use before expiry only


@pytest.mark.parametrize("days", [1, 365])
def test_tokens_create_days_within_bounds(runner, db, make_user, days):
    user = make_user("counsellor")
    result = runner.invoke(args=["tokens", "create", user.username, "--days", str(days)])
    assert result.exit_code == 0, result.output
    row = db.session.scalar(select(ApiToken))
    assert timedelta(days=days) - timedelta(minutes=1) < row.expires_at - utcnow() <= timedelta(days=days)


@pytest.mark.parametrize("days", ["0", "366", "-5"])
def test_tokens_create_refuses_days_out_of_bounds_and_creates_nothing(runner, db, make_user, days):
    user = make_user("counsellor")
    result = runner.invoke(args=["tokens", "create", user.username, "--days", days])
    assert result.exit_code == 1
    assert "from 1 to 365 days" in result.output and "cct_" not in result.output
    assert db.session.scalar(select(ApiToken)) is None


def test_the_default_token_days_setting_is_bounded(monkeypatch):
    monkeypatch.setenv("CARECYCLE_API_TOKEN_DAYS", "30")
    assert config_for("testing").API_TOKEN_DAYS == 30
    for bad in ("0", "366", "ninety"):
        monkeypatch.setenv("CARECYCLE_API_TOKEN_DAYS", bad)
        with pytest.raises(SystemExit, match="CARECYCLE_API_TOKEN_DAYS must be a whole number from 1 to 365"):
            config_for("testing")


# ---------------------------------------------------------------- revocation
def test_password_change_revokes_the_owners_tokens(client, login_as, db):
    user = login_as("counsellor")
    token = new_token(db, user)
    response = form_post(client, "/account/password", {"current_password": PASSWORD,
                                                        "new_password": "another long passphrase",
                                                        "confirm": "another long passphrase"})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert_revoked(client, db, user, token, "password_changed")


def test_password_reset_revokes_the_users_tokens(client, login_as, make_user, db):
    login_as("admin")
    worker = make_user("counsellor")
    token = new_token(db, worker)
    response = form_post(client, f"/admin/users/{worker.id}/password", {"password": "a reset passphrase"},
                         page=f"/admin/users/{worker.id}")
    assert response.status_code == 302
    assert_revoked(client, db, worker, token, "password_reset")


def _edit(db, user, **change):
    fields = {"role": user.role, "team": user.team, "display_name": user.display_name, "active": user.active}
    service.update_user(db.session.get(User, user.id), **{**fields, **change})
    db.session.commit()


def test_role_change_revokes_the_users_tokens(client, make_user, db):
    worker = make_user("counsellor")
    token = new_token(db, worker)
    _edit(db, worker, role="social_worker")
    assert_revoked(client, db, worker, token, "role_changed")


def test_team_change_revokes_the_users_tokens(client, make_user, make_team, db):
    worker = make_user("counsellor")
    token = new_token(db, worker)
    _edit(db, worker, team=make_team())
    assert_revoked(client, db, worker, token, "team_changed")


def test_disabling_revokes_the_users_tokens(client, make_user, db):
    worker = make_user("counsellor")
    token = new_token(db, worker)
    _edit(db, worker, active=False)
    assert_revoked(client, db, worker, token, "disabled")
    # enabling the account again does not bring the token back
    _edit(db, worker, active=True)
    assert me(client, token).status_code == 401


def test_an_edit_that_changes_nothing_of_access_keeps_the_tokens(client, make_user, db):
    worker = make_user("counsellor")
    token = new_token(db, worker)
    _edit(db, worker, display_name="Pat Chan")
    assert me(client, token).status_code == 200
    assert revocation_reasons(db) == []


def test_a_token_revoked_by_a_reset_stays_revoked_after_the_new_password(app, client, make_user, db):
    worker = make_user("counsellor")
    token = new_token(db, worker)
    service.reset_password(db.session.get(User, worker.id), "a reset passphrase")
    db.session.commit()
    service.change_password(db.session.get(User, worker.id), "a reset passphrase", "my very own passphrase")
    db.session.commit()
    assert me(client, token).status_code == 401


# ---------------------------------------------------------------- tokens list
def test_tokens_list_shows_prefix_dates_and_state(runner, client, make_user, db):
    user = make_user("counsellor")
    used, expired, revoked = (new_token(db, user) for _ in range(3))
    assert me(client, used).status_code == 200
    rows = {row.prefix: row for row in db.session.scalars(select(ApiToken))}
    rows[expired[:12]].expires_at = utcnow() - timedelta(days=1)
    db.session.commit()
    service.revoke_token(user, revoked)
    db.session.commit()
    result = runner.invoke(args=["tokens", "list", user.username])
    assert result.exit_code == 0, result.output
    header, *lines = result.output.splitlines()
    assert header.split() == ["prefix", "created", "last", "used", "expires", "state"]
    by_prefix = {line.split("…")[0]: line for line in lines}
    assert set(by_prefix) == {used[:12], expired[:12], revoked[:12]}
    assert by_prefix[used[:12]].endswith("active") and "never" not in by_prefix[used[:12]]
    assert by_prefix[expired[:12]].endswith("expired") and "never" in by_prefix[expired[:12]]
    assert by_prefix[revoked[:12]].endswith("revoked")
    day = utcnow().strftime("%Y-%m-%d")
    assert day in by_prefix[used[:12]]
    in_90 = rows[used[:12]].expires_at.strftime("%Y-%m-%d %H:%M UTC")
    assert in_90 in by_prefix[used[:12]]
    for token in (used, expired, revoked):
        assert token not in result.output  # only the stored prefix is shown


def test_tokens_list_for_a_user_without_tokens(runner, make_user):
    user = make_user("counsellor")
    result = runner.invoke(args=["tokens", "list", user.username])
    assert result.exit_code == 0 and "has no tokens" in result.output


def test_tokens_list_for_an_unknown_user_fails(runner):
    result = runner.invoke(args=["tokens", "list", "ghost"])
    assert result.exit_code == 1 and "there is no user ghost" in result.output
