"""The web shell: headers, CSRF, error pages, body limit, home pages per role."""
import re

import pytest
from sqlalchemy import select

from carecycle.accounts.models import Team, User
from tests.conftest import csrf_from, form_post


def test_security_headers_on_every_response(client):
    for path in ("/", "/login", "/static/css/app.css", "/no-such-page"):
        response = client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "object-src 'none'" in csp
        assert "base-uri 'none'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        response.close()


def test_pages_behind_login_are_not_cached(client, login_as):
    login_as("admin")
    for path in ("/", "/admin/users", "/account/password"):
        assert client.get(path).headers["Cache-Control"] == "no-store", path


def test_templates_have_no_inline_script_or_style(app):
    from pathlib import Path
    root = Path(app.template_folder)
    for template in root.rglob("*.html"):
        text = template.read_text()
        assert "<script>" not in text and "<style" not in text and " style=" not in text, template


def test_post_without_csrf_token_is_refused_and_changes_nothing(client, login_as, db):
    login_as("admin")
    response = client.post("/admin/teams", data={"name": "Sneaky team"})
    assert response.status_code == 400
    assert "form expired" in response.get_data(as_text=True)
    assert db.session.scalar(select(Team).where(Team.name == "Sneaky team")) is None


def test_post_with_a_wrong_csrf_token_is_refused(client, login_as, db):
    login_as("admin")
    response = client.post("/admin/teams", data={"name": "Sneaky team", "csrf_token": "forged"})
    assert response.status_code == 400
    assert db.session.scalar(select(Team).where(Team.name == "Sneaky team")) is None


def test_login_without_csrf_is_refused(client, make_user):
    user = make_user("counsellor")
    response = client.post("/login", data={"username": user.username, "password": "correct horse battery staple"})
    assert response.status_code == 400
    assert client.get("/alerts").status_code == 302


def test_logout_without_csrf_does_not_sign_out(client, login_as):
    login_as("counsellor")
    assert client.post("/logout").status_code == 400
    assert client.get("/alerts").status_code == 200


def test_not_found_page_is_in_the_layout(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    body = response.get_data(as_text=True)
    assert "Not found" in body and "CareCycle" in body and "Traceback" not in body


def test_unexpected_error_shows_a_page_without_a_trace(tmp_path):
    from carecycle.permissions import PUBLIC, requires
    from tests.conftest import dispose, make_app
    broken = make_app(tmp_path)

    @broken.route("/boom")
    @requires(PUBLIC)
    def boom():
        raise RuntimeError("secret internal detail")

    try:
        response = broken.test_client().get("/boom")
        body = response.get_data(as_text=True)
        assert response.status_code == 500
        assert "Something went wrong" in body
        assert "secret internal detail" not in body and "Traceback" not in body
    finally:
        dispose(broken)


def test_request_body_over_the_limit_gets_413(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024)
    token = csrf_from(client.get("/login"))
    response = client.post("/login", data={"username": "x" * 4096, "password": "y", "csrf_token": token})
    assert response.status_code == 413
    assert "Too large" in response.get_data(as_text=True)


def test_get_never_changes_state(client, login_as, db):
    login_as("admin")
    assert client.get("/admin/teams?name=Via+GET").status_code == 200
    assert db.session.scalar(select(Team).where(Team.name == "Via GET")) is None
    assert client.get("/language?language=zh_Hans").status_code == 405


@pytest.mark.parametrize("role, heading", [
    ("resident", "Hello"),
    ("counsellor", "My day"),
    ("social_worker", "My day"),
    ("supervisor", "My day"),
    ("admin", "Administration"),
])
def test_each_role_has_a_home_page(client, login_as, role, heading):
    login_as(role)
    body = client.get("/").get_data(as_text=True)
    assert re.search(rf"<h1>[^<]*{heading}", body), body[:2000]


def test_public_home_for_visitors(client):
    body = client.get("/").get_data(as_text=True)
    assert "Sign in" in body and "emergency" in body


def test_navigation_follows_the_role(client, login_as):
    login_as("counsellor")
    body = client.get("/").get_data(as_text=True)
    assert 'href="/triage"' in body and 'href="/admin/users"' not in body


def test_unknown_language_is_refused(client):
    response = form_post(client, "/language", {"language": "xx"}, page="/")
    assert response.status_code == 400


def test_language_choice_is_kept_for_the_user(client, login_as, db):
    user = login_as("counsellor")
    response = form_post(client, "/language", {"language": "zh_Hant", "next": "/alerts"}, page="/")
    assert response.status_code == 302 and response.headers["Location"] == "/alerts"
    db.session.expire_all()
    assert db.session.get(User, user.id).locale == "zh_Hant"


def test_service_refusals_go_under_their_fields_and_the_rest_is_flashed(app):
    from flask import get_flashed_messages

    from carecycle.forms import BreakGlassForm, place_errors
    from carecycle.validation import Invalid
    with app.test_request_context("/", method="POST"):
        form = BreakGlassForm(meta={"csrf": False})
        place_errors(form, Invalid({"reason": "Too short.", "elsewhere": "Not on this form."}))
        assert form.reason.errors == ["Too short."]
        assert get_flashed_messages() == ["Not on this form."]
    with app.test_request_context("/", method="POST"):
        place_errors(BreakGlassForm(meta={"csrf": False}), Invalid({}, "Nothing names a field."))
        assert get_flashed_messages() == ["Nothing names a field."]


def test_favicon_is_served_so_no_page_logs_a_404(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.get_data().startswith(b"<svg")
    response.close()
    page = client.get("/").get_data(as_text=True)
    assert 'rel="icon"' in page and "/static/img/favicon.svg" in page
