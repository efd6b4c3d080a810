"""In Chromium: the header of every role has at most seven top-level entries, stays under 90 px
high at 1280 px and under 120 px at 390 px, opens its groups by a click (no script needed), and no
page of the header scrolls sideways on a phone. The heights measured are printed for the notes."""
from __future__ import annotations

import pytest

from tests.browser.conftest import DESKTOP, PHONE, horizontal_overflow, screenshot, sign_in_page

ROLES = ["resident", "counsellor", "social_worker", "supervisor", "admin"]


def header_height(page) -> float:
    return page.evaluate("document.querySelector('header.site').getBoundingClientRect().height")


def top_level(page) -> list[str]:
    """The visible top-level entries of the wide header, as a person reads them."""
    return page.locator("header.site nav.wide > ul.nav > li").evaluate_all(
        "items => items.map(li => (li.querySelector(':scope > details > summary') || li.querySelector('a')).innerText"
        ".replace('\u25be', '').trim())")


@pytest.mark.parametrize("role", [None, *ROLES])
def test_the_header_fits_and_its_groups_open_by_a_click(live_server, open_page, db, make_user, role):
    username = make_user(role).username if role else None
    db.session.remove()
    page, problems = open_page()
    if username:
        sign_in_page(page, live_server, username)
    page.goto(live_server + "/")

    entries = top_level(page)
    assert 2 <= len(entries) <= 7, entries
    height = header_height(page)
    print(f"\nheader {role or 'anonymous'} at 1280 px: {height:.0f} px; entries: {' · '.join(entries)}")
    assert height < 90, height

    groups = page.locator("header.site nav.wide details.menu")
    if groups.count():
        first = groups.first
        first.locator("summary").click()
        link = first.locator(".panel a").first
        assert link.is_visible()
        target = link.get_attribute("href")
        link.click()
        page.wait_for_load_state()
        assert page.url.endswith(target), (page.url, target)
        assert page.locator("h1").count() == 1  # a page a person can use, not an error
    screenshot(page, f"header-{role or 'anonymous'}-1280")

    page.set_viewport_size(PHONE)
    page.goto(live_server + "/")
    height = header_height(page)
    print(f"header {role or 'anonymous'} at 390 px: {height:.0f} px")
    assert height < 120, height
    assert horizontal_overflow(page) == 0
    assert not page.locator("header.site nav.wide").is_visible()
    page.locator("header.site details.site-menu > summary").click()
    menu_links = page.locator("header.site details.site-menu nav a")
    assert menu_links.count() >= len(entries)
    assert menu_links.first.is_visible()
    box = menu_links.first.bounding_box()
    assert box and box["height"] >= 24  # a finger can hit it
    assert horizontal_overflow(page) == 0
    screenshot(page, f"header-{role or 'anonymous'}-390-menu")
    page.set_viewport_size(DESKTOP)
    problems.assert_none()


def test_the_account_menu_signs_out(live_server, open_page, db, make_user):
    username = make_user("counsellor").username
    db.session.remove()
    page, problems = open_page()
    sign_in_page(page, live_server, username)
    page.locator("header.site details.account-menu > summary").click()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state()
    assert page.get_by_role("link", name="Sign in").is_visible()
    problems.assert_none()
