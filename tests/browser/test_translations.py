"""A questionnaire translation through the pages, in Chromium: one supervisor enters the pack on the
upload page; a second one, on a phone, compares it row by row (the approval is refused until every
row is ticked) and approves it; a resident reading Simplified Chinese then answers the translated
PHQ-9 by clicking, and the result records the language and the pack's hash. Each page is checked by
tests.browser.conftest.Walk (axe-core, 390 px, screenshots in tests/artifacts/)."""
from __future__ import annotations

from sqlalchemy import select

from screening.models import ScreeningResult, TranslationPack
from tests.browser.conftest import PHONE, Walk, sign_in_page
from tests.test_screening_translations import ENGLISH_ITEM_1, FIXTURE, PLACEHOLDER


def test_a_translation_is_entered_checked_by_a_second_person_and_answered_in_chinese(live_server, open_page, db,
                                                                                     make_user):
    entering = make_user("supervisor", display_name="Lee Entering").username
    checking = make_user("supervisor", display_name="Ho Checking").username
    db.session.remove()

    # ---- the first supervisor enters the publisher's file
    page, problems = open_page()
    walk = Walk(page, problems, "translation-enter")
    sign_in_page(page, live_server, entering)
    walk.menu("Library", "Questionnaire translations")
    assert page.get_by_text("No translations yet.").is_visible()
    walk.check("translations-empty")
    page.get_by_role("link", name="Enter a translation").click()
    page.get_by_label("Translation pack (JSON file)").set_input_files(str(FIXTURE))
    walk.check("upload")
    page.get_by_role("button", name="Check and enter for review").click()
    assert page.get_by_text("Entered for review.").is_visible()
    assert page.get_by_text("another supervisor checks and approves it").is_visible()
    assert page.get_by_role("button", name="Approve this translation").count() == 0
    walk.check("entered")
    walk.done()

    # ---- the second supervisor compares it on a phone and approves it
    page, problems = open_page(viewport=PHONE)
    walk = Walk(page, problems, "translation-approve")
    sign_in_page(page, live_server, checking)
    page.goto(live_server + "/screening/translations")
    page.get_by_role("link", name="PHQ-9").click()
    row_1 = page.locator("#row-item-1")
    assert ENGLISH_ITEM_1 in row_1.inner_text() and PLACEHOLDER in row_1.inner_text()
    walk.check("review")
    boxes = page.locator("input[name=checked]")
    for index in range(boxes.count() - 1):  # every row but the last one
        boxes.nth(index).check()
    page.get_by_role("button", name="Approve this translation").click()
    assert page.get_by_text("Not ticked: Unscored question.").is_visible()
    walk.check("not-every-row")
    assert all("status of 400" in e and "/approve" in e for e in problems.console_errors), problems.console_errors
    problems.console_errors.clear()  # the refusal answered 400 on purpose
    page.locator("#check-unscored-difficulty").check()
    assert page.locator("input[name=checked]:checked").count() == boxes.count()  # the ticks were kept
    page.get_by_role("button", name="Approve this translation").click()
    assert page.get_by_text("Approved. Residents choosing").is_visible()
    assert page.get_by_text("Approved: shown to residents").first.is_visible()
    walk.check("approved")
    walk.done()

    # ---- a resident reading Simplified Chinese answers the translated questionnaire
    page, problems = open_page(locale="zh-CN", viewport=PHONE)
    walk = Walk(page, problems, "translation-resident-zh")
    page.goto(live_server + "/screening/phq9")
    assert page.get_by_text(PLACEHOLDER).is_visible()
    assert page.get_by_text(ENGLISH_ITEM_1).count() == 0
    walk.check("phq9-zh")
    for number in range(1, 10):
        page.locator(f"#item-{number}").get_by_label("【占位】选项1", exact=False).check()
    page.locator("form.screening button[type=submit]").click()
    page.wait_for_load_state()
    assert "/screening/results/" in page.url
    assert page.locator("p.answered-in").is_visible()
    walk.check("result-zh")
    walk.done()

    db.session.remove()
    pack = db.session.scalars(select(TranslationPack)).one()
    result = db.session.scalars(select(ScreeningResult)).one()
    assert pack.approved_by.username == checking and pack.entered_by.username == entering
    assert (result.language, result.translation_sha256, result.score) == ("zh_Hans", pack.sha256, 9)
