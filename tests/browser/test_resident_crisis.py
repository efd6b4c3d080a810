"""End to end in a real browser (Debian's Chromium through Playwright): a resident takes the PHQ-9
from the home page with item 9 positive and a low total, sees the crisis resources before the
score, a score card that does not reassure and the suicide-prevention article first, asks to be
contacted; a counsellor then signs in and sees the alert."""
from __future__ import annotations

from sqlalchemy import select

from carecycle.alerts import Alert
from tests.browser.conftest import answer_phq9_with_item9_positive, ask_to_be_called, screenshot, sign_in_page
from tests.test_library import published_article


def test_resident_in_crisis_is_shown_help_first_and_a_counsellor_sees_the_alert(live_server, open_page, db,
                                                                                 make_user, make_crisis_resource):
    make_crisis_resource(name="Night Line", phone="555-0199", hours="24 hours, every day")
    published_article(db, title="Everyday habits that help", topics=["self_care"], tags=[("phq9", "minimal")])
    published_article(db, title="If you are thinking about suicide", topics=["crisis"], tags=[("cssrs", "low")])
    counsellor_name = make_user("counsellor").username
    db.session.remove()  # the server thread writes; hold no transaction here

    page, problems = open_page()
    page.goto(live_server + "/")
    page.get_by_role("link", name="Check how you are doing").first.click()
    page.get_by_role("link", name="Depression check (PHQ-9)").click()
    assert page.url.endswith("/screening/phq9")
    answer_phq9_with_item9_positive(page)
    page.get_by_role("button", name="See my result").click()

    crisis = page.locator("section.crisis")
    score = page.get_by_text("Score: 1 out of 27")
    assert crisis.is_visible() and score.is_visible()
    assert crisis.get_by_text("Night Line").is_visible()
    assert crisis.bounding_box()["y"] + crisis.bounding_box()["height"] <= score.bounding_box()["y"]
    card = page.locator(".score-box")
    assert card.get_by_text("Those answers matter more than the total score").is_visible()
    assert "Keep doing what helps you feel well" not in card.inner_text()
    reading = page.locator("section.related li a")
    assert reading.all_inner_texts()[:2] == ["If you are thinking about suicide", "Everyday habits that help"]
    screenshot(page, "phq9-crisis-result")

    ask_to_be_called(crisis, page)

    staff, staff_problems = open_page()
    sign_in_page(staff, live_server, counsellor_name)
    staff.goto(live_server + "/alerts")
    row = staff.locator("table tbody tr").first
    assert row.get_by_text("Crisis").is_visible() and row.get_by_text("screening").is_visible()
    screenshot(staff, "counsellor-alerts")

    problems.assert_none()
    staff_problems.assert_none()
    alert = db.session.scalar(select(Alert))
    assert (alert.kind, alert.urgency, alert.subject_type) == ("screening", "crisis", "contact_request")
