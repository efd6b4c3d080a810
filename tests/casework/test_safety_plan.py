"""Safety plans: versions, signing by a counsellor only, print view, the one-time link code, sharing
with the client's resident account, and what the resident sees at /my/safety-plan."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from carecycle.audit import AuditEvent
from carecycle.database import utcnow
from casework.models import CaseEvent, Client, ContactNote, ResidentLinkCode, SafetyPlanVersion
from casework.models.safety import SECTION_CODES
from casework.service import phases
from casework.service import safety as service
from tests.conftest import form_post, sign_in

PLAN = {
    "warning_signs": "Not sleeping\nStaying in my room all day",
    "on_my_own": "Walk by the harbour\nHot shower",
    "distractions": "Café on Main Street",
    "people_to_ask": "My sister Ann 9123 0000",
    "professionals": "Counsellor Lee 2345 6789\nCrisis line 2389 2222 (24 hours)",
    "safer_surroundings": "Ann keeps my medication",
    "reasons_for_living": "My daughter\nMy cat Mochi",
}
CODE_RE = re.compile(r"\b[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}\b")


def plan_form(action="draft", version="0", **changes):
    return {**PLAN, **changes, "action": action, "version": version}


def signed_plan(user, case, db, **changes):
    draft = service.save_draft(user, case, {**PLAN, **changes})
    service.sign(user, case, draft)
    db.session.commit()
    return draft


def link_resident(app, make_user, case, counsellor, db):
    """Make a code as the counsellor, and redeem it as a new resident: returns (resident, client)."""
    _row, code = service.issue_link_code(counsellor, case)
    db.session.commit()
    resident = make_user("resident")
    browser = app.test_client()
    sign_in(browser, resident.username)
    assert form_post(browser, "/my/link", {"code": code}).status_code == 302
    return resident, browser


# ------------------------------------------------------------------ versions and signing
def test_counsellor_drafts_signs_and_each_change_after_signing_is_a_new_version(client, login_as, make_case, db):
    me = login_as("counsellor")
    case = make_case(me)
    assert form_post(client, f"/cases/{case.id}/safety-plan/edit", plan_form()).status_code == 302
    draft = db.session.scalar(select(SafetyPlanVersion))
    assert draft.number == 1 and not draft.signed
    raw = db.session.execute(text("SELECT content FROM safety_plan_version")).scalar_one()
    assert raw.startswith("ccv1:") and "Mochi" not in raw
    # the draft is edited in place
    again = form_post(client, f"/cases/{case.id}/safety-plan/edit",
                      plan_form(version=str(draft.version), on_my_own="Walk by the harbour"))
    assert again.status_code == 302
    assert db.session.query(SafetyPlanVersion).count() == 1
    db.session.expire_all()
    assert draft.version == 2
    signed = form_post(client, f"/cases/{case.id}/safety-plan/edit",
                       plan_form(action="sign", version=str(draft.version)))
    assert signed.status_code == 302
    db.session.expire_all()
    first = db.session.scalar(select(SafetyPlanVersion))
    assert first.signed and first.signed_by_id == me.id and service.has_signed_plan(case)
    assert phases.has_signed_plan(case)  # the crisis -> recovery rule sees it
    # a change after signing starts version 2; version 1 stays as signed
    assert form_post(client, f"/cases/{case.id}/safety-plan/edit",
                     plan_form(reasons_for_living="My daughter")).status_code == 302
    db.session.expire_all()
    versions = db.session.scalars(select(SafetyPlanVersion).order_by(SafetyPlanVersion.number)).all()
    assert [(v.number, v.signed) for v in versions] == [(1, True), (2, False)]
    assert "My cat Mochi" in versions[0].section("reasons_for_living")
    assert "Mochi" not in versions[1].section("reasons_for_living")
    old = client.get(f"/cases/{case.id}/safety-plan/1").get_data(as_text=True)
    assert "My cat Mochi" in old and "Signed by" in old
    page = client.get(f"/cases/{case.id}/safety-plan").get_data(as_text=True)
    assert "Current version: 1" in page and "Draft" in page
    kinds = {e.kind for e in db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id))}
    assert "safety_plan_signed" in kinds
    assert ("sign", str(first.id)) in {(e.action, e.object_id) for e in db.session.scalars(select(AuditEvent))}


def test_a_new_version_starts_from_the_signed_one(client, login_as, make_case, db):
    me = login_as("counsellor")
    case = make_case(me)
    signed_plan(me, case, db)
    page = client.get(f"/cases/{case.id}/safety-plan/edit").get_data(as_text=True)
    assert "My cat Mochi" in page and "Crisis line 2389 2222" in page


def test_only_a_counsellor_signs(client, make_user, make_case, db):
    counsellor = make_user("counsellor")
    supervisor = make_user("supervisor", team=counsellor.team)
    case = make_case(counsellor)
    sign_in(client, supervisor.username)
    # a supervisor may draft ...
    assert form_post(client, f"/cases/{case.id}/safety-plan/edit", plan_form(),
                     page=f"/cases/{case.id}/safety-plan").status_code == 302
    draft = db.session.scalar(select(SafetyPlanVersion))
    # ... but neither "Save and sign" nor the sign button signs it
    assert form_post(client, f"/cases/{case.id}/safety-plan/edit",
                     plan_form(action="sign", version=str(draft.version))).status_code == 403
    assert form_post(client, f"/cases/{case.id}/safety-plan/1/sign", {"version": str(draft.version)},
                     page=f"/cases/{case.id}/safety-plan/1").status_code == 403
    db.session.expire_all()
    assert not db.session.get(SafetyPlanVersion, draft.id).signed
    denied = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "permission_denied")).all()
    assert len(denied) == 2


def test_social_workers_read_the_signed_plan_but_never_write_it(client, make_user, make_case, db):
    counsellor = make_user("counsellor")
    worker = make_user("social_worker", team=counsellor.team)
    case = make_case(counsellor, social_worker=worker)
    signed_plan(counsellor, case, db)
    service.save_draft(counsellor, case, {**PLAN, "reasons_for_living": "Draft only words"})
    db.session.commit()
    sign_in(client, worker.username)
    page = client.get(f"/cases/{case.id}/safety-plan").get_data(as_text=True)
    assert "My cat Mochi" in page and "Draft only words" not in page
    assert client.get(f"/cases/{case.id}/safety-plan/2").status_code == 404  # the draft
    assert client.get(f"/cases/{case.id}/safety-plan/edit").status_code == 403
    assert client.post(f"/cases/{case.id}/safety-plan/1/sign").status_code in (400, 403)
    assert "Draft only words" not in client.get(f"/cases/{case.id}").get_data(as_text=True)


def test_signing_needs_warning_signs_and_crisis_contacts(client, login_as, make_case, db):
    me = login_as("counsellor")
    case = make_case(me)
    response = form_post(client, f"/cases/{case.id}/safety-plan/edit",
                         plan_form(action="sign", warning_signs="", professionals=" "))
    assert response.status_code == 400
    assert response.get_data(as_text=True).count("needed before the plan can be signed") == 2
    assert db.session.query(SafetyPlanVersion).count() == 0  # nothing saved: the whole step is refused
    empty = form_post(client, f"/cases/{case.id}/safety-plan/edit", plan_form(**{c: "" for c in SECTION_CODES}))
    assert empty.status_code == 400 and "at least one section" in empty.get_data(as_text=True)


def test_a_signed_version_is_frozen(make_user, make_case, db):
    from carecycle.validation import Conflict
    me = make_user("counsellor")
    case = make_case(me)
    plan = signed_plan(me, case, db)
    with pytest.raises(Conflict):
        service.sign(me, case, plan)
    service.save_draft(me, case, {**PLAN, "warning_signs": "changed"})
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(SafetyPlanVersion, plan.id).section("warning_signs") == PLAN["warning_signs"]


def test_a_stale_draft_edit_is_refused(client, login_as, make_case, db):
    me = login_as("counsellor")
    case = make_case(me)
    draft = service.save_draft(me, case, PLAN)
    db.session.commit()
    response = form_post(client, f"/cases/{case.id}/safety-plan/edit",
                         plan_form(version=str(draft.version + 5), warning_signs="overwrite"))
    assert response.status_code == 409
    db.session.expire_all()
    assert db.session.get(SafetyPlanVersion, draft.id).section("warning_signs") == PLAN["warning_signs"]


def test_print_view_has_the_plan_and_no_navigation(client, login_as, make_case, db):
    me = login_as("counsellor")
    case = make_case(me)
    signed_plan(me, case, db)
    response = client.get(f"/cases/{case.id}/safety-plan/1/print")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "My cat Mochi" in html and "Crisis line 2389 2222" in html
    assert "<nav" not in html and "Sign out" not in html
    assert ("export", "safety_plan") in {(e.action, e.object_type) for e in db.session.scalars(select(AuditEvent))}


def test_another_teams_plan_does_not_exist_for_me(client, login_as, make_user, make_case, db):
    login_as("counsellor")
    other = make_user("counsellor", team="elsewhere")
    case = make_case(other)
    signed_plan(other, case, db)
    for path in ("/safety-plan", "/safety-plan/1", "/safety-plan/1/print", "/safety-plan/edit"):
        assert client.get(f"/cases/{case.id}{path}").status_code == 404
    assert form_post(client, f"/cases/{case.id}/resident-link", {}, page="/cases").status_code == 404


# ------------------------------------------------------------------ link codes
def test_the_link_code_is_shown_once_and_stored_only_as_a_keyed_hash(client, login_as, make_case, db):
    me = login_as("counsellor")
    case = make_case(me)
    response = form_post(client, f"/cases/{case.id}/resident-link", {}, page=f"/cases/{case.id}/safety-plan")
    assert response.status_code == 200
    code = CODE_RE.search(response.get_data(as_text=True)).group(0)
    row = db.session.scalar(select(ResidentLinkCode))
    assert row.client_id == case.client_id and row.expires_at - utcnow() > timedelta(days=6, hours=23)
    dump = " ".join(str(v) for v in db.session.execute(text("SELECT * FROM resident_link_code")).one())
    assert code not in dump and code.replace("-", "") not in dump
    assert code not in client.get(f"/cases/{case.id}/safety-plan").get_data(as_text=True)


def test_a_resident_links_with_the_code_once(app, client, make_user, make_case, db):
    counsellor = make_user("counsellor")
    case = make_case(counsellor)
    _row, code = service.issue_link_code(counsellor, case)
    db.session.commit()
    resident = make_user("resident")
    sign_in(client, resident.username)
    response = form_post(client, "/my/link", {"code": code.lower().replace("-", " ")})
    assert response.status_code == 302 and response.headers["Location"].endswith("/my/safety-plan")
    db.session.expire_all()
    assert db.session.get(Client, case.client_id).resident_user_id == resident.id
    assert "has not shared a safety plan" in client.get("/my/safety-plan").get_data(as_text=True)
    # used once: another resident (or the same one again) is refused
    intruder = make_user("resident")
    other = app.test_client()
    sign_in(other, intruder.username)
    reused = form_post(other, "/my/link", {"code": code})
    assert reused.status_code == 400 and "not valid" in reused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Client, case.client_id).resident_user_id == resident.id
    events = {(e.action, e.outcome) for e in db.session.scalars(select(AuditEvent))}
    assert ("link_resident", "ok") in events and ("link_resident", "denied") in events


def test_wrong_expired_and_replaced_codes_are_refused(client, make_user, make_case, db):
    counsellor = make_user("counsellor")
    case = make_case(counsellor)
    expired_row, expired = service.issue_link_code(counsellor, case)
    expired_row.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    _replaced_row, replaced = service.issue_link_code(counsellor, case)
    _current_row, current = service.issue_link_code(counsellor, case)  # revokes the one before
    db.session.commit()
    resident = make_user("resident")
    sign_in(client, resident.username)
    for code in ("ABCD-EFGH-JKLM", "short", expired, replaced):
        response = form_post(client, "/my/link", {"code": code})
        assert response.status_code == 400
        assert "not valid" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Client, case.client_id).resident_user_id is None
    assert form_post(client, "/my/link", {"code": current}).status_code == 302


def test_code_attempts_are_rate_limited(client, make_user, make_case, db):
    counsellor = make_user("counsellor")
    case = make_case(counsellor)
    _row, code = service.issue_link_code(counsellor, case)
    db.session.commit()
    sign_in(client, make_user("resident").username)
    statuses = [form_post(client, "/my/link", {"code": f"WRONG{n}"}).status_code for n in range(5)]
    assert statuses == [400] * 5
    blocked = form_post(client, "/my/link", {"code": code})  # even the right code waits now
    assert blocked.status_code == 429
    db.session.expire_all()
    assert db.session.get(Client, case.client_id).resident_user_id is None


def test_staff_have_no_my_pages_and_residents_no_case_pages(client, make_user, make_case, login_as, db):
    case = make_case(make_user("counsellor"))
    login_as("resident")
    assert client.get(f"/cases/{case.id}/safety-plan").status_code == 403
    staff = make_user("counsellor")
    other = client.application.test_client()
    sign_in(other, staff.username)
    assert other.get("/my/safety-plan").status_code == 403
    assert other.get("/my/link").status_code == 403


# ------------------------------------------------------------------ sharing and the resident's view
def test_share_needs_a_linked_account_and_a_signed_version(client, login_as, make_case, db):
    me = login_as("counsellor")
    case = make_case(me)
    service.save_draft(me, case, PLAN)
    db.session.commit()
    response = form_post(client, f"/cases/{case.id}/safety-plan/share", {}, page=f"/cases/{case.id}/safety-plan",
                         follow_redirects=True)
    assert "no linked resident account" in response.get_data(as_text=True)
    assert db.session.scalar(select(SafetyPlanVersion)).shared_at is None


def test_the_resident_sees_only_the_shared_signed_version(app, client, login_as, make_user, make_case, db):
    me = login_as("counsellor")
    case = make_case(me)
    signed_plan(me, case, db)
    resident, browser = link_resident(app, make_user, case, me, db)
    assert "has not shared" in browser.get("/my/safety-plan").get_data(as_text=True)
    response = form_post(client, f"/cases/{case.id}/safety-plan/share", {}, page=f"/cases/{case.id}/safety-plan")
    assert response.status_code == 302
    # a newer signed version, not yet shared: the resident still sees version 1
    signed_plan(me, case, db, reasons_for_living="Version two reasons")
    page = browser.get("/my/safety-plan")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "My cat Mochi" in html and "Version two reasons" not in html
    assert "Alex Example" not in html and "Moderate risk" not in html  # nothing else of the case
    shared_id = str(db.session.scalar(select(SafetyPlanVersion).where(SafetyPlanVersion.number == 1)).id)
    events = [(e.action, e.object_id, e.actor_id) for e in db.session.scalars(select(AuditEvent))]
    assert ("share", shared_id, me.id) in events and ("view", shared_id, resident.id) in events
    # sharing version 2 replaces version 1
    form_post(client, f"/cases/{case.id}/safety-plan/share", {}, page=f"/cases/{case.id}/safety-plan")
    assert "Version two reasons" in browser.get("/my/safety-plan").get_data(as_text=True)
    # stop sharing: nothing shown
    form_post(client, f"/cases/{case.id}/safety-plan/unshare", {}, page=f"/cases/{case.id}/safety-plan")
    html = browser.get("/my/safety-plan").get_data(as_text=True)
    assert "Mochi" not in html and "Version two reasons" not in html and "has not shared" in html


def test_a_resident_sees_their_own_plan_and_nobody_elses(app, make_user, make_case, make_client, db):
    counsellor = make_user("counsellor")
    case_a = make_case(counsellor)
    case_b = make_case(counsellor, make_client(counsellor.team, counsellor, full_name="Bea Other"))
    signed_plan(counsellor, case_a, db, reasons_for_living="Alpha reasons")
    signed_plan(counsellor, case_b, db, reasons_for_living="Beta reasons")
    resident_a, browser_a = link_resident(app, make_user, case_a, counsellor, db)
    resident_b, browser_b = link_resident(app, make_user, case_b, counsellor, db)
    for case in (case_a, case_b):
        service.share_current(counsellor, case)
    db.session.commit()
    a = browser_a.get("/my/safety-plan").get_data(as_text=True)
    b = browser_b.get("/my/safety-plan").get_data(as_text=True)
    assert "Alpha reasons" in a and "Beta reasons" not in a
    assert "Beta reasons" in b and "Alpha reasons" not in b
    stranger = make_user("resident")
    browser = app.test_client()
    sign_in(browser, stranger.username)
    html = browser.get("/my/safety-plan").get_data(as_text=True)
    assert "Alpha" not in html and "Beta" not in html and "Link my account" in html


def test_unlinking_hides_the_plan_from_the_resident(app, client, login_as, make_user, make_case, db):
    me = login_as("counsellor")
    case = make_case(me)
    signed_plan(me, case, db)
    _resident, browser = link_resident(app, make_user, case, me, db)
    service.share_current(me, case)
    db.session.commit()
    assert "Mochi" in browser.get("/my/safety-plan").get_data(as_text=True)
    assert form_post(client, f"/cases/{case.id}/resident-unlink", {},
                     page=f"/cases/{case.id}/safety-plan").status_code == 302
    db.session.expire_all()
    assert db.session.get(Client, case.client_id).resident_user_id is None
    assert "Mochi" not in browser.get("/my/safety-plan").get_data(as_text=True)


def test_demo_data_has_notes_assessments_plans_and_a_shared_plan(runner, client, db):
    from carecycle.demo import DEMO_PASSWORD
    from casework.models import RiskAssessment
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    assert "notes and plans demo" in result.output
    assert db.session.query(ContactNote).filter(ContactNote.kind == "clinical").count() > 10
    assert db.session.query(ContactNote).filter(ContactNote.kind == "casework").count() > 3
    assert db.session.query(RiskAssessment).filter(RiskAssessment.acknowledged_at.is_(None),
                                                   RiskAssessment.needs_acknowledgement.is_(True)).count() > 0
    assert db.session.query(SafetyPlanVersion).filter(SafetyPlanVersion.signed_at.is_not(None)).count() > 5
    sign_in(client, "resident", DEMO_PASSWORD)
    assert "My sister Mei" in client.get("/my/safety-plan").get_data(as_text=True)
