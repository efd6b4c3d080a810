"""In Chromium: the statistics charts show every bar label whole (the tier labels were clipped to
"ier 3 · …" at the chart's left edge), at desktop width and at 390 px, in English and Chinese."""
from __future__ import annotations

import pytest

from tests.browser.conftest import ARTIFACTS, DESKTOP, PHONE, horizontal_overflow, screenshot, sign_in_page

LABEL_BOXES = """() => [...document.querySelectorAll('svg.bar-chart')].flatMap(svg => {
  const frame = svg.getBoundingClientRect();
  return [...svg.querySelectorAll('text')].map(t => {
    const box = t.getBoundingClientRect();
    return {text: t.textContent, kind: t.getAttribute('class'),
            left: box.left - frame.left, right: frame.right - box.right,
            top: box.top - frame.top, bottom: frame.bottom - box.bottom, height: box.height};
  });
})"""


@pytest.mark.parametrize("viewport, locale", [(DESKTOP, "en"), (PHONE, "en"), (PHONE, "zh_Hant")],
                         ids=["desktop", "390px", "390px-zh"])
def test_every_chart_label_is_shown_whole(live_server, open_page, db, make_user, viewport, locale):
    from carecycle.alerts import raise_alert
    user = make_user("supervisor", locale=locale)
    for urgency, n in (("crisis", 21), ("urgent", 10), ("contact_request", 3), ("routine", 12)):
        for _ in range(n):
            raise_alert("hotline", urgency, team_id=user.team_id)
    db.session.commit()
    supervisor = user.username
    db.session.remove()
    page, problems = open_page(viewport=viewport)
    sign_in_page(page, live_server, supervisor)
    page.goto(live_server + "/supervision/stats")
    texts = page.evaluate(LABEL_BOXES)
    labels = [t for t in texts if t["kind"] == "label"]
    assert len(labels) >= 3 + 4 + 3  # instruments, urgencies, weeks, tiers
    clipped = [t for t in texts if min(t["left"], t["right"], t["top"], t["bottom"]) < 0]  # labels and values
    assert clipped == [], clipped
    assert not [label for label in labels if label["text"].endswith("…")]
    if locale == "en":
        shown = {label["text"] for label in labels}
        assert {"Tier 1 · emergency and health", "Tier 3 · community and volunteers"} <= shown
    assert min(label["height"] for label in labels) >= 10  # still readable when the chart is scaled to the phone
    assert horizontal_overflow(page) == 0  # the referrals table scrolls in its box
    name = f"supervision-stats-{viewport['width']}-{locale}"
    screenshot(page, name)
    page.locator("section.stats-section").last.locator("xpath=preceding-sibling::section[1]").screenshot(
        path=str(ARTIFACTS / f"{name}-referrals.png"))
    page.locator("figure.chart").nth(1).screenshot(path=str(ARTIFACTS / f"{name}-alerts.png"))
    problems.assert_none()
