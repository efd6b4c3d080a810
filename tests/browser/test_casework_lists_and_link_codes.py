"""In Chromium, on a phone and in Chinese: the social worker gives a link code from the care-plan
page by pressing its button, and the working lists name the two Meis apart; nothing scrolls
sideways, and no console error or CSP violation."""
import re
from datetime import timedelta

from carecycle.database import utcnow
from carecycle.extensions import db
from casework.service import careplans, register
from tests.browser.conftest import PHONE, horizontal_overflow, screenshot, sign_in_page
from tests.casework.recovery_helpers import GOAL

CODE_RE = re.compile(r"\b[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}\b")


def test_social_worker_gives_a_link_code_from_the_care_plan_on_a_phone_in_chinese(
        make_user, make_client, make_case, live_server, open_page):
    social = make_user("social_worker", locale="zh_Hant")
    counsellor = make_user("counsellor", team=social.team)
    case = make_case(counsellor, social_worker=social)
    case.phase, case.assigned_counsellor_id = "recovery", None  # led by the social worker alone
    db.session.commit()
    careplans.save_plan(social, case, 0, {"goals": [dict(GOAL)], "client_note": "Well done"})
    username, case_id = social.username, case.id
    db.session.commit()
    db.session.remove()

    page, problems = open_page(viewport=PHONE)
    sign_in_page(page, live_server, username)
    page.goto(f"{live_server}/cases/{case_id}/care-plan")
    assert "輔導員可以在安全計劃頁面" not in page.content()
    screenshot(page, "care-plan-link-code-zh-390")
    assert horizontal_overflow(page) == 0
    page.get_by_role("button", name="為服務使用者建立連結代碼").click()
    page.wait_for_load_state()
    assert CODE_RE.search(page.inner_text("main"))
    assert page.get_by_role("link", name="返回照顧計劃").count() == 1
    screenshot(page, "link-code-from-care-plan-zh-390")
    assert horizontal_overflow(page) == 0
    problems.assert_none()


def test_two_meis_are_told_apart_on_my_day_and_the_worker_page_on_a_phone(
        make_user, make_client, make_case, live_server, open_page):
    counsellor = make_user("counsellor", locale="zh_Hant")
    supervisor = make_user("supervisor", team=counsellor.team, locale="zh_Hant")
    labels = []
    for full in ("Mei Chan", "Mei Wong"):
        person = make_client(counsellor.team, counsellor, full_name=full, preferred_name="Mei")
        case = make_case(counsellor, person)
        entry = register.add_to_register(counsellor, person, {"tier": "red", "flags": ["bereaved"]})
        entry.created_at = entry.due_from = utcnow() - timedelta(days=10)
        labels.append((case.id, person.list_label))
    worker, worker_id, boss_name = counsellor.username, counsellor.id, supervisor.username
    db.session.commit()
    db.session.remove()

    page, problems = open_page(viewport=PHONE)
    sign_in_page(page, live_server, worker)
    for path, name in (("/my-day", "my-day"), ("/vulnerable-register", "register")):
        page.goto(live_server + path)
        text = page.inner_text("main")
        assert all(label in text for _id, label in labels), path
        screenshot(page, f"{name}-two-meis-zh-390")
        assert horizontal_overflow(page) == 0, path

    boss, boss_problems = open_page(viewport=PHONE)
    sign_in_page(boss, live_server, boss_name)
    boss.goto(f"{live_server}/supervision/caseload/workers/{worker_id}")
    for case_id, label in labels:
        box = boss.get_by_role("checkbox", name=f"選擇 {label} 的個案")
        assert box.count() == 1 and box.get_attribute("value") == str(case_id)
    screenshot(boss, "worker-page-two-meis-zh-390")  # its eight-column table is the supervision area's layout
    boss.goto(f"{live_server}/supervision/surge")
    assert all(label in boss.inner_text("main") for _id, label in labels)
    screenshot(boss, "surge-two-meis-zh-390")
    problems.assert_none()
    boss_problems.assert_none()
