"""Operating procedures in Chromium, through their own pages: a supervisor opens Procedures from the
header menu, writes one through its form (refused without a title, what was typed kept) for red-tier
register entries; a social worker opens a red-tier person's register entry and ticks its first step,
then takes it back. Each page passes axe-core and fits 390 px (tests.browser.conftest.Walk); the
checklist is then used in Chinese on a phone."""
from __future__ import annotations

from sqlalchemy import select

from casework.models import ChecklistMark, Procedure
from tests.browser.conftest import PHONE, Walk, screenshot, sign_in_page
from tests.browser.test_phone_widths import _sign_in_in_chinese, page_width


def test_a_supervisor_writes_a_procedure_and_a_social_worker_ticks_it_off(live_server, open_page, db, make_user,
                                                                         make_client, put_on):
    supervisor = make_user("supervisor")
    worker = make_user("social_worker", team=supervisor.team)
    entry = put_on(worker, make_client(worker.team, worker, full_name="Lau Mei Ling"), tier="red")
    boss, username, entry_id = supervisor.username, worker.username, entry.id
    db.session.remove()

    page, problems = open_page()
    walk = Walk(page, problems, "procedures")
    sign_in_page(page, live_server, boss)
    walk.menu("Community", "Procedures")
    assert page.get_by_text("No procedure yet.").is_visible()
    walk.check("empty-list")
    page.get_by_role("link", name="Write a procedure").click()
    page.get_by_label("Where it applies").select_option("register_tier:red")
    page.get_by_label("The checklist").fill("Read the register entry\nCall first, then visit\nRecord the outreach")
    page.get_by_role("button", name="Save the procedure").click()
    assert page.locator("#title-error").is_visible()
    assert page.get_by_label("The checklist").input_value().startswith("Read the register entry")
    walk.check("refused")
    page.get_by_label("Title").fill("First contact with a red-tier person")
    page.get_by_role("button", name="Save the procedure").click()
    assert page.locator("main h1").inner_text() == "First contact with a red-tier person"
    assert page.locator("main ol.checklist-items li").count() == 3
    walk.check("procedure")
    assert all("status of 400" in e for e in problems.console_errors), problems.console_errors  # the refused form
    assert problems.csp_violations == []
    db.session.remove()
    assert db.session.scalar(select(Procedure)).applies_value == "red"
    db.session.remove()

    phone, seen = open_page(locale="zh-TW", viewport=PHONE)
    _sign_in_in_chinese(phone, live_server, username)
    phone.goto(f"{live_server}/vulnerable-register/{entry_id}")
    checklist = phone.locator("main section.checklists")
    assert "已完成 0 / 3 項" in checklist.inner_text()
    checklist.get_by_role("button", name="標示完成：Call first, then visit").click()
    phone.wait_for_load_state()
    assert "已完成 1 / 3 項" in phone.locator("main section.checklists").inner_text()
    assert page_width(phone) <= PHONE["width"]
    screenshot(phone, "checklist-register-entry-zh-TW-phone")
    db.session.remove()
    [mark] = db.session.scalars(select(ChecklistMark)).all()
    assert mark.item == 1 and mark.undone_at is None
    db.session.remove()
    phone.locator("main section.checklists").get_by_role("button", name="撤回：Call first, then visit").click()
    phone.wait_for_load_state()
    assert "已完成 0 / 3 項" in phone.locator("main section.checklists").inner_text()
    assert seen.console_errors == [] and seen.csp_violations == []
