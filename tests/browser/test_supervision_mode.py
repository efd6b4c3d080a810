"""In Chromium: a supervisor switches the service to emergency operation and back with the mode
page's own buttons (the page once sent two `mode` inputs, the empty one first, and answered 400)."""
from __future__ import annotations

from carecycle.mode import current_mode
from tests.browser.conftest import PHONE, horizontal_overflow, screenshot, sign_in_page


def test_a_supervisor_switches_to_emergency_and_back_through_the_page(live_server, open_page, db, make_user):
    supervisor = make_user("supervisor").username
    db.session.remove()  # the server thread writes; hold no transaction here

    page, problems = open_page()
    sign_in_page(page, live_server, supervisor)
    page.goto(live_server + "/supervision/mode")
    page.get_by_label("Reason").fill("Typhoon signal 8 raised")
    page.get_by_role("button", name="Switch to emergency operation").click()
    page.wait_for_load_state()
    assert page.url.endswith("/supervision/mode")
    assert page.locator(".mode-now strong").inner_text() == "Emergency operation"
    assert page.locator(".banner.emergency").is_visible()
    screenshot(page, "supervision-mode-emergency")
    db.session.remove()
    state = current_mode()
    assert state.emergency and state.reason == "Typhoon signal 8 raised"
    db.session.remove()

    page.get_by_label("Reason").fill("Signal lowered")
    page.get_by_label("What happened").fill("Typhoon night: flooding in the low estates.")
    page.get_by_label("What worked").fill("The volunteer call tree reached everyone in an hour.")
    page.get_by_label("What to change").fill("Keep a printed red-tier list at the shelter.")
    page.get_by_role("button", name="Switch back to normal operation").click()
    page.wait_for_load_state()
    assert "/supervision/reviews/" in page.url
    page.goto(live_server + "/supervision/mode")
    assert page.locator(".mode-now strong").inner_text() == "Normal operation"
    db.session.remove()
    assert not current_mode().emergency
    db.session.remove()

    page.set_viewport_size(PHONE)
    page.reload()
    assert horizontal_overflow(page) == 0  # the list of switches scrolls inside its box
    screenshot(page, "supervision-mode-normal-390")
    problems.assert_none()
