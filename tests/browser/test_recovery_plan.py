"""A community recovery plan in Chromium, through its own pages: a supervisor opens Community
recovery from the header menu, starts a plan for an emergency that has ended (refused without the
community it is for, what was typed kept), adds an action, writes the 1-month review and opens the
printable summary. Each page passes axe-core and fits 390 px (tests.browser.conftest.Walk); the plan
is then read in Chinese on a phone."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from carecycle.database import utcnow
from carecycle.mode import switch_mode
from supervision.models import RecoveryPlan
from tests.browser.conftest import PHONE, Walk, screenshot, sign_in_page
from tests.browser.test_phone_widths import _sign_in_in_chinese, page_width


def test_a_supervisor_plans_the_recovery_of_a_community(live_server, open_page, db, make_user):
    supervisor = make_user("supervisor", display_name="Sam Supervisor")
    make_user("social_worker", team=supervisor.team, display_name="Wing Worker")
    on = switch_mode("emergency", supervisor, "Black rainstorm warning", retime=False)
    on.switched_at = utcnow() - timedelta(days=45)
    off = switch_mode("normal", supervisor, "Warning cancelled", retime=False)
    off.switched_at = utcnow() - timedelta(days=42)
    db.session.commit()
    username = supervisor.username
    db.session.remove()

    page, problems = open_page()
    walk = Walk(page, problems, "recovery")
    sign_in_page(page, live_server, username)
    walk.menu("Supervision", "Community recovery")
    walk.check("list")
    page.get_by_role("link", name="Start a recovery plan").click()
    page.get_by_label("Title").fill("Recovery after the rainstorm")
    page.get_by_label("The emergency").select_option(label=page.locator("#period_id option").nth(1).inner_text())
    page.get_by_role("button", name="Start the plan").click()
    assert page.locator("#area-error").is_visible()
    assert page.get_by_label("Title").input_value() == "Recovery after the rainstorm"
    walk.check("refused")
    page.get_by_label("The community it is for").fill("Riverside, Blocks 1 to 6")
    page.get_by_role("button", name="Start the plan").click()
    assert page.locator("main h1").inner_text() == "Recovery after the rainstorm"
    page.get_by_label("What will be done").fill("Outreach to every red- and orange-tier person")
    page.get_by_label("Owner").select_option(label="Wing Worker")
    page.get_by_label("Due on").fill((utcnow() + timedelta(days=7)).date().isoformat())
    page.get_by_role("button", name="Add the action").click()
    assert "Wing Worker" in page.locator("main #recovery-actions + table").inner_text()
    page.get_by_label("How the community is doing").fill("Most older people are back to their routines.")
    walk.check("plan")
    page.get_by_role("button", name="Save the review").click()
    assert "Most older people" in page.locator("main section.service-card").inner_text()
    page.get_by_role("link", name="Printable summary for the residents' committee (counts only)").click()
    assert "0 of 1 actions done." in page.locator("main").inner_text()
    assert "Wing Worker" not in page.locator("main").inner_text()
    walk.check("summary")
    assert all("status of 400" in e for e in problems.console_errors), problems.console_errors
    assert problems.csp_violations == []
    db.session.remove()
    plan = db.session.scalar(select(RecoveryPlan))
    assert plan.area == "Riverside, Blocks 1 to 6" and [r.months for r in plan.reviews] == [1]
    plan_id = plan.id
    db.session.remove()

    phone, seen = open_page(locale="zh-TW", viewport=PHONE)
    _sign_in_in_chinese(phone, live_server, username)
    phone.goto(f"{live_server}/supervision/recovery/{plan_id}")
    assert "需要評估" in phone.locator("main").inner_text()
    assert page_width(phone) <= PHONE["width"]
    screenshot(phone, "recovery-plan-zh-TW-phone")
    assert seen.console_errors == [] and seen.csp_violations == []
