"""CSRF: every state-changing route of the app refuses a request that carries no valid token.

The walk goes through `app.url_map`, so a route added later is covered without anyone
remembering to write a test for it, and a route that skips the check fails here."""
from __future__ import annotations

import uuid

import pytest
from flask import request
from sqlalchemy import func, select
from werkzeug.routing.converters import NumberConverter

from carecycle.extensions import csrf
from casework.models import Client, ContactNote
from casework.service import cases as case_service
from casework.service import notes as note_service
from tests.conftest import sign_in

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
CSRF_MESSAGE = "The form expired or was sent from elsewhere."

# Routes that do not take the CSRF token, each with the reason. Only the bearer-token JSON API:
# under /api/ the session cookie does not sign anyone in (carecycle/__init__.py `load_user`), so a
# request forged from another site carries no authority; the walk checks that a signed-in
# browser's cookie gets 401 there.
BEARER_API = "bearer-token JSON API: the session cookie does not authenticate under /api/"
CSRF_EXEMPT = {endpoint: BEARER_API for endpoint in (
    "api.api_casework.api_care_plan_put", "api.api_casework.api_case_create", "api.api_casework.api_case_group_enrol",
    "api.api_casework.api_case_group_leave", "api.api_casework.api_case_patch", "api.api_casework.api_case_screening",
    "api.api_casework.api_client_create", "api.api_casework.api_consent_create",
    "api.api_casework.api_consent_withdraw", "api.api_casework.api_follow_up_record",
    "api.api_casework.api_group_archive", "api.api_casework.api_group_attendance",
    "api.api_casework.api_group_create", "api.api_casework.api_group_patch",
    "api.api_casework.api_group_session_cancel", "api.api_casework.api_group_session_create",
    "api.api_casework.api_next_contact", "api.api_casework.api_note_addendum", "api.api_casework.api_note_create",
    "api.api_casework.api_note_patch", "api.api_casework.api_note_sign", "api.api_casework.api_register_add",
    "api.api_casework.api_register_change", "api.api_casework.api_register_outreach_log",
    "api.api_casework.api_register_remove", "api.api_casework.api_risk_acknowledge",
    "api.api_casework.api_risk_assessment_create", "api.api_casework.api_safety_plan_draft",
    "api.api_casework.api_safety_plan_share", "api.api_casework.api_safety_plan_sign",
    "api.api_casework.api_safety_plan_unshare", "api.api_casework.api_task_done", "api.api_casework.api_triage_claim",
    "api.api_casework.api_group_plan_create", "api.api_casework.api_group_plan_change",
    "api.api_casework.api_group_plan_archive", "api.api_casework.api_group_plan_add_client",
    "api.api_casework.api_group_plan_remove_client",
    "api.api_casework.api_procedure_create", "api.api_casework.api_procedure_revise",
    "api.api_casework.api_procedure_archive", "api.api_casework.api_checklist_mark",
    "api.api_supervision.api_recovery_create", "api.api_supervision.api_recovery_action_add",
    "api.api_supervision.api_recovery_action_done", "api.api_supervision.api_recovery_group_link",
    "api.api_supervision.api_recovery_review",
    "api.api_referrals.api_activation_create", "api.api_referrals.api_activation_outcome",
    "api.api_referrals.api_agreement_create", "api.api_referrals.api_agreement_patch",
    "api.api_referrals.api_directory_import", "api.api_referrals.api_referral_create",
    "api.api_referrals.api_referral_link", "api.api_referrals.api_referral_link_revoke",
    "api.api_referrals.api_referral_status", "api.api_referrals.api_reserve_create",
    "api.api_referrals.api_reserve_movement", "api.api_referrals.api_volunteer_certificate",
    "api.api_referrals.api_volunteer_create", "api.api_referrals.api_volunteer_mobilisation_end",
    "api.api_referrals.api_volunteer_mobilise", "api.api_referrals.api_volunteer_patch",
    "api.api_referrals.api_volunteer_team_create", "api.api_referrals.api_volunteer_team_patch",
    "api.api_referrals.api_volunteer_training_create", "api.api_referrals.api_volunteer_training_patch",
    "api.api_supervision.approval_decide", "api.api_supervision.mode_switch", "api.api_supervision.notification_read",
    "api.api_supervision.notifications_read_all", "api.api_supervision.reassign_cases",
)}
FHIR = "bearer-token FHIR interface: the session cookie does not authenticate under /fhir/ either"
CSRF_EXEMPT.update({"fhir.update": FHIR, "fhir.patch": FHIR})
CSRF_EXEMPT["api.api_screening.create_screening"] = (
    "public anonymous self-screening API: it signs nobody in and takes no cookie, so there is no session to ride on")


def unsafe_routes(app):
    """(method, endpoint, rule) of every route that changes state."""
    return sorted((method, rule.endpoint, rule) for rule in app.url_map.iter_rules()
                  for method in rule.methods & UNSAFE)


def url_for_rule(rule, known: dict[str, str]) -> str:
    """The rule's path with a real id where the test made one, a fresh UUID for other ids."""
    values = {}
    for name in rule.arguments:
        if isinstance(rule._converters[name], NumberConverter):
            values[name] = 1
        else:
            values[name] = known.get(name, str(uuid.uuid4()))
    _domain, path = rule.build(values, append_unknown=False)
    return path


def row_counts(db) -> dict[str, int]:
    """Rows per table, but for the rate-limit counter: public routes count every POST from an
    address before reading it (`ratelimit.counted`), refused ones included, by design."""
    return {table.name: db.session.scalar(select(func.count()).select_from(table))
            for table in db.metadata.sorted_tables if table.name != "rate_limit_hit"}


def csrf_gaps(app, browser, known) -> list[str]:
    """Walk every unsafe route as the signed-in `browser` without a token, and with a forged one;
    returns `METHOD endpoint: what happened` for each route that did not refuse."""
    gaps = []
    for method, endpoint, rule in unsafe_routes(app):
        path = url_for_rule(rule, known)
        for data in ({"reason": "A reason long enough to be accepted by the form."},
                     {"csrf_token": "forged-token", "reason": "A reason long enough to be accepted by the form."}):
            response = browser.open(path, method=method, data=data)
            text = response.get_data(as_text=True)
            if endpoint == "api.api_screening.create_screening":
                refused = response.status_code == 400  # anonymous by design; a form body is no JSON screening
            elif endpoint in CSRF_EXEMPT:
                refused = response.status_code == 401  # the session cookie does not sign in here
            else:
                refused = response.status_code == 400 and CSRF_MESSAGE in text
            if not refused:
                gaps.append(f"{method} {endpoint}: {response.status_code}")
                break
    return gaps


@pytest.fixture
def signed_in_counsellor(app, client, make_user, db, monkeypatch):
    """A counsellor signed in, with a case of their own and a draft note on it (so a route that
    skipped the check would act on a real record), CSRF on whatever the test config says."""
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    me = make_user("counsellor")
    person = Client(team_id=me.team_id, created_by_id=me.id)
    person.full_name = "Alex Example"
    db.session.add(person)
    db.session.flush()
    case = case_service.open_case(me, person, risk_level="moderate", source="walk_in")
    note = note_service.create_note(me, case, {"kind": "clinical", "mode": "phone", "body": "First call",
                                               "duration_minutes": 20})
    db.session.commit()
    assert sign_in(client, me.username).status_code == 302
    return client, {"case_id": str(case.id), "note_id": str(note.id), "client_id": str(person.id)}, note.id


def test_every_state_changing_route_refuses_a_request_without_a_csrf_token(app, db, signed_in_counsellor):
    browser, known, note_id = signed_in_counsellor
    routes = unsafe_routes(app)
    assert len(routes) > 100
    api_routes = {endpoint for _m, endpoint, rule in routes if rule.rule.startswith(("/api/", "/fhir/"))}
    assert set(CSRF_EXEMPT) == api_routes  # nothing but the bearer-token API is exempt, and no stale entry
    before = row_counts(db)
    assert csrf_gaps(app, browser, known) == []
    db.session.expire_all()
    assert row_counts(db) == before  # not one row added or removed, not one audit event
    assert db.session.get(ContactNote, note_id).signed_at is None
    assert "My day" in browser.get("/").get_data(as_text=True)  # POST /logout without a token did not sign out


def test_the_walk_catches_a_route_that_skips_the_check(app, db, signed_in_counsellor, monkeypatch):
    browser, known, note_id = signed_in_counsellor
    checked = csrf.protect

    def protect_all_but_note_sign():
        if request.endpoint != "casework.note_sign":
            checked()
    monkeypatch.setattr(csrf, "protect", protect_all_but_note_sign)
    assert csrf_gaps(app, browser, known) == ["POST casework.note_sign: 302"]
    db.session.expire_all()
    assert db.session.get(ContactNote, note_id).signed_at is not None  # what the check prevents
