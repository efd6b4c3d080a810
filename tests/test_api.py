"""API skeleton: bearer tokens, JSON errors, /api/v1/me."""
from sqlalchemy import select

from carecycle.accounts.models import ApiToken
from carecycle.accounts.service import create_token, revoke_tokens
from tests.conftest import sign_in


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_me_returns_the_tokens_user(client, make_user, db):
    user = make_user("counsellor")
    token = create_token(user)
    db.session.commit()
    response = client.get("/api/v1/me", headers=bearer(token))
    assert response.status_code == 200
    assert response.json == {"id": str(user.id), "username": user.username, "role": "counsellor",
                             "team": {"id": str(user.team.id), "name": user.team.name}}


def test_tokens_are_stored_hashed(make_user, db):
    user = make_user("counsellor")
    token = create_token(user)
    db.session.commit()
    row = db.session.scalar(select(ApiToken))
    assert token not in (row.token_hash, row.prefix) and len(row.token_hash) == 64


def test_missing_bad_and_revoked_tokens_get_401_json(client, make_user, db):
    user = make_user("counsellor")
    token = create_token(user)
    db.session.commit()
    for headers in ({}, bearer("cct_not-a-token"), {"Authorization": f"Basic {token}"}):
        response = client.get("/api/v1/me", headers=headers)
        assert response.status_code == 401
        assert response.json["error"]["code"] == "unauthorized"
    assert revoke_tokens(user) == 1
    db.session.commit()
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_a_browser_session_cookie_does_not_open_the_api(client, make_user):
    user = make_user("counsellor")
    sign_in(client, user.username)
    assert client.get("/api/v1/me").status_code == 401


def test_disabled_users_token_is_refused(client, make_user, db):
    user = make_user("counsellor")
    token = create_token(user)
    user.active = False
    db.session.commit()
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_api_errors_are_json(client, make_user, db):
    user = make_user("counsellor")
    token = create_token(user)
    db.session.commit()
    missing = client.get("/api/v1/nothing-here", headers=bearer(token))
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"
    wrong_method = client.post("/api/v1/me", headers=bearer(token))
    assert wrong_method.status_code == 405 and "error" in wrong_method.json


def test_bearer_requests_need_no_csrf(client, make_user, db):
    """A POST with a bearer token is not refused for a missing CSRF token (405 here: /me is GET only)."""
    user = make_user("counsellor")
    token = create_token(user)
    db.session.commit()
    response = client.post("/api/v1/me", headers=bearer(token), json={})
    assert response.status_code == 405


def test_token_user_without_permission_gets_403_json(tmp_path, db):
    import carecycle
    from carecycle.api import ApiError, area_api, json_body
    from carecycle.openapi import Closed, described
    from carecycle.permissions import Permission, requires
    from tests.conftest import dispose, make_app

    probe = area_api("probe")

    @probe.route("/admin-only")
    @requires(Permission.ACCOUNTS_MANAGE)
    def admin_only():
        return {"ok": True}

    class Echo(Closed):
        name: str | None = None

    @probe.route("/echo", methods=["POST"])
    @described(body=Echo, responses={201: None})
    @requires(Permission.SIGNED_IN)
    def echo():
        body = json_body()  # the fields of the body it is described with
        if "name" not in body:
            raise ApiError(422, "name is required", fields={"name": "Required."})
        return {"name": body["name"]}, 201

    class ProbeArea:
        api = probe

        @staticmethod
        def init_app(app):
            pass

    original = carecycle.area_packages
    carecycle.area_packages = lambda: [ProbeArea]
    try:
        probe_app = make_app(tmp_path)
    finally:
        carecycle.area_packages = original
    try:
        from carecycle.accounts.models import User
        from carecycle.extensions import db as _db
        from tests.conftest import _reset_schema, password_hash
        _reset_schema(probe_app)
        with probe_app.app_context():
            user = User(username="probe-user", role="resident", password_hash=password_hash("x" * 12))
            _db.session.add(user)
            _db.session.flush()
            token = create_token(user)
            _db.session.commit()
        api = probe_app.test_client()
        response = api.get("/api/v1/admin-only", headers=bearer(token))
        assert response.status_code == 403 and response.json["error"]["code"] == "forbidden"
        assert api.post("/api/v1/echo", headers=bearer(token), json={"name": "x"}).status_code == 201
        invalid = api.post("/api/v1/echo", headers=bearer(token), json={})
        assert invalid.status_code == 422
        assert invalid.json["error"]["fields"] == {"name": "Required."}
        not_json = api.post("/api/v1/echo", headers=bearer(token), data="[1, 2", content_type="application/json")
        assert not_json.status_code == 400 and not_json.json["error"]["code"] == "bad_request"
        probe_app.config["MAX_CONTENT_LENGTH"] = 100
        too_big = api.post("/api/v1/echo", headers=bearer(token), json={"name": "x" * 1000})
        assert too_big.status_code == 413 and too_big.json["error"]["code"] == "too_large"
    finally:
        dispose(probe_app)
