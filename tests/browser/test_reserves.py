"""In Chromium, in Chinese on a 390 px phone: a social worker reaches the reserves from the phone's menu,
records the team's first reserve through its own form (food without an expiry date is refused with
what was typed kept), draws most of it through the stock form on its page, and finds it marked low
on the list filtered to what needs attention. Nothing on the way is wider than the phone."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from carecycle.localtime import today as local_today
from referrals.models import ReserveItem, ReserveMovement
from tests.browser.conftest import PHONE, screenshot
from tests.browser.test_phone_widths import _sign_in_in_chinese, page_width


def _submit(page, form="main form.service-form"):
    page.locator(f"{form} button[type=submit]").click()
    page.wait_for_load_state()


def test_a_social_worker_records_and_draws_a_reserve_in_chinese_on_a_phone(live_server, open_page, db, make_user):
    worker = make_user("social_worker")
    username = worker.username
    db.session.remove()
    page, problems = open_page(locale="zh-TW", viewport=PHONE)
    _sign_in_in_chinese(page, live_server, username)

    # the phone's site menu leads to the list, which says it is empty and offers the form
    page.goto(f"{live_server}/")
    page.locator("header.site details.site-menu > summary").click()
    page.locator("header.site details.site-menu nav a[href='/reserves']").click()
    page.wait_for_load_state()
    assert page.url.endswith("/reserves")
    assert page.locator("main p.empty").is_visible()
    assert page_width(page) <= PHONE["width"]
    page.locator("main p.empty a").click()
    page.wait_for_load_state()
    assert page.url.endswith("/reserves/new")
    assert page.locator("label[for=name]").inner_text() not in ("", "What it is")  # translated

    # food needs an expiry date: refused naming it, the typed fields stay
    page.locator("#level").select_option("service")
    page.locator("#kind").select_option("food")
    page.locator("#name").fill("Rice 5 kg bags")
    page.locator("#unit").fill("bags")
    page.locator("#quantity").fill("40")
    page.locator("#low_at").fill("10")
    page.locator("#location").fill("Store room B")
    _submit(page)
    assert page.locator("#expires_on-error").is_visible()
    assert page.locator("#name").input_value() == "Rice 5 kg bags"
    assert page.locator("#location").input_value() == "Store room B"
    assert page_width(page) <= PHONE["width"]
    screenshot(page, "reserve-form-refused-zh-TW-phone")
    assert db.session.scalar(select(ReserveItem)) is None
    db.session.remove()

    # with the date it saves, and the page shows the stock and where it is kept
    page.locator("#expires_on").fill((local_today() + timedelta(days=200)).isoformat())
    _submit(page)
    assert "/reserves/" in page.url and not page.url.endswith("/new")
    facts = page.locator("main dl.facts").inner_text()
    assert "40 bags" in facts and "Store room B" in facts

    # drawing more than is on hand is refused; drawing 32 leaves 8, marked low
    page.locator("#kind").select_option("drawn")
    page.locator("#quantity").fill("41")
    _submit(page)
    assert page.locator("#quantity-error").is_visible()
    page.locator("#quantity").fill("32")
    page.locator("#note").fill("For the shelter at the sports centre")
    _submit(page)
    assert "8 bags" in page.locator("main dl.facts").inner_text()
    assert "For the shelter at the sports centre" in page.locator("main table").inner_text()
    assert page_width(page) <= PHONE["width"]
    screenshot(page, "reserve-drawn-zh-TW-phone")
    item = db.session.scalar(select(ReserveItem))
    assert item is not None and item.quantity == 8
    assert [m.change for m in db.session.scalars(select(ReserveMovement).order_by(ReserveMovement.at))] == [40, -32]
    db.session.remove()

    # the list filtered to what needs attention shows it
    page.locator("main a[href='/reserves']").click()
    page.wait_for_load_state()
    page.locator("#attention").check()
    page.locator("main form.filters button[type=submit]").click()
    page.wait_for_load_state()
    assert "attention=1" in page.url
    assert "Rice 5 kg bags" in page.locator("main table").inner_text()
    assert page_width(page) <= PHONE["width"]
    screenshot(page, "reserves-attention-zh-TW-phone")
    # the refused forms were answered 400 (Chromium logs that); nothing else went wrong
    assert all("status of 400" in e for e in problems.console_errors), problems.console_errors
    assert problems.csp_violations == []


def test_a_social_worker_records_and_counts_a_household_reserve_at_outreach(live_server, open_page, db, make_user,
                                                                            make_client, put_on):
    """From a register entry, in Chinese on a phone: the section's own link opens the form with the
    person chosen, saving comes back to the entry, and the count box records what was found."""
    worker = make_user("social_worker")
    entry = put_on(worker, make_client(worker.team, worker, full_name="Lau Mei Ling"), tier="red",
                   flags=("lives_alone_elderly",))
    username, entry_url = worker.username, f"/vulnerable-register/{entry.id}"
    db.session.remove()
    page, problems = open_page(locale="zh-TW", viewport=PHONE)
    _sign_in_in_chinese(page, live_server, username)
    page.goto(f"{live_server}{entry_url}")
    section = page.locator("#household-reserves-heading")
    assert section.is_visible() and section.inner_text() not in ("", "Household reserves")  # translated
    page.locator("main a[href^='/reserves/new?level=household']").click()
    page.wait_for_load_state()
    assert page.locator("#level").input_value() == "household"
    assert page.locator("#register_entry_id").input_value() == str(entry.id)
    page.locator("#kind").select_option("medicine")
    page.locator("#name").fill("Insulin pens")
    page.locator("#unit").fill("pens")
    page.locator("#quantity").fill("6")
    page.locator("#low_at").fill("2")
    page.locator("#expires_on").fill((local_today() + timedelta(days=90)).isoformat())
    page.locator("#location").fill("Fridge door")
    assert page_width(page) <= PHONE["width"]
    _submit(page)
    assert page.url.split("#")[0].endswith(entry_url)
    rows = page.locator("main table[aria-labelledby=household-reserves-heading] tbody tr")
    assert rows.count() == 1 and "6 pens" in rows.first.inner_text()

    # counted at the visit: only 2 left, so it is marked low
    count = rows.first.locator("input[name=quantity]")
    assert count.input_value() == "6"
    count.fill("2")
    rows.first.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert page.url.split("#")[0].endswith(entry_url)
    row = page.locator("main table[aria-labelledby=household-reserves-heading] tbody tr").first
    assert "2 pens" in row.inner_text() and row.locator(".tag.warn").count() == 1
    assert page_width(page) <= PHONE["width"]
    row.scroll_into_view_if_needed()
    screenshot(page, "household-reserve-counted-zh-TW-phone")
    item = db.session.scalar(select(ReserveItem))
    assert (item.level, item.register_entry_id, item.quantity) == ("household", entry.id, 2)
    assert sorted(m.change for m in db.session.scalars(select(ReserveMovement))) == [-4, 6]
    db.session.remove()
    assert problems.console_errors == [] and problems.csp_violations == []
