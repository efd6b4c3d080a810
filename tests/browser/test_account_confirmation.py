"""In Chromium: an administrator creates a counsellor, who sees the notice that a supervisor must
confirm; the team's supervisor confirms with the approvals page's own button; the counsellor's
client list opens."""
from __future__ import annotations

from sqlalchemy import select

from carecycle.accounts.models import AccountChange, User
from tests.browser.conftest import PHONE, horizontal_overflow, screenshot, sign_in_page

TEMP = "a temporary passphrase"
NEW = "my own long passphrase now"


def test_a_supervisor_confirms_an_admins_new_account_on_the_approvals_page(live_server, open_page, db, make_user,
                                                                         make_team):
    team = make_team("Riverbank")
    supervisor = make_user("supervisor", team=None, username="sup.river")
    supervisor.team = team
    db.session.commit()
    supervisor_id = supervisor.id
    admin = make_user("admin").username
    db.session.remove()

    admin_page, problems = open_page()
    sign_in_page(admin_page, live_server, admin)
    admin_page.goto(live_server + "/admin/users/new")
    admin_page.get_by_label("Username").fill("new.worker")
    admin_page.get_by_label("Role").select_option("counsellor")
    admin_page.get_by_label("Team").select_option(label="Riverbank")
    admin_page.get_by_label("Temporary password").fill(TEMP)
    admin_page.get_by_role("button", name="Create account").click()
    admin_page.wait_for_load_state()
    assert "waits for a supervisor of Riverbank" in admin_page.content()
    assert admin_page.get_by_text("Waiting for a supervisor to confirm").is_visible()

    worker_page, worker_problems = open_page()
    worker_page.goto(live_server + "/login")
    worker_page.get_by_label("Username").fill("new.worker")
    worker_page.get_by_label("Password").fill(TEMP)
    worker_page.get_by_role("button", name="Sign in").click()
    worker_page.wait_for_load_state()
    worker_page.get_by_label("Current password").fill(TEMP)
    worker_page.get_by_label("New password", exact=True).fill(NEW)
    worker_page.get_by_label("Repeat the new password").fill(NEW)
    worker_page.get_by_role("button", name="Change password").click()
    worker_page.wait_for_load_state()
    assert "waiting for a supervisor of Riverbank to confirm" in worker_page.locator("#access-held").inner_text()
    response = worker_page.goto(live_server + "/clients")
    assert response.status == 403
    assert "waiting for a supervisor of Riverbank to confirm" in worker_page.locator("main").inner_text()

    sup_page, sup_problems = open_page()
    sign_in_page(sup_page, live_server, "sup.river")
    sup_page.goto(live_server + "/supervision/approvals")
    row = sup_page.locator("table.approvals tbody tr", has_text="Account change to confirm")
    assert row.count() == 1
    screenshot(sup_page, "account-confirmation-queue")
    row.get_by_role("link", name="Account change to confirm").click()
    sup_page.wait_for_load_state()
    assert "new.worker" in sup_page.inner_text("main")
    sup_page.get_by_role("button", name="Confirm the change").click()
    sup_page.wait_for_load_state()
    assert sup_page.get_by_text("Decision recorded.").is_visible()
    assert sup_page.locator("table.approvals tbody tr", has_text="Account change to confirm").count() == 0

    db.session.remove()
    user = db.session.scalar(select(User).where(User.username == "new.worker"))
    change = db.session.scalar(select(AccountChange).where(AccountChange.user_id == user.id))
    assert not user.access_pending and change.confirmed_by_id == supervisor_id
    db.session.remove()

    response = worker_page.goto(live_server + "/clients")
    assert response.status == 200
    assert worker_page.locator("#access-held").count() == 0
    sup_page.set_viewport_size(PHONE)
    sup_page.reload()
    assert horizontal_overflow(sup_page) == 0
    for p in (problems, sup_problems):
        p.assert_none()
    assert worker_problems.csp_violations == []
