"""In Chromium: a supervisor acknowledges a colleague's high-risk assessment with the list's own
button; their own assessment on the same list offers no button, only the note that another
supervisor must acknowledge it. At 390 px in Chinese nothing scrolls sideways."""
from casework.models import RiskAssessment
from casework.service import assessments
from tests.browser.conftest import PHONE, horizontal_overflow, screenshot, sign_in_page

Y, N = True, False
HIGH = [Y, Y, N, Y, N, N, None]


def test_a_colleagues_assessment_is_acknowledged_and_ones_own_is_not_offered(make_user, make_case, live_server,
                                                                             open_page, db):
    supervisor = make_user("supervisor", display_name="Sam Supervisor")
    worker = make_user("counsellor", team=supervisor.team, display_name="Wen Worker")
    theirs = assessments.record_assessment(worker, make_case(worker), cssrs=HIGH, risk_level="high",
                                           rationale="Plan with a date.")
    own = assessments.record_assessment(supervisor, make_case(worker), cssrs=HIGH, risk_level="high",
                                        rationale="Seen at the door.")
    theirs_id, own_id, username = theirs.id, own.id, supervisor.username
    db.session.commit()
    db.session.remove()

    page, problems = open_page(viewport=PHONE)
    sign_in_page(page, live_server, username)
    page.goto(live_server + "/cases/risk-acknowledgements")
    page.locator("header.site details.account-menu > summary").click()
    page.locator("#language").select_option("zh_Hant")
    page.get_by_role("button", name="Change language").click()
    page.wait_for_load_state()
    rows = page.locator("main table tbody tr")
    assert rows.count() == 2
    mine = rows.filter(has_text="Sam Supervisor")
    assert mine.get_by_role("button").count() == 0
    assert "須由另一位督導確認" in mine.inner_text()
    assert horizontal_overflow(page) == 0
    screenshot(page, "risk-acknowledgements-own-390-zh")
    rows.filter(has_text="Wen Worker").get_by_role("button").click()
    page.wait_for_load_state()
    assert page.locator("main table tbody tr").count() == 1
    db.session.remove()
    assert db.session.get(RiskAssessment, theirs_id).acknowledged_by_id is not None
    assert db.session.get(RiskAssessment, own_id).acknowledged_at is None
    db.session.remove()
    problems.assert_none()
