"""In Chromium: a supervisor imports another system's directory file through the import page,
choosing a default tier (at 390 px, in Chinese), then edits a service on its page; the export keeps
the source's fields beside the edit."""
from __future__ import annotations

import json

from sqlalchemy import select

from referrals.models import Organisation, Service
from tests.browser.conftest import DESKTOP, PHONE, screenshot, sign_in_page
from tests.browser.test_phone_widths import _sign_in_in_chinese, page_width
from tests.referrals.test_hsds_third_party import FIXTURE, _by_id, third_party


def _choose_file_and_import(page, base_url, tier: str | None):
    page.goto(base_url + "/directory/import")
    page.locator("input[type=file]").set_input_files(str(FIXTURE))
    if tier is not None:
        page.locator("select#default_tier").select_option(tier)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()


def test_a_file_without_tiers_is_refused_then_imported_with_a_default_tier_in_chinese_on_a_phone(
        live_server, open_page, db, make_user):
    supervisor = make_user("supervisor")
    username = supervisor.username
    db.session.commit()
    db.session.remove()
    page, problems = open_page(locale="zh-TW", viewport=PHONE)
    _sign_in_in_chinese(page, live_server, username)

    # without a default tier the page lists the problem, naming the field to choose, and imports nothing
    _choose_file_and_import(page, live_server, None)
    summary = page.locator(".error-summary")
    assert summary.is_visible()
    assert "organizations[0]" in summary.inner_text() and "default_tier" in summary.inner_text()
    label = page.locator("label[for=default_tier]").inner_text()
    assert label and label != "Default tier"  # the field's label is translated
    assert page_width(page) <= PHONE["width"]
    screenshot(page, "directory-import-refused-zh-TW-phone")
    assert db.session.scalar(select(Organisation)) is None
    db.session.remove()

    # choosing tier 3 in the page's own select imports the organisation, its places and services
    _choose_file_and_import(page, live_server, "3")
    assert page.url.endswith("/directory")
    assert page.locator(".flash, [role=status]").first.is_visible()
    assert page_width(page) <= PHONE["width"]
    screenshot(page, "directory-imported-zh-TW-phone")
    org = db.session.scalar(select(Organisation))
    assert org is not None and org.name == "Harbourside Neighbours Association" and org.tier == 3
    assert len(org.services) == 2
    # the refused file's page was answered 422 (Chromium logs that); nothing else went wrong
    assert all("status of 422" in e for e in problems.console_errors), problems.console_errors
    assert problems.csp_violations == []


def test_a_service_edited_on_its_page_is_exported_as_edited_beside_the_sources_fields(
        live_server, open_page, db, make_user):
    supervisor = make_user("supervisor")
    username = supervisor.username
    db.session.commit()
    db.session.remove()
    page, problems = open_page(viewport=DESKTOP)
    sign_in_page(page, live_server, username)
    _choose_file_and_import(page, live_server, "3")
    drop_in = db.session.scalar(select(Service).where(Service.name == "Neighbours' drop-in"))
    service_id = str(drop_in.id)
    db.session.remove()

    page.goto(f"{live_server}/directory/services/{service_id}/edit")
    page.get_by_label("What the service offers").fill("Tea and company, Monday to Saturday.")
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_load_state()
    assert "/edit" not in page.url, page.locator(".error-summary, .error").all_inner_texts()

    exported = json.loads(page.request.get(f"{live_server}/directory/export.json").text())
    org = exported["organizations"][0]
    service = _by_id(org["services"])[service_id]
    raw = _by_id(third_party()["organizations"][0]["services"])[service_id]
    assert service["description"] == "Tea and company, Monday to Saturday."
    for key in ("fees_description", "service_areas", "wait_time", "interpretation_services"):
        assert service[key] == raw[key], key
    assert org["legal_status"] == "Registered charity" and org["phones"][0]["extension"] == 12
    assert problems.console_errors == [] and problems.csp_violations == []
