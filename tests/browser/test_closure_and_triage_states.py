"""In Chromium, through the pages' own buttons: deciding a closure is one rule on the closure page
(one's own request is refused with a page that says why, another supervisor's approval closes the
case and the case page then offers reopening instead of new work), and the triage page shows the
controls of each alert state (claim, then convert/close/release). On a phone in Chinese and on a
desktop in English; nothing scrolls sideways, no console error or CSP violation on the pages that
answer 200."""
from sqlalchemy import select

from carecycle.alerts import raise_alert
from carecycle.extensions import db
from casework.models import Case, ClosureRequest
from casework.service import phases
from casework.service.cases import update_case
from tests.browser.conftest import PHONE, horizontal_overflow, screenshot, sign_in_page


def test_a_closure_is_refused_to_its_requester_and_approved_by_another_supervisor(
        make_user, make_case, live_server, open_page):
    asker = make_user("supervisor", locale="zh_Hant")
    other = make_user("supervisor", team=asker.team, locale="zh_Hant")
    worker = make_user("counsellor", team=asker.team)
    case = make_case(worker, risk_level="high")
    update_case(worker, case, case.version, {"risk_level": "low"})
    request = phases.request_closure(asker, case, case.version, "Stable for a month, back at work.",
                                     "goals_achieved")
    assert request is not None  # high risk within 30 days: it waits for a supervisor
    case_id, request_id, asker_name, other_name = case.id, request.id, asker.username, other.username
    db.session.commit()
    db.session.remove()

    page, _problems = open_page(viewport=PHONE)
    sign_in_page(page, live_server, asker_name)
    page.goto(f"{live_server}/cases/closure-approvals")
    assert "Stable for a month" in page.inner_text("main")
    screenshot(page, "closure-approvals-own-zh-390")
    assert horizontal_overflow(page) == 0
    page.get_by_role("button", name="批准並結案").click()
    page.wait_for_load_state()
    assert "另一位督導" in page.inner_text("main")  # "another supervisor must decide it", in Chinese
    screenshot(page, "closure-own-refused-zh-390")
    assert horizontal_overflow(page) == 0
    assert db.session.get(ClosureRequest, request_id).decision is None
    db.session.remove()

    page, problems = open_page(viewport=PHONE)
    sign_in_page(page, live_server, other_name)
    page.goto(f"{live_server}/cases/closure-approvals")
    page.get_by_role("button", name="批准並結案").click()
    page.wait_for_load_state()
    assert page.url.endswith("/cases/closure-approvals")
    page.goto(f"{live_server}/cases/{case_id}")
    main = page.inner_text("main")
    assert page.get_by_role("button", name="新增風險評估").count() == 0  # closed: no new work offered
    assert page.get_by_role("link", name="新增風險評估").count() == 0
    screenshot(page, "case-closed-zh-390")
    assert horizontal_overflow(page) == 0
    assert main
    problems.assert_none()
    closed = db.session.scalar(select(Case).where(Case.id == case_id))
    assert closed.is_closed
    assert db.session.get(ClosureRequest, request_id).decision == "approved"


def test_the_triage_page_shows_each_states_controls(make_user, live_server, open_page):
    counsellor = make_user("counsellor")
    alert = raise_alert("screening", "crisis", team_id=counsellor.team_id, summary="Asks to be called today")
    alert_id, username = alert.id, counsellor.username
    db.session.commit()
    db.session.remove()

    page, problems = open_page()
    sign_in_page(page, live_server, username)
    page.goto(f"{live_server}/triage/{alert_id}")
    assert page.get_by_role("link", name="Turn into a crisis case").count() == 0
    page.get_by_role("button", name="Claim this alert").click()
    page.wait_for_load_state()
    assert page.get_by_role("button", name="Claim this alert").count() == 0
    assert page.get_by_role("link", name="Turn into a crisis case").count() == 1
    assert page.get_by_role("button", name="Release my claim").count() == 1
    screenshot(page, "triage-claimed-en")
    page.get_by_role("button", name="Release my claim").click()
    page.wait_for_load_state()
    assert page.url.endswith("/triage")  # back on the queue, where the alert is open again
    page.goto(f"{live_server}/triage/{alert_id}")
    assert page.get_by_role("button", name="Claim this alert").count() == 1
    problems.assert_none()
