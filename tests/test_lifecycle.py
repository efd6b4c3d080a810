"""The request lifecycle (carecycle.lifecycle): one unit of work per request, domain errors mapped
once for pages and the API, `attempt` for a form that may be refused, `load_visible` for records.

The routes are mounted on an app of their own (same database), so the suite's app and its
route walks never see them."""
from __future__ import annotations

import pytest
from flask import Blueprint, jsonify, render_template_string, request
from flask_login import current_user
from sqlalchemy import select

from carecycle.accounts.models import Team
from carecycle.audit import AuditEvent
from carecycle.extensions import db as _db
from carecycle.lifecycle import Conflict, Forbidden, Invalid, NotFound, attempt, load_visible, register_kind, wrap_views
from carecycle.permissions import PUBLIC, Permission, requires
from tests.conftest import dispose, make_app, sign_in


def _team(name):
    _db.session.add(Team(name=name))


def _teams() -> list[str]:
    return sorted(_db.session.scalars(select(Team.name)))


@pytest.fixture
def lifecycle_app(app, db, _tmp):
    """An app of its own on the suite's database, with routes that exercise the lifecycle."""
    application = make_app(_tmp)
    pages = Blueprint("lifecycle_test", __name__)

    @pages.route("/t/token")
    @requires(PUBLIC)
    def token():
        return render_template_string("{{ csrf_token() }}")

    @pages.route("/t/ok", methods=["GET", "POST"])
    @requires(PUBLIC)
    def ok():
        _team("made by ok")
        return "done"

    @pages.route("/t/raise/<kind>", methods=["POST"])
    @requires(PUBLIC)
    def raises(kind):
        _team("made before the error")
        _db.session.flush()
        raise {"invalid": Invalid({"name": "Give a name."}),
               "conflict": Conflict("Someone else changed this.", current_version=3),
               "forbidden": Forbidden("Not yours to change.", "team", None, reason="test refusal"),
               "notfound": NotFound("team")}[kind]

    @pages.route("/api/v1/t/raise/<kind>", methods=["POST"])
    @requires(PUBLIC)
    def api_raises(kind):
        return raises(kind)

    @pages.route("/t/status/<int:code>", methods=["POST"])
    @requires(PUBLIC)
    def answers(code):
        _team(f"made before answering {code}")
        return "answer", code

    @pages.route("/t/render", methods=["GET", "POST"])
    @requires(PUBLIC)
    def renders():
        _team(f"made before rendering ({request.method})")
        return render_template_string("{{ open() }}", open=lambda: _db.session().in_transaction())

    @pages.route("/t/attempt", methods=["POST"])
    @requires(PUBLIC)
    def tries():
        _team("kept")

        def change():
            _team("undone")
            _db.session.flush()
            raise Invalid({"name": "Give a name."})

        outcome = attempt(change)
        return jsonify(ok=outcome.ok, errors=outcome.errors), 200

    @pages.route("/t/team/<team_id>")
    @requires(Permission.SIGNED_IN)
    def team(team_id):
        row = load_visible("test_team", team_id, current_user)
        return row.name

    application.register_blueprint(pages)
    register_kind(application, "test_team", Team, lambda user: Team.id == user.team_id)
    wrap_views(application)
    yield application
    dispose(application)


class TokenClient:
    """POSTs carry the page's CSRF token (or the API path needs none), as a browser's form would."""

    def __init__(self, client):
        self.client = client

    def get(self, *args, **kwargs):
        return self.client.get(*args, **kwargs)

    def post(self, path, **kwargs):
        if not path.startswith("/api/"):
            kwargs["data"] = {"csrf_token": self.client.get("/t/token").get_data(as_text=True)}
        return self.client.post(path, **kwargs)


@pytest.fixture
def tclient(lifecycle_app):
    return TokenClient(lifecycle_app.test_client())


def test_a_successful_request_commits_once_and_an_error_answer_rolls_back(tclient, db):
    assert tclient.post("/t/ok").status_code == 200
    assert tclient.post("/t/status/400").status_code == 400
    assert tclient.post("/t/status/500").status_code == 500
    assert tclient.post("/t/status/302").status_code == 302
    assert _teams() == ["made before answering 302", "made by ok"]


@pytest.mark.parametrize("kind, status", [("invalid", 400), ("conflict", 409), ("forbidden", 403),
                                          ("notfound", 404)])
def test_domain_errors_roll_back_and_become_the_page_answer(tclient, db, kind, status):
    response = tclient.post(f"/t/raise/{kind}")
    assert response.status_code == status
    assert "text/html" in response.content_type
    assert _teams() == []
    html = response.get_data(as_text=True)
    if kind == "invalid":
        assert "Give a name." in html
    if kind == "conflict":
        assert "Someone else changed this." in html and "Open the current version" in html


@pytest.mark.parametrize("kind, status, code", [("invalid", 422, "unprocessable"), ("conflict", 409, "conflict"),
                                                ("forbidden", 403, "forbidden"), ("notfound", 404, "not_found")])
def test_domain_errors_become_json_errors_under_the_api(tclient, db, kind, status, code):
    response = tclient.post(f"/api/v1/t/raise/{kind}")
    assert response.status_code == status
    body = response.get_json()
    assert body["error"]["code"] == code
    if kind == "invalid":
        assert body["error"]["fields"] == {"name": "Give a name."}
    if kind == "conflict":
        assert body["error"]["fields"] == {"version": "current version is 3"}
    assert _teams() == []


def test_a_forbidden_action_is_audited_although_its_work_is_undone(tclient, db):
    assert tclient.post("/t/raise/forbidden").status_code == 403
    denied = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "permission_denied")).all()
    assert [(e.object_type, e.reason, e.outcome) for e in denied] == [("team", "test refusal", "denied")]
    assert _teams() == []


def test_a_page_read_commits_before_it_renders_a_form_post_after(tclient, db):
    read = tclient.get("/t/render")
    assert read.get_data(as_text=True) == "False"  # no transaction open while the template rendered
    posted = tclient.post("/t/render")
    assert posted.get_data(as_text=True) == "True"  # decided after the view returns
    assert _teams() == ["made before rendering (GET)", "made before rendering (POST)"]


def test_attempt_undoes_only_the_refused_change(tclient, db):
    answer = tclient.post("/t/attempt").get_json()
    assert answer == {"ok": False, "errors": {"name": "Give a name."}}
    assert _teams() == ["kept"]


def test_load_visible_answers_404_alike_for_missing_and_hidden_records_and_audits_a_view(
        lifecycle_app, tclient, db, make_user, make_team):
    me = make_user("counsellor")
    other = make_team("Other team")
    sign_in(tclient.client, me.username)
    assert tclient.get(f"/t/team/{me.team_id}").get_data(as_text=True) == me.team.name
    hidden = tclient.get(f"/t/team/{other.id}")
    missing = tclient.get("/t/team/7d3c0f0e-0000-4000-8000-000000000000")
    garbage = tclient.get("/t/team/not-an-id")
    assert hidden.status_code == missing.status_code == garbage.status_code == 404
    assert hidden.get_data(as_text=True).replace(str(other.id), "") == missing.get_data(as_text=True).replace(
        "7d3c0f0e-0000-4000-8000-000000000000", "")
    views = db.session.scalars(select(AuditEvent.object_id).where(AuditEvent.action == "view",
                                                                  AuditEvent.object_type == "test_team")).all()
    assert views == [str(me.team_id)]


def test_every_view_of_the_real_app_runs_in_the_unit_of_work(app):
    from carecycle.lifecycle import in_unit_of_work
    unwrapped = [endpoint for endpoint, view in app.view_functions.items() if not in_unit_of_work(view)]
    assert unwrapped == []


@pytest.fixture
def pages_app(app, db, _tmp):
    """Routes that use the shell's page helpers (carecycle.pages)."""
    from flask_wtf import FlaskForm as Form
    from wtforms import StringField

    from carecycle.pages import change_and_return, save_form, try_transition

    application = make_app(_tmp)
    pages = Blueprint("pages_test", __name__)

    class NameForm(Form):
        name = StringField()

    def make(name):
        _team(name)
        _db.session.flush()
        if name == "bad":
            raise Invalid({"name": "Not that name."})
        if name == "stale":
            raise Conflict("Changed meanwhile.")
        return name

    @pages.route("/t/token")
    @requires(PUBLIC)
    def token():
        return render_template_string("{{ csrf_token() }}")

    @pages.route("/t/save", methods=["POST"])
    @requires(PUBLIC)
    def save():
        _team(f"seen before saving {request.form['name']}")
        form = NameForm()
        answer = save_form(form, "/done", lambda: make(request.form["name"]), "Saved.")
        return answer or (f"again: {form.name.errors}", 400)

    @pages.route("/t/change", methods=["POST"])
    @requires(PUBLIC)
    def change():
        _team(f"seen before changing {request.form['name']}")
        return change_and_return("/done", lambda: make(request.form["name"]), "Changed.")

    @pages.route("/t/transition", methods=["POST"])
    @requires(PUBLIC)
    def transition():
        _team(f"seen before the transition {request.form['name']}")
        return try_transition("/done", lambda: make(request.form["name"]), "Moved.")

    application.register_blueprint(pages)
    wrap_views(application)
    yield application
    dispose(application)


def _post(client, path, name):
    token = client.get("/t/token").get_data(as_text=True)
    return client.post(path, data={"csrf_token": token, "name": name})


def test_save_form_shows_a_refusal_again_and_keeps_nothing_of_the_post(pages_app, db):
    client = pages_app.test_client()
    again = _post(client, "/t/save", "bad")
    assert again.status_code == 400 and "Not that name." in again.get_data(as_text=True)
    assert _teams() == []  # a form shown again with 400: the whole request is rolled back
    assert _post(client, "/t/save", "good").headers["Location"] == "/done"
    assert _teams() == ["good", "seen before saving good"]
    stale = _post(client, "/t/save", "stale")
    assert stale.status_code == 409 and 'href="/done"' in stale.get_data(as_text=True)
    assert _teams() == ["good", "seen before saving good"]


def test_change_and_return_undoes_a_refused_change_but_keeps_the_rest(pages_app, db):
    client = pages_app.test_client()
    refused = _post(client, "/t/change", "bad")
    assert refused.status_code == 302 and refused.headers["Location"] == "/done"
    assert _teams() == ["seen before changing bad"]  # the refused change is undone, the rest committed


def test_try_transition_sends_a_conflict_back_with_its_reason(pages_app, db):
    client = pages_app.test_client()
    moved_on = _post(client, "/t/transition", "stale")
    assert moved_on.status_code == 302
    assert _teams() == ["seen before the transition stale"]
    with client.session_transaction() as session:
        assert ("error", "Changed meanwhile.") in session["_flashes"]
    assert _post(client, "/t/transition", "fine").status_code == 302
    assert "fine" in _teams()
