"""Link codes for the client's own account: given from the care-plan page by the case's social
worker or the team's supervisor (not only from the safety-plan page by a counsellor), refused to
anyone else; and one resident account is linked to one client only."""
import re

from sqlalchemy import func, select

from carecycle import breakglass
from carecycle.audit import AuditEvent
from carecycle.notifications import Notification
from casework.models import CaseEvent, Client, ResidentLinkCode
from casework.service import careplans, safety
from tests.casework.recovery_helpers import GOAL, recovery_case
from tests.conftest import csrf_from, sign_in
from tests.htmlform import forms_of, submit

CODE_RE = re.compile(r"\b[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}\b")
MAKE_CODE = "Make a link code for the client"
NOTIFICATIONS = "/notifications"


def social_worker_led_case(make_user, make_case, db):
    """A recovery case with a care plan, led by its social worker alone (no counsellor on it)."""
    case, _counsellor, social = recovery_case(make_user, make_case)
    case.assigned_counsellor_id = None
    db.session.commit()
    careplans.save_plan(social, case, 0, {"goals": [dict(GOAL)], "client_note": "Well done"})
    db.session.commit()
    return case, social


def signed_in(app, user):
    browser = app.test_client()
    assert sign_in(browser, user.username).status_code == 302
    return browser


def code_on(response) -> str:
    match = CODE_RE.search(response.get_data(as_text=True))
    assert match, "no link code on the page"
    return match.group(0)


def codes(db) -> int:
    return db.session.scalar(select(func.count()).select_from(ResidentLinkCode))


# ------------------------------------------------------------------ giving a code from the care plan
def test_the_social_worker_gives_a_link_code_from_the_care_plan_and_shares_the_plan(app, db, make_user, make_case):
    case, social = social_worker_led_case(make_user, make_case, db)
    worker = signed_in(app, social)
    page = worker.get(f"/cases/{case.id}/care-plan")
    html = page.get_data(as_text=True)
    assert "The counsellor can give" not in html and "safety-plan page" not in html

    shown = submit(worker, page, MAKE_CODE)
    assert shown.status_code == 200
    code = code_on(shown)
    assert "Back to the care plan" in shown.get_data(as_text=True) and '"My plan"' in shown.get_data(as_text=True)
    row = db.session.scalar(select(ResidentLinkCode))
    assert row.client_id == case.client_id and row.created_by_id == social.id
    assert db.session.scalar(select(CaseEvent.kind).where(CaseEvent.case_id == case.id,
                                                          CaseEvent.kind == "resident_code_issued"))

    # the client links their account with it, and the social worker shares the plan
    resident = make_user("resident")
    own = signed_in(app, resident)
    assert submit(own, "/my/link", "Link my account", {"code": code}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Client, case.client_id).resident_user_id == resident.id
    shared = submit(worker, f"/cases/{case.id}/care-plan", "Share the summary with the client")
    assert shared.status_code == 302
    assert GOAL["title"] in own.get("/my/plan").get_data(as_text=True)


def test_the_team_supervisor_gives_a_link_code_from_the_care_plan(app, db, make_user, make_case):
    case, _social = social_worker_led_case(make_user, make_case, db)
    supervisor = signed_in(app, make_user("supervisor"))
    shown = submit(supervisor, f"/cases/{case.id}/care-plan", MAKE_CODE)
    assert shown.status_code == 200 and code_on(shown)
    assert codes(db) == 1


def test_an_unrelated_worker_cannot_give_a_link_code(app, db, make_user, make_case):
    case, social = social_worker_led_case(make_user, make_case, db)
    path = f"/cases/{case.id}/care-plan/link-code"
    # another social worker of the same team, not on the case: the case does not exist for them
    stranger = signed_in(app, make_user("social_worker"))
    token = csrf_from(stranger.get("/cases"))
    assert stranger.post(path, data={"csrf_token": token}).status_code == 404
    # a supervisor of another team: the same
    elsewhere = signed_in(app, make_user("supervisor", team="other"))
    token = csrf_from(elsewhere.get("/cases"))
    assert elsewhere.post(path, data={"csrf_token": token}).status_code == 404
    # a worker reading the case under break-glass sees no button, and a crafted post is refused
    reader = make_user("social_worker")
    breakglass.grant(reader, "case", case.id, case.team_id, "Client called the duty line, worker away")
    db.session.commit()
    glass = signed_in(app, reader)
    page = glass.get(f"/cases/{case.id}/care-plan")
    assert page.status_code == 200
    assert all(MAKE_CODE not in form.button_texts() for form in forms_of(page.get_data(as_text=True)))
    refused = glass.post(path, data={"csrf_token": csrf_from(page)})
    assert refused.status_code == 403
    assert CODE_RE.search(refused.get_data(as_text=True)) is None
    assert codes(db) == 0
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "permission_denied",
                                                      AuditEvent.reason == "resident link code"))


# ------------------------------------------------------------------ one account, one client
SAFETY = {"warning_signs": "Not sleeping, the first person plan", "professionals": "Counsellor Lee 2345 6789"}


def linked_resident_with_shared_plans(app, db, make_user, make_case):
    """Client A (in recovery) linked to a resident account, with A's safety plan and care plan shared."""
    case, counsellor, social = recovery_case(make_user, make_case)
    safety.sign(counsellor, case, safety.save_draft(counsellor, case, SAFETY))
    careplans.save_plan(social, case, 0, {"goals": [dict(GOAL)], "client_note": "Well done"})
    _row, code = safety.issue_link_code(social, case)
    db.session.commit()
    resident = make_user("resident")
    own = signed_in(app, resident)
    assert submit(own, "/my/link", "Link my account", {"code": code}).status_code == 302
    safety.share_current(counsellor, case)
    careplans.share(social, case)
    db.session.commit()
    return case, social, resident, own


def test_a_code_for_another_client_is_refused_and_the_worker_is_told(app, db, make_user, make_case, make_client):
    first, _social, resident, own = linked_resident_with_shared_plans(app, db, make_user, make_case)
    other_counsellor = make_user("counsellor")
    second = make_case(other_counsellor, make_client(other_counsellor.team, other_counsellor, full_name="Bo Other"))
    other_row, other_code = safety.issue_link_code(other_counsellor, second)
    db.session.commit()

    refused = submit(own, "/my/link", "Link my account", {"code": other_code})
    assert refused.status_code == 400
    assert "already linked to another person" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Client, first.client_id).resident_user_id == resident.id
    assert db.session.get(Client, second.client_id).resident_user_id is None
    assert SAFETY["warning_signs"] in own.get("/my/safety-plan").get_data(as_text=True)
    assert GOAL["title"] in own.get("/my/plan").get_data(as_text=True)
    # the code is spent: nobody can use it now
    row = db.session.get(ResidentLinkCode, other_row.id)
    assert row.used_at is None and row.revoked_at is not None
    stranger = signed_in(app, make_user("resident"))
    assert submit(stranger, "/my/link", "Link my account", {"code": other_code}).status_code == 400
    db.session.expire_all()
    assert db.session.get(Client, second.client_id).resident_user_id is None

    # the worker who gave the code is told, and the case page says so
    note = db.session.scalar(select(Notification).where(Notification.user_id == other_counsellor.id,
                                                        Notification.kind == "link_code_refused"))
    assert note is not None and note.link == f"/cases/{second.id}"
    worker = signed_in(app, other_counsellor)
    assert "Link code refused" in worker.get(f"/cases/{second.id}").get_data(as_text=True)
    assert "A link code you gave was refused" in worker.get(NOTIFICATIONS).get_data(as_text=True)
    events = {(e.action, e.outcome, e.reason) for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.object_id == str(other_row.id)))}
    assert ("link_resident", "denied", "account already linked to another client") in events
    assert any(action == "refuse" for action, _outcome, _reason in events)


def test_a_new_code_for_the_same_client_is_accepted(app, db, make_user, make_case):
    first, social, resident, own = linked_resident_with_shared_plans(app, db, make_user, make_case)
    _row, again = safety.issue_link_code(social, first)
    db.session.commit()
    assert submit(own, "/my/link", "Link my account", {"code": again}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Client, first.client_id).resident_user_id == resident.id
    assert GOAL["title"] in own.get("/my/plan").get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Notification)
                             .where(Notification.kind == "link_code_refused")) == 0


def test_a_break_glass_counsellor_gets_no_link_code_from_the_safety_plan_page(app, db, make_user, make_case):
    case, _social = social_worker_led_case(make_user, make_case, db)
    reader = make_user("counsellor")
    breakglass.grant(reader, "case", case.id, case.team_id, "Client called the duty line, worker away")
    db.session.commit()
    glass = signed_in(app, reader)
    page = glass.get(f"/cases/{case.id}/safety-plan")
    assert page.status_code == 200
    assert all(MAKE_CODE not in form.button_texts() for form in forms_of(page.get_data(as_text=True)))
    refused = glass.post(f"/cases/{case.id}/resident-link", data={"csrf_token": csrf_from(page)})
    assert refused.status_code == 403 and codes(db) == 0
