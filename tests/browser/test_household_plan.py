"""A household emergency plan in Chromium, in Chinese on a 390 px phone: from the client's record a
social worker writes the plan through its own form (refused without who checks on them, what was
typed kept), saves and signs it, and finds the person on the household plans list."""
from __future__ import annotations

from sqlalchemy import select

from casework.models import HouseholdPlanVersion
from tests.browser.conftest import PHONE, screenshot
from tests.browser.test_phone_widths import _sign_in_in_chinese, page_width


def test_a_social_worker_writes_and_signs_a_household_plan_in_chinese_on_a_phone(live_server, open_page, db,
                                                                                make_user, make_client):
    worker = make_user("social_worker")
    person = make_client(worker.team, worker, full_name="Lau Mei Ling")
    resident = make_user("resident")
    person.resident_user_id = resident.id  # linked with a code earlier (tested in the safety-plan journeys)
    db.session.commit()
    username, client_id, resident_name = worker.username, person.id, resident.username
    db.session.remove()
    page, problems = open_page(locale="zh-TW", viewport=PHONE)
    _sign_in_in_chinese(page, live_server, username)
    page.goto(f"{live_server}/clients/{client_id}")
    page.locator(f"main a[href='/clients/{client_id}/household-plan']").click()
    page.wait_for_load_state()
    page.locator("#medicines-0-name").fill("Insulin pens")
    page.locator("#medicines-0-days").fill("5")
    page.locator("main form.service-form button[type=submit]").first.click()
    page.wait_for_load_state()
    assert page.locator("#checker-error").is_visible()
    assert page.locator("#medicines-0-name").input_value() == "Insulin pens"
    assert page_width(page) <= PHONE["width"]
    fieldset = page.locator("main fieldset:has(#medicines-0-days)").bounding_box()
    days = page.locator("#medicines-0-days").bounding_box()
    assert fieldset and days and days["x"] + days["width"] <= fieldset["x"] + fieldset["width"]  # not clipped
    screenshot(page, "household-plan-form-zh-TW-phone")
    page.locator("#checker").fill("Mrs Lee next door")
    page.locator("#key_holder").fill("The caretaker")
    page.locator("main form.service-form button[type=submit]").first.click()
    page.wait_for_load_state()
    page.locator(f"main form[action='/clients/{client_id}/household-plan/sign'] button").click()
    page.wait_for_load_state()
    assert "Mrs Lee next door" in page.locator("main dl.facts").inner_text()
    assert page_width(page) <= PHONE["width"]
    screenshot(page, "household-plan-signed-zh-TW-phone")
    db.session.remove()
    plan = db.session.scalar(select(HouseholdPlanVersion))
    assert plan.signed_at is not None and plan.medicine_days == 5
    db.session.remove()
    page.goto(f"{live_server}/household-plans")
    assert "Lau" in page.locator("main table").inner_text()
    assert page_width(page) <= PHONE["width"]
    screenshot(page, "household-plans-zh-TW-phone")

    # the person asked for their plan: share it, then they read it on their own phone
    page.goto(f"{live_server}/clients/{client_id}/household-plan")
    page.locator(f"main form[action='/clients/{client_id}/household-plan/share'] button").click()
    page.wait_for_load_state()
    assert page.locator("main form[action$='/household-plan/unshare'] button").is_visible()
    page.goto(f"{live_server}/supervision/surge")
    households = page.locator("main section[aria-labelledby=surge-households]")
    assert "Lau" in households.inner_text()
    assert page_width(page) <= PHONE["width"]
    screenshot(page, "surge-households-zh-TW-phone")
    assert all("status of 400" in e for e in problems.console_errors), problems.console_errors
    assert problems.csp_violations == []

    mine, seen = open_page(locale="zh-TW", viewport=PHONE)
    _sign_in_in_chinese(mine, live_server, resident_name)
    mine.goto(f"{live_server}/")
    mine.locator("main a[href='/my/household-plan']").first.click()
    mine.wait_for_load_state()
    assert mine.locator("main h1").inner_text() == "我的家庭計劃"
    facts = mine.locator("main dl.facts").inner_text()
    assert "Mrs Lee next door" in facts and "緊急時由誰探望你" in facts
    assert page_width(mine) <= PHONE["width"]
    screenshot(mine, "my-household-plan-zh-TW-phone")
    assert seen.console_errors == [] and seen.csp_violations == []
