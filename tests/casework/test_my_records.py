"""/my/records: a linked resident's printable copy of what is shared with them (the shared safety
plan, the shared care-plan summary, their own screenings) and nothing else; staff are refused."""
from sqlalchemy import select

from carecycle.audit import AuditEvent
from casework.service import safety as service
from tests.casework.test_safety_plan import link_resident, signed_plan
from tests.conftest import sign_in


def test_a_linked_resident_sees_only_what_is_shared_with_them(app, make_user, make_case, make_client, db):
    counsellor = make_user("counsellor")
    case = make_case(counsellor)
    other = make_case(counsellor, make_client(counsellor.team, counsellor, full_name="Bea Other"))
    signed_plan(counsellor, case, db, reasons_for_living="Alpha reasons")
    signed_plan(counsellor, other, db, reasons_for_living="Beta reasons")
    resident, browser = link_resident(app, make_user, case, counsellor, db)

    html = browser.get("/my/records").get_data(as_text=True)
    assert "No safety plan has been shared with you." in html and "Alpha reasons" not in html
    assert "not linked" not in html

    link_resident(app, make_user, other, counsellor, db)  # someone else's plan, shared with them
    service.share_current(counsellor, case)
    service.share_current(counsellor, other)
    db.session.commit()
    page = browser.get("/my/records")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Alpha reasons" in html and "Beta reasons" not in html
    assert "Moderate risk" not in html  # nothing of the case beyond what was shared
    assert "You have no saved screenings." in html
    plan_id = str(service.shared_plan_for(resident).id)
    views = [(e.action, e.object_type, e.object_id) for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.actor_id == resident.id))]
    assert ("view", "safety_plan", plan_id) in views


def test_an_unlinked_resident_is_told_how_to_link(app, make_user, db):
    browser = app.test_client()
    sign_in(browser, make_user("resident").username)
    html = browser.get("/my/records").get_data(as_text=True)
    assert "not linked to your records yet" in html and 'href="/my/link"' in html


def test_staff_have_no_records_page(app, make_user, db):
    for role in ("counsellor", "social_worker", "supervisor", "admin"):
        browser = app.test_client()
        sign_in(browser, make_user(role).username)
        assert browser.get("/my/records").status_code == 403, role
