"""In Chromium: the case page opens on a summary that answers "what needs doing for this person
now" (phase, current risk and when it was assessed, safety plan, next due task, assigned workers,
open referrals, last contact) with the list of its sections beside it; at 1280 x 800 both are on
the first screen, and each section is one click away. At 390 px the page is one column."""
from __future__ import annotations

from datetime import timedelta

from carecycle.database import utcnow
from casework.service import assessments
from casework.service import tasks as task_service
from tests.browser.conftest import DESKTOP, PHONE, horizontal_overflow, screenshot, sign_in_page

Y, N = True, False


def test_the_case_page_opens_on_its_summary_and_section_list(live_server, open_page, db, make_user, make_case):
    counsellor = make_user("counsellor", display_name="Chan Counsellor")
    case = make_case(counsellor, risk_level="moderate")
    assessments.record_assessment(counsellor, case, cssrs=[Y, Y, N, N, N, N, None], risk_level="high",
                                  rationale="Passive wish to be dead; no plan.")
    task_service.set_next_contact(counsellor, case, utcnow() + timedelta(days=1), "Call after work")
    case_id, username = case.id, counsellor.username
    db.session.commit()
    db.session.remove()

    page, problems = open_page()
    sign_in_page(page, live_server, username)
    page.goto(f"{live_server}/cases/{case_id}")
    summary = page.locator("section.case-summary")
    sections = page.locator("nav.case-sections")
    for block in (summary, sections):
        box = block.bounding_box()
        assert box and box["y"] + box["height"] <= DESKTOP["height"], box  # on the first screen
    text = summary.inner_text()
    for label in ("Phase", "Current risk", "Safety plan", "Next due task", "Last contact", "Assigned",
                  "Open referrals"):
        assert label in text, label
    assert "High risk · assessed" in text and "Next contact ·" in text and "No signed plan yet" in text
    assert "Chan Counsellor" in text
    listed = sections.locator("a").all_inner_texts()
    print(f"\ncase page first screen at 1280 px: summary {summary.bounding_box()}, sections {listed}")
    assert listed[0] == "Tasks" and listed[-1] == "Timeline" and "Safety plan" in listed
    screenshot(page, "case-page-1280")

    sections.get_by_role("link", name="Safety plan").click()
    assert page.url.endswith("#case-safety-heading")
    heading = page.locator("#case-safety-heading").bounding_box()
    assert heading and 0 <= heading["y"] < DESKTOP["height"] / 2  # scrolled to it
    summary.get_by_role("link", name="Next contact", exact=False).click()
    assert page.url.endswith("#case-tasks-heading")

    page.set_viewport_size(PHONE)
    page.goto(f"{live_server}/cases/{case_id}")
    assert horizontal_overflow(page) == 0
    box = page.locator("section.case-summary").bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    screenshot(page, "case-page-390")
    problems.assert_none()
