"""In Chromium at 390 x 844: the staff pages used on visits and the resident pages fit the phone.
No page scrolls sideways (`document.documentElement.scrollWidth` at most the viewport), in English
and in Chinese, with real rows on them (alerts, tasks, cases); the widths are printed for the notes."""
from __future__ import annotations

import pytest

from carecycle.alerts import raise_alert
from carecycle.database import utcnow
from casework.service import register
from casework.service import tasks as task_service
from tests.browser.conftest import PHONE, screenshot, sign_in_page

STAFF_PAGES = ["/", "/triage", "/cases", "/clients", "/vulnerable-register", "/directory", "/referrals",
               "/library", "/help", "/screening", "/inbound-referrals", "/groups", "/volunteers"]
CASE_PAGES = ["/cases/{case}", "/cases/{case}/notes", "/cases/{case}/next-contact"]


def page_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


@pytest.mark.parametrize("locale", ["en-GB", "zh-TW"])
def test_the_visit_pages_fit_a_phone(live_server, open_page, db, make_user, make_client, make_case, locale):
    counsellor = make_user("counsellor", display_name="Chan Tai-man Counsellor")
    client = make_client(counsellor.team, counsellor, full_name="Wong Siu-ming Alexandra Example-Longname")
    case = make_case(counsellor, client, risk_level="high")
    # due later today in the service's zone (My day lists what is due by the end of today), at any hour
    now = utcnow()
    _start, end_of_today = task_service.today_bounds(now)
    task_service.set_next_contact(counsellor, case, now + (end_of_today - now) / 2, "Call after the school run")
    entry = register.add_to_register(counsellor, client, {"tier": "red", "flags": ["lives_alone_elderly"]})
    for urgency in ("crisis", "urgent", "routine"):
        raise_alert("screening", urgency, team_id=counsellor.team_id, summary="Asks to be called today")
    case_id, username, entry_id = case.id, counsellor.username, entry.id
    db.session.commit()
    db.session.remove()

    page, problems = open_page(locale=locale, viewport=PHONE)
    sign_in_page(page, live_server, username) if locale == "en-GB" else _sign_in_in_chinese(page, live_server,
                                                                                            username)
    widths = {}
    for path in STAFF_PAGES + [p.format(case=case_id) for p in CASE_PAGES] + [f"/vulnerable-register/{entry_id}"]:
        response = page.goto(live_server + path)
        assert response.status == 200, path
        widths[path] = page_width(page)
        if path in ("/", "/triage", f"/cases/{case_id}"):
            screenshot(page, f"phone-{locale}-{path.strip('/').replace('/', '-')[:20] or 'my-day'}")
    print(f"\n390 px widths ({locale}): " + ", ".join(f"{p} {w}" for p, w in widths.items()))
    assert {p: w for p, w in widths.items() if w > PHONE["width"]} == {}
    first = page.goto(live_server + "/")
    assert first.status == 200
    # My day's primary action (mark a task done) is on screen without scrolling sideways
    done = page.locator("main form[action*='/done'] button").first
    box = done.bounding_box()
    assert box and box["x"] + box["width"] <= PHONE["width"] and box["height"] >= 24
    problems.assert_none()


def _sign_in_in_chinese(page, base_url, username):
    from tests.conftest import PASSWORD
    page.goto(base_url + "/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    assert "/login" not in page.url
