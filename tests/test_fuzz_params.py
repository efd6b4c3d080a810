"""Property-based tests over every route: list, filter, path and form parameters with values that do
not fit (huge numbers, far dates, deep JSON, junk) answer 4xx in the usual shape, never 500.

The routes and their ids come from `app.url_map` and the demo data, so a new route is covered
without listing it here."""
from __future__ import annotations

import uuid

import pytest
from flask import Request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from werkzeug.datastructures import ImmutableMultiDict

from carecycle.accounts.models import User
from carecycle.accounts.service import create_token
from carecycle.demo import DEMO_PASSWORD, load_demo
from carecycle.extensions import db as _db
from tests.conftest import _wipe, sign_in

# Parameter names the routes read (query strings, filter forms, edit forms).
PARAMS = ["page", "per_page", "q", "status", "from", "to", "month", "version", "language", "topic", "domain",
          "instrument", "risk", "phase", "sort", "direction", "role", "attention", "team", "when", "service_id",
          "name", "phone", "id_number", "tier", "overdue", "open", "all", "done", "closed", "archived", "limit",
          "level", "due", "due_at", "date", "next_contact_at", "starts_at", "held_on", "score", "answers", "k",
          "actor", "object_type", "action", "reason", "priority", "expected_version", "days", "count"]

NASTY = ["1" + "0" * 24, "-" + "9" * 30, "9" * 23, "9999-12-31", "0000-00-00", "0001-01-01", "10000-01-01",
         "2026-02-30", "9999-12-31T23:59:59", "1e309", "nan", "inf", "-1", "0", "", " ", "\x00", "%00",
         "a" * 3000, "[]", "{}", "null", "true", "１２", "²", "٣", "<script>", "' OR 1=1 --", "../../etc/passwd",
         "2147483648", "9223372036854775808", "-9223372036854775809", str(uuid.UUID(int=0))]

# The table whose ids a path argument takes (others get a random UUID and answer 404).
ID_TABLES = {
    "case_id": "case_file", "client_id": "client", "referral_id": "referral", "note_id": "contact_note",
    "alert_id": "alert", "group_id": "community_group", "team_id": "team", "org_id": "partner_organisation",
    "article_id": "article", "entry_id": "register_entry", "member_id": "group_member", "service_id":
    "partner_service", "user_id": "user_account", "result_id": "screening_result", "request_id": "contact_request",
    "resource_id": "crisis_resource", "consent_id": "client_consent", "assessment_id": "risk_assessment",
    "session_id": "group_session", "worker_id": "user_account", "task_id": "case_task", "goal_id": "care_plan_goal",
    "follow_up_id": "case_follow_up", "location_id": "partner_location", "training_id": "volunteer_training",
    "inbound_id": "inbound_referral", "drill_id": "drill", "action_id": "drill_action", "grant_id":
    "break_glass_grant", "notification_id": "notification", "item_id": "closure_request", "review_id":
    "care_plan_review", "object_id": "case_file", "volunteer_team_id": "volunteer_team", "volunteer_id": "volunteer",
    "agreement_id": "partner_agreement", "reserve_id": "reserve_item", "procedure_id": "procedure",
    "subject_id": "register_entry", "plan_id": "group_plan", "recovery_id": "recovery_plan",
}
FIXED = {"instrument_id": "phq9", "number": "1", "object_type": "case", "action": "submit", "target": "recovery",
         "kind": "closure", "token": "x" * 20, "subject_type": "register_entry"}
ROLES = [None, "resident", "counsellor", "socialworker", "supervisor", "admin"]
STAFF = ("supervisor", "counsellor", "socialworker", "admin")
# Never fuzzed: signing out or changing one's own password would change who the later examples are.
SKIP = {"auth.logout", "auth.password", "static", "web.favicon"}


# Records the demo's own staff may change, tried before any other (demo ids are random, so "the first by
# id" would be a different record on every run): a case of the demo counsellor with a draft note of theirs,
# that note, and the demo counsellor as the worker to reassign from.
COUNSELLOR = "(SELECT id FROM user_account WHERE username = 'counsellor')"
PREFER = {
    "case_id": f"WHERE assigned_counsellor_id = {COUNSELLOR} AND phase != 'closed' AND id IN (SELECT case_id FROM "
               f"contact_note WHERE author_id = {COUNSELLOR} AND signed_at IS NULL AND addendum_to_id IS NULL)",
    "worker_id": "WHERE username = 'counsellor'",
}
PREFER_CHILD = {"note_id": f"AND author_id = {COUNSELLOR} AND signed_at IS NULL AND addendum_to_id IS NULL"}


def _ids(db) -> dict[str, str]:
    """One id per path argument, of a record of the demo supervisor's team where the table says whose
    it is (so the supervisor's requests reach the handlers instead of a 404)."""
    team = db.session.execute(text("SELECT team_id FROM user_account WHERE username = 'supervisor'")).scalar()
    found = {}
    for argument, table in ID_TABLES.items():
        columns = set(db.metadata.tables[table].c.keys())
        if "team_id" in columns:
            where = 'WHERE team_id = :team'
        elif "case_id" in columns:
            where = "WHERE case_id IN (SELECT id FROM case_file WHERE team_id = :team)"
        elif "client_id" in columns:
            where = "WHERE client_id IN (SELECT id FROM client WHERE team_id = :team)"
        else:
            where = ""
        if "archived_at" in columns:  # a live record: an archived one refuses most changes with a 404
            where = f"{where} AND archived_at IS NULL" if where else "WHERE archived_at IS NULL"
        value = None
        if argument in PREFER:
            preferred = f'SELECT id FROM "{table}" {PREFER[argument]} ORDER BY id LIMIT 1'
            value = db.session.execute(text(preferred)).scalar()
        if value is None:
            value = db.session.execute(text(f'SELECT id FROM "{table}" {where} ORDER BY id LIMIT 1'),
                                       {"team": team} if where else {}).scalar()
        if value is None:
            value = db.session.execute(text(f'SELECT id FROM "{table}" ORDER BY id LIMIT 1')).scalar()
        if value is not None:
            found[argument] = str(value)
    # a record that lives under another in the path is one of that parent's
    for argument, table, parent_column, parent in (("note_id", "contact_note", "case_id", "case_id"),
                                                   ("follow_up_id", "case_follow_up", "case_id", "case_id"),
                                                   ("session_id", "group_session", "group_id", "group_id")):
        value = None
        for extra in (PREFER_CHILD.get(argument), ""):
            if value is None and extra is not None:
                value = db.session.execute(text(f'SELECT id FROM "{table}" WHERE {parent_column} = :parent {extra} '
                                                "ORDER BY id LIMIT 1"), {"parent": found.get(parent)}).scalar()
        if value is not None:
            found[argument] = str(value)
    return found


def _routes(app, ids, methods):
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIP or not (rule.methods & methods):
            continue
        values = {a: ids.get(a) or FIXED.get(a) or str(uuid.uuid4()) for a in rule.arguments}
        with app.test_request_context():
            path = app.url_map.bind("localhost").build(rule.endpoint, values, append_unknown=False)
        routes.append((sorted(rule.methods & methods)[0], path))
    return sorted(set(routes))


class RecordingArgs(ImmutableMultiDict):
    """Query strings and form bodies that note which names the view reads (the discovery pass)."""

    seen: set[str] | None = None

    def _note(self, key):
        if RecordingArgs.seen is not None and isinstance(key, str):
            RecordingArgs.seen.add(key)

    def get(self, key, default=None, type=None):
        self._note(key)
        return super().get(key, default, type)

    def __getitem__(self, key):
        self._note(key)
        return super().__getitem__(key)

    def getlist(self, key, type=None):
        self._note(key)
        return super().getlist(key, type)

    def __contains__(self, key):
        self._note(key)
        return super().__contains__(key)


class RecordingRequest(Request):
    parameter_storage_class = RecordingArgs


def _discover(app, clients, routes, send):
    """The names each route reads and a staff role that may use it, found by calling it once per role
    with a probe parameter."""
    found = []
    for method, path in routes:
        RecordingArgs.seen = set()
        able = None
        for role in ROLES:
            response = send(clients[role], method, path, {"_probe": "1"})
            refused = response.status_code in (401, 403, 404, 405) or "/login" in response.headers.get("Location", "")
            if role in STAFF and able is None and not refused:
                able = role
        names = sorted(RecordingArgs.seen - {"_probe"})
        RecordingArgs.seen = None
        names = sorted({"page", *names}) if method == "GET" else names or ["version"]
        found.append((method, path, names, able or "admin"))
    return found


@pytest.fixture(scope="module")
def world(app):
    """Demo data, a signed-in test client per role, and every route with real ids filled in and the
    parameter names it reads: built once for the module, wiped after it."""
    with pytest.MonkeyPatch.context() as patch, app.app_context():
        load_demo(lambda _line: None)
        _db.session.commit()
        patch.setitem(app.config, "WTF_CSRF_ENABLED", False)  # forms
        patch.setitem(app.config, "WTF_CSRF_METHODS", [])  # the shell's csrf.protect()
        for limit in ("LOGIN_ADDRESS_LIMIT", "SCREENING_RATE_LIMIT", "SCREENING_CONTACT_RATE_LIMIT",
                      "SCREENING_REGISTER_RATE_LIMIT", "REFERRALS_INBOUND_RATE_LIMIT"):
            patch.setitem(app.config, limit, 10**6)  # the limits have their own tests
        patch.setattr(app, "request_class", RecordingRequest)
        clients = {}
        for role in ROLES:
            client = app.test_client()
            if role:
                assert sign_in(client, role, DEMO_PASSWORD).status_code == 302, role
                user = _db.session.scalar(select(User).where(User.username == role))
                client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {create_token(user)}"  # for /api/v1
                _db.session.commit()
            clients[role] = client
        ids = _ids(_db)
        writes = _routes(app, ids, {"POST", "PUT", "PATCH", "DELETE"})
        get = _discover(app, clients, _routes(app, ids, {"GET"}), lambda c, m, p, q: c.get(p, query_string=q))
        post = _discover(app, clients, [r for r in writes if not r[1].startswith("/api/")],
                         lambda c, m, p, q: c.open(p, method=m, data=q))
        # the discovery passes may archive a record (an organisation's archive form): the API routes take the ids
        # of records that are live now
        api = [r for r in _routes(app, _ids(_db), {"POST", "PUT", "PATCH", "DELETE"}) if r[1].startswith("/api/")]
        yield {"clients": clients, "get": get, "post": post, "api": api}
        _db.session.remove()
    _wipe(app)


def _check(response, path):
    assert response.status_code < 500, (path, response.status_code, response.get_data(as_text=True)[:500])
    if path.startswith("/api/") and response.status_code >= 400:
        body = response.get_json(silent=True)
        assert body and body["error"]["code"] and body["error"]["message"], (path, response.get_data()[:300])


def test_every_json_endpoint_refuses_a_field_it_does_not_take(world):
    """Unknown fields are refused everywhere with 422 naming the field, never silently ignored.
    First in the module: the fuzz tests after it may disable accounts or close records.
    (The HSDS import takes HSDS documents, whose fields the HSDS schema defines.)"""
    not_refused, checked, skipped = [], 0, []
    for method, path in world["api"]:
        if path.endswith("/directory/import"):
            continue
        for role in STAFF:  # the first staff role whose record it is (a risk assessment is the counsellor's)
            response = world["clients"][role].open(path, method=method,
                                                  json={"surely_unknown_field": 1, "version": 0})
            if response.status_code not in (401, 403, 404):
                break
        fields = (response.get_json(silent=True) or {}).get("error", {}).get("fields") or {}
        if response.status_code in (401, 403, 404):
            skipped.append((path, response.status_code))
            continue  # not this role's record: the refusal comes first, as it should
        checked += 1
        if response.status_code != 422 or "surely_unknown_field" not in fields:
            not_refused.append((method, path, response.status_code, fields))
    assert not not_refused
    # nearly every endpoint was reached
    assert checked >= len(world["api"]) - 4, "\n".join(f"{p} {c}" for p, c in skipped)


NASTY_CORE = ["1" + "0" * 24, "9" * 23, "9999-12-31", "0001-01-01", "9999-12", "\x00"]

values = st.one_of(st.sampled_from(NASTY), st.text(max_size=30))

FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _draw_params(data, names):
    chosen = data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=min(4, len(names)), unique=True))
    return {name: data.draw(values) for name in chosen}


@FUZZ
@given(data=st.data())
def test_query_parameters_never_cause_a_server_error(world, data):
    role = data.draw(st.sampled_from(ROLES))
    _method, path, names, _able = data.draw(st.sampled_from(world["get"]))
    _check(world["clients"][role].get(path, query_string=_draw_params(data, names)), path)


@FUZZ
@given(data=st.data())
def test_form_parameters_never_cause_a_server_error(world, data):
    role = data.draw(st.sampled_from(ROLES))
    method, path, names, _able = data.draw(st.sampled_from(world["post"]))
    _check(world["clients"][role].open(path, method=method, data=_draw_params(data, names)), path)


json_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(min_value=-10**30, max_value=10**30),
                                     st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(NASTY)),
                           lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                   st.dictionaries(st.sampled_from(PARAMS), inner, max_size=4)),
                           max_leaves=12)


@FUZZ
@given(data=st.data())
def test_json_bodies_never_cause_a_server_error(world, data):
    role = data.draw(st.sampled_from(ROLES))
    method, path = data.draw(st.sampled_from(world["api"]))
    body = data.draw(st.one_of(st.dictionaries(st.sampled_from(PARAMS), json_values, max_size=5), json_values))
    _check(world["clients"][role].open(path, method=method, json=body), path)


def test_every_route_is_exercised(world):
    """The route lists are built from the url_map and the discovery pass found the names routes read."""
    assert len(world["get"]) > 100 and len(world["post"]) > 60 and len(world["api"]) > 15
    names = {name for _m, _p, found, _a in world["get"] + world["post"] for name in found}
    assert {"page", "from", "to", "month", "q", "version"} <= names


# Deterministically: every name each route reads, with the values the review named.

@pytest.mark.parametrize("kind", ["get", "post"])
def test_every_parameter_of_every_route_refuses_values_that_do_not_fit(world, kind):
    for method, path, names, able in world[kind]:
        client = world["clients"][able]
        for name in names:
            for value in NASTY_CORE:
                if kind == "get":
                    response = client.get(path, query_string={name: value})
                else:
                    response = client.open(path, method=method, data={name: value})
                _check(response, f"{path} {name}={value[:30]!r}")


@pytest.mark.parametrize("body", [
    "[" * 5000 + "]" * 5000,
    '{"a":' * 200 + "1" + "}" * 200,
    '{"version": 12345678901234567890123}',
    '{"version": 1e400}',
    '{"version": -99999999999999999999999, "priority": "urgent"}',
])
def test_deep_or_huge_json_answers_4xx_on_every_endpoint(world, body):
    for method, path in world["api"]:
        response = world["clients"]["supervisor"].open(path, method=method, data=body,
                                                      content_type="application/json")
        _check(response, path)

