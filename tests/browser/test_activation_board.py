"""The activation board's journey in Chromium, through its own pages: with emergency operation on,
a social worker opens the board from the header menu, records a call to a partner through its form
(refused without whom they called, what was typed kept), then what arrived (part of it), and after
the emergency finds it under what failed to arrive in the after-action review. Each page passes
axe-core and fits 390 px (tests.browser.conftest.Walk); the board is then read in Chinese on a phone."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from carecycle.localtime import today as local_today
from carecycle.mode import switch_mode
from referrals.models import Activation
from referrals.service import agreements
from tests.browser.conftest import PHONE, Walk, screenshot, sign_in_page
from tests.browser.test_phone_widths import page_width


def test_a_social_worker_activates_an_agreement_and_reviews_it_afterwards(live_server, open_page, db, make_user,
                                                                          make_org):
    org = make_org(name="Harbour Hostel")
    today = local_today()
    agreements.create_agreement(None, org, {
        "title": "Shelter memorandum", "valid_from": (today - timedelta(days=30)).isoformat(),
        "valid_to": (today + timedelta(days=300)).isoformat(),
        "commitments": [{"side": "partner", "quantity": 10, "unit": "beds", "what": "shelter"}],
        "contacts": [{"name": "Mr Chan", "phone": "5550 2001", "role": "duty manager"}]})
    worker = make_user("social_worker", display_name="Wing Worker")
    supervisor = make_user("supervisor", team=worker.team)
    switch_mode("emergency", supervisor, "Typhoon signal 8")
    db.session.commit()
    username, supervisor_id = worker.username, supervisor.id
    db.session.remove()

    page, problems = open_page()
    walk = Walk(page, problems, "activation")
    sign_in_page(page, live_server, username)
    walk.menu("Community", "Activation board")
    assert "Typhoon signal 8" in page.locator(".banner.emergency").inner_text()
    walk.check("board")
    page.get_by_role("link", name="Record a call").click()
    assert page.get_by_label("How many they promised").input_value() == "10"
    page.get_by_label("How many they promised").fill("8")
    page.get_by_role("button", name="Record the call").click()
    assert page.locator("#contact-error").is_visible()
    assert page.get_by_label("How many they promised").input_value() == "8"
    walk.check("call-refused")
    page.get_by_label("Whom you called").fill("Mr Chan, duty manager")
    page.get_by_role("button", name="Record the call").click()
    assert "Promised, not arrived yet" in page.locator("main table").inner_text()
    walk.check("board-called")

    page.locator("main table").get_by_role("link").first.click()
    page.get_by_label("What happened").select_option("partly")
    page.get_by_label("How many arrived").fill("5")
    page.get_by_label("Note (optional)").fill("Three beds short")
    walk.check("outcome")
    page.get_by_role("button", name="Record").click()
    assert "Partly arrived" in page.locator("main table").inner_text()
    db.session.remove()
    row = db.session.scalar(select(Activation))
    assert (row.promised, row.arrived, row.status, row.note) == (8, 5, "partly", "Three beds short")
    from carecycle.accounts.models import User
    switch_mode("normal", db.session.get(User, supervisor_id), "Signal lowered")
    db.session.commit()
    db.session.remove()

    page.reload()
    assert page.locator("main p.empty").is_visible()  # normal operation: the board says so
    page.get_by_role("link", name="After-action reviews of past emergencies").click()
    walk.check("reviews")
    page.locator("main table").get_by_role("link").first.click()
    failed = page.locator("main h2#review-failed + table")
    assert "8 · 10 beds shelter" in failed.inner_text() and "Partly arrived" in failed.inner_text()
    walk.check("review")
    # the refused call form was answered 400 (Chromium logs that); nothing else went wrong
    assert all("status of 400" in e for e in problems.console_errors), problems.console_errors
    assert len(problems.console_errors) == 1 and problems.csp_violations == []

    # the review in Chinese on a phone
    page.set_viewport_size(PHONE)
    page.locator("header.site details.account-menu > summary").click()
    page.locator("#language").select_option("zh_Hant")
    page.get_by_role("button", name="Change language").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "事後檢討"
    assert "部分到達" in page.locator("main h2#review-failed + table").inner_text()
    assert page_width(page) <= PHONE["width"]
    screenshot(page, "activation-review-zh-Hant-phone")
