"""In Chromium, in Chinese on a 390 px phone: a supervisor adds a partner agreement from the
organisation's page through its own form — a wrong end date is refused with the entered rows kept,
the corrected form saves the agreement with its commitments and its (encrypted) contact person —
and then finds it on the list of agreements expiring within 60 days after shortening it."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, text

from carecycle.localtime import today as local_today
from referrals.models import PartnerAgreement
from tests.browser.conftest import PHONE, screenshot
from tests.browser.test_phone_widths import _sign_in_in_chinese, page_width


def _submit(page):
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()


def test_a_supervisor_adds_an_agreement_in_chinese_on_a_phone(live_server, open_page, db, make_user, make_org):
    supervisor = make_user("supervisor")
    org = make_org(tier=3, name="Harbour Shelter Association")
    username, org_id = supervisor.username, str(org.id)
    db.session.commit()
    db.session.remove()
    today = local_today()
    page, problems = open_page(locale="zh-TW", viewport=PHONE)
    _sign_in_in_chinese(page, live_server, username)

    # the organisation's own page links to the form
    page.goto(f"{live_server}/directory/organisations/{org_id}")
    page.locator("main a[href$='/agreements/new']").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/directory/organisations/{org_id}/agreements/new")
    label = page.locator("label[for=valid_to]").inner_text()
    assert label and label != "Valid to"  # translated

    # an end before the start is refused, naming the field; what was typed stays in the form
    page.locator("#title").fill("Emergency shelter memorandum")
    page.locator("#valid_from").fill(today.isoformat())
    page.locator("#valid_to").fill((today - timedelta(days=1)).isoformat())
    page.locator("#commitments-0-side").select_option("partner")
    page.locator("#commitments-0-quantity").fill("10")
    page.locator("#commitments-0-unit").fill("beds")
    page.locator("#commitments-0-what").fill("emergency shelter")
    page.locator("#contacts-0-name").fill("Lee Mei-ling")
    page.locator("#contacts-0-phone").fill("+852 2345 6789")
    page.locator("#contacts-0-role").fill("Duty manager")
    _submit(page)
    assert page.locator("#valid_to-error").is_visible()
    assert page.locator("#commitments-0-what").input_value() == "emergency shelter"
    assert page.locator("#contacts-0-phone").input_value() == "+852 2345 6789"
    assert page_width(page) <= PHONE["width"]
    screenshot(page, "agreement-form-refused-zh-TW-phone")
    assert db.session.scalar(select(PartnerAgreement)) is None
    db.session.remove()

    # corrected, it saves and shows the agreement with its commitment and contact person
    page.locator("#valid_to").fill((today + timedelta(days=365)).isoformat())
    _submit(page)
    assert "/directory/agreements/" in page.url and not page.url.endswith("/edit")
    body = page.locator("main").inner_text()
    assert "Emergency shelter memorandum" in body and "beds" in body and "emergency shelter" in body
    assert page.locator("main a[href='tel:+852 2345 6789']").is_visible()
    assert page_width(page) <= PHONE["width"]
    screenshot(page, "agreement-saved-zh-TW-phone")
    agreement = db.session.scalar(select(PartnerAgreement))
    assert agreement is not None and str(agreement.organisation_id) == org_id
    assert agreement.commitments == [{"side": "partner", "quantity": 10, "unit": "beds", "what": "emergency shelter"}]
    assert agreement.contacts[0]["name"] == "Lee Mei-ling"
    stored = db.session.execute(text("SELECT contacts FROM partner_agreement")).scalar()
    assert "Lee Mei-ling" not in str(stored) and "2345" not in str(stored)  # sealed at rest
    db.session.remove()

    # shortened to end within 60 days through its edit link, it is listed as expiring
    page.locator("main a[href$='/edit']").click()
    page.wait_for_load_state()
    assert page.locator("#title").input_value() == "Emergency shelter memorandum"
    page.locator("#valid_to").fill((today + timedelta(days=30)).isoformat())
    _submit(page)
    page.goto(f"{live_server}/directory/agreements/expiring")
    assert "Emergency shelter memorandum" in page.locator("main").inner_text()
    assert page_width(page) <= PHONE["width"]
    screenshot(page, "agreements-expiring-zh-TW-phone")
    # the refused form was answered 400 (Chromium logs that); nothing else went wrong
    assert all("status of 400" in e for e in problems.console_errors), problems.console_errors
    assert problems.csp_violations == []
