"""A group emergency plan in Chromium, in Chinese on a 390 px phone: a social worker writes the plan
for a building through its own form (refused without where everyone meets, what was typed kept),
names the drill it was practised in, links a client from the client's record, and reads who it
covers: the client by name, the others counted."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from casework.models import GroupPlan
from supervision.service import drills
from tests.browser.conftest import PHONE, screenshot
from tests.browser.test_phone_widths import _sign_in_in_chinese, page_width


def test_a_social_worker_writes_a_group_plan_and_links_a_client_in_chinese_on_a_phone(live_server, open_page, db,
                                                                                      make_user, make_client):
    worker = make_user("social_worker")
    drill = drills.record_drill(make_user("supervisor", team=worker.team), {
        "scenario": "Typhoon evacuation of Block 4", "schools": ["Lok Wah Primary"],
        "held_on": (date.today() - timedelta(days=20)).isoformat()})
    person = make_client(worker.team, worker, full_name="Lau Mei Ling")
    db.session.commit()
    username, client_id, drill_id = worker.username, person.id, str(drill.id)
    db.session.remove()

    page, problems = open_page(locale="zh-TW", viewport=PHONE)
    _sign_in_in_chinese(page, live_server, username)
    page.goto(f"{live_server}/vulnerable-register")
    page.locator("main a[href='/group-plans']").click()
    page.wait_for_load_state()
    assert "尚未有團體計劃。" in page.locator("main").inner_text()
    page.locator("main a[href='/group-plans/new']").click()
    page.wait_for_load_state()
    page.locator("#name").fill("Block 4, Lok Wah Estate")
    page.locator("#kind").select_option("building")
    page.locator("#others").fill("12")
    page.locator("#last_drill_id").select_option(drill_id)
    page.locator("main form.service-form button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("#meeting_point-error").is_visible()
    assert page.locator("#name").input_value() == "Block 4, Lok Wah Estate"
    assert page_width(page) <= PHONE["width"]
    screenshot(page, "group-plan-form-zh-TW-phone")
    page.locator("#meeting_point").fill("The ground-floor lobby")
    page.locator("#checks").fill("Mrs Lee (12B) checks flat 12A")
    page.locator("main form.service-form button[type=submit]").click()
    page.wait_for_load_state()
    assert "Typhoon evacuation of Block 4" in page.locator("main dl.facts").inner_text()

    page.goto(f"{live_server}/clients/{client_id}")
    section = page.locator("main section[aria-labelledby=group-plans-heading]")
    section.locator("select").select_option(label="Block 4, Lok Wah Estate")
    section.locator("button[type=submit]").click()
    page.wait_for_load_state()
    page.locator("main section[aria-labelledby=group-plans-heading] a", has_text="Block 4").first.click()
    page.wait_for_load_state()
    covered = page.locator("main").inner_text()
    assert "Lau Mei Ling" in covered and "另有 12 人" in covered
    assert page_width(page) <= PHONE["width"]
    screenshot(page, "group-plan-zh-TW-phone")
    db.session.remove()
    plan = db.session.scalar(select(GroupPlan))
    assert plan.others == 12 and [m.client_id for m in plan.members] == [client_id]
    db.session.remove()
    assert all("status of 400" in e for e in problems.console_errors), problems.console_errors
    assert problems.csp_violations == []
