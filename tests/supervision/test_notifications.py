"""In-app notifications with the unread count in the navigation, and the optional e-mail outbox:
off by default, bodies hold only a link, `carecycle notify send` delivers, `notify overdue` tells once."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from carecycle.alerts import raise_alert
from carecycle.database import utcnow
from carecycle.notifications import Notification, NotificationSetting, OutboxMessage, notify, unread_count
from casework.models import Task
from tests.conftest import form_post, sign_in


def test_unread_count_in_the_navigation_and_reading(db, client, make_user):
    me = make_user("counsellor")
    other = make_user("counsellor")
    first = notify(me, "case_assigned", "/cases")
    notify(me, "task_overdue", "/cases")
    notify(other, "task_overdue", "/cases")
    db.session.commit()
    assert unread_count(me) == 2
    assert sign_in(client, me.username).status_code == 302
    home = client.get("/").get_data(as_text=True)
    assert 'href="/notifications">Notifications <span class="count">2<' in home
    listing = client.get("/notifications").get_data(as_text=True)
    assert listing.count("<li class=\"unread\">") == 2 and "A case was assigned to you" in listing
    opened = form_post(client, f"/notifications/{first.id}", {}, page="/notifications")
    assert opened.status_code == 302 and opened.headers["Location"] == "/cases"
    db.session.expire_all()
    assert unread_count(me) == 1
    # someone else's notification does not exist for me
    theirs = db.session.scalar(select(Notification).where(Notification.user_id == other.id))
    assert form_post(client, f"/notifications/{theirs.id}", {}, page="/notifications").status_code == 404
    form_post(client, "/notifications/read-all", {}, page="/notifications")
    db.session.expire_all()
    assert unread_count(me) == 0 and unread_count(other) == 1
    assert '<span class="count">' not in client.get("/").get_data(as_text=True)


def test_the_count_is_capped(db, make_user):
    me = make_user("counsellor")
    for _ in range(120):
        notify(me, "task_overdue", "/cases")
    db.session.commit()
    assert unread_count(me) == 100


def test_notifications_link_only_to_local_pages(db, make_user):
    me = make_user("counsellor")
    import pytest
    for link in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        with pytest.raises(ValueError):
            notify(me, "general", link)


def test_residents_have_no_notifications(client, login_as):
    login_as("resident")
    assert client.get("/notifications").status_code == 403
    assert "/notifications" not in client.get("/").get_data(as_text=True)


def test_email_is_off_by_default(db, client, make_user, runner):
    me = make_user("counsellor")
    setting = NotificationSetting(user_id=me.id, email_enabled=True)
    setting.email = "me@example.org"
    db.session.add(setting)
    notify(me, "case_assigned", "/cases")
    db.session.commit()
    assert db.session.scalar(select(OutboxMessage)) is None
    result = runner.invoke(args=["notify", "send"])
    assert result.exit_code == 0 and "off" in result.output


class FakeSMTP:
    sent: list = []

    def __init__(self, host, port, timeout=None):
        self.host, self.port = host, port

    def starttls(self, context=None):
        pass

    def login(self, user, password):
        pass

    def send_message(self, message):
        FakeSMTP.sent.append(message)

    def quit(self):
        pass


def test_email_outbox_holds_only_a_link_and_is_delivered(app, db, client, crew, items, runner, monkeypatch):
    import smtplib
    c = crew()
    monkeypatch.setitem(app.config, "NOTIFY_EMAIL_ENABLED", True)
    monkeypatch.setitem(app.config, "NOTIFY_BASE_URL", "https://care.example.org")
    monkeypatch.setitem(app.config, "SMTP_HOST", "smtp.example.org")
    monkeypatch.setitem(app.config, "NOTIFY_FROM", "carecycle@example.org")
    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    FakeSMTP.sent = []
    assert sign_in(client, c.supervisor.username).status_code == 302
    saved = form_post(client, "/notifications/settings", {"email": "sup@example.org", "email_enabled": "y"})
    assert saved.status_code == 302
    assessment = items.risk(c.counsellor)  # waits for the supervisor: in-app and by e-mail
    message = db.session.scalar(select(OutboxMessage))
    assert message is not None and message.user_id == c.supervisor.id
    assert message.to_address == "sup@example.org" and "sup@example.org" not in message._to_address
    assert "https://care.example.org/supervision/approvals" in message.body
    for secret in (assessment.case.client.full_name, "Plan and intent", str(assessment.case_id)):
        assert secret not in message.body and secret not in message.subject
    result = runner.invoke(args=["notify", "send"])
    assert result.exit_code == 0, result.output
    assert "sent 1" in result.output and len(FakeSMTP.sent) == 1
    assert FakeSMTP.sent[0]["To"] == "sup@example.org"
    db.session.expire_all()
    assert db.session.scalar(select(OutboxMessage)).sent_at is not None
    assert "sent 0" in runner.invoke(args=["notify", "send"]).output and len(FakeSMTP.sent) == 1


def test_email_settings_are_checked(db, client, login_as):
    login_as("counsellor")
    bad = form_post(client, "/notifications/settings", {"email": "not an address", "email_enabled": "y"})
    assert bad.status_code == 400
    missing = form_post(client, "/notifications/settings", {"email": "", "email_enabled": "y"})
    assert missing.status_code == 400
    assert db.session.scalar(select(NotificationSetting)) is None


def test_overdue_items_are_notified_once(db, crew, make_case, runner):
    c = crew()
    case = make_case(c.counsellor, risk_level="high")
    task = db.session.scalar(select(Task).where(Task.case_id == case.id))
    task.due_at = utcnow() - timedelta(hours=3)
    alert = raise_alert("hotline", "crisis", team_id=c.team.id)
    alert.deadline = utcnow() - timedelta(minutes=5)
    db.session.commit()
    first = runner.invoke(args=["notify", "overdue"])
    assert first.exit_code == 0 and "1 overdue task(s), 1 alert(s)" in first.output, first.output
    second = runner.invoke(args=["notify", "overdue"])
    assert "0 overdue task(s), 0 alert(s)" in second.output
    told = {(n.user_id, n.kind) for n in db.session.scalars(select(Notification))}
    assert (c.counsellor.id, "task_overdue") in told and (c.supervisor.id, "alert_overdue") in told


def test_assignment_by_someone_else_is_notified(db, client, crew, make_case):
    c = crew()
    case = make_case(c.counsellor, risk_level="low")
    assert sign_in(client, c.supervisor.username).status_code == 302
    edit = client.get(f"/cases/{case.id}/edit")
    assert edit.status_code == 200
    form_post(client, f"/cases/{case.id}/edit", {"version": str(case.version), "risk_level": "low",
                                                 "priority": "normal", "assigned_counsellor": c.counsellor.username,
                                                 "assigned_social_worker": c.social_worker.username})
    told = {(n.user_id, n.kind) for n in db.session.scalars(select(Notification))}
    assert (c.social_worker.id, "case_assigned") in told
    assert not any(user == c.supervisor.id for user, _kind in told)  # never one's own action


def test_email_settings_are_saved_and_a_refusal_keeps_the_input(db, client, login_as):
    me = login_as("counsellor")
    missing = form_post(client, "/notifications/settings", {"email": "", "email_enabled": "y"})
    body = missing.get_data(as_text=True)
    assert missing.status_code == 400 and "Enter the address to send to, or leave e-mail off." in body
    assert re.search(r'<input[^>]*\bchecked\b[^>]*name="email_enabled"|<input[^>]*name="email_enabled"[^>]*\bchecked\b',
                     body)  # the choice is kept
    saved = form_post(client, "/notifications/settings", {"email": "me@example.org", "email_enabled": "y"})
    assert saved.status_code == 302
    pref = db.session.scalar(select(NotificationSetting).where(NotificationSetting.user_id == me.id))
    assert pref.email == "me@example.org" and pref.email_enabled
    assert 'value="me@example.org"' in client.get("/notifications/settings").get_data(as_text=True)


def test_rescreens_and_follow_ups_due_within_a_day_are_told_once(db, crew, make_case, runner):
    c = crew()
    case = make_case(c.counsellor, risk_level="low")
    now = utcnow()
    soon = Task(case_id=case.id, kind="rescreen", due_at=now + timedelta(hours=12), assigned_to_id=c.counsellor.id)
    follow = Task(case_id=case.id, kind="follow_up", due_at=now + timedelta(hours=20), assigned_to_id=c.counsellor.id)
    later = Task(case_id=case.id, kind="rescreen", due_at=now + timedelta(days=3), assigned_to_id=c.counsellor.id)
    done = Task(case_id=case.id, kind="follow_up", due_at=now + timedelta(hours=2), assigned_to_id=c.counsellor.id,
                done_at=now)
    other = Task(case_id=case.id, kind="review", due_at=now + timedelta(hours=2), assigned_to_id=c.counsellor.id)
    db.session.add_all([soon, follow, later, done, other])
    db.session.commit()
    counsellor, soon, follow, case = c.counsellor.id, soon.id, follow.id, case.id  # the worker ends the session
    first = runner.invoke(args=["worker", "--once", "--job", "due-reminders"])
    assert first.output.strip() == "due-reminders: notified 1 re-screening(s), 1 follow-up(s)", first.output
    told = {(n.user_id, n.kind, n.object_id) for n in db.session.scalars(select(Notification).where(
        Notification.kind.like("%_due")))}
    assert told == {(counsellor, "rescreen_due", str(soon)), (counsellor, "follow_up_due", str(follow))}
    again = runner.invoke(args=["worker", "--once", "--force", "--job", "due-reminders"])
    assert again.output.strip() == "due-reminders: notified 0 re-screening(s), 0 follow-up(s)"
    assert db.session.scalar(select(Notification).where(Notification.object_id == str(soon))).link == f"/cases/{case}"


# ------------------------------------------------------------------ the API
def test_the_api_lists_and_reads_only_the_callers_notifications(db, client, make_user):
    from carecycle.accounts.service import create_token
    me, other = make_user("counsellor"), make_user("counsellor")
    first = notify(me, "case_assigned", "/cases")
    notify(me, "task_overdue", "/cases")
    theirs = notify(other, "task_overdue", "/cases")
    db.session.commit()
    headers = {"Authorization": f"Bearer {create_token(me)}"}
    db.session.commit()
    listed = client.get("/api/v1/notifications", headers=headers).get_json()
    assert listed["total"] == 2 and listed["unread"] == 2 and str(theirs.id) not in str(listed)
    assert {n["kind"] for n in listed["notifications"]} == {"case_assigned", "task_overdue"}
    assert "A case was assigned to you" in {n["label"] for n in listed["notifications"]}
    read = client.post(f"/api/v1/notifications/{first.id}/read", headers=headers)
    assert read.status_code == 200 and read.get_json()["read_at"] is not None
    unread = client.get("/api/v1/notifications?unread=1", headers=headers).get_json()
    assert [n["id"] for n in unread["notifications"]] != [str(first.id)] and unread["total"] == 1
    # another user's notification does not exist for me, and stays unread
    assert client.post(f"/api/v1/notifications/{theirs.id}/read", headers=headers).status_code == 404
    assert client.post("/api/v1/notifications/not-an-id/read", headers=headers).status_code == 404
    refused = client.post(f"/api/v1/notifications/{first.id}/read", headers=headers, json={"all": True})
    assert refused.status_code == 422 and refused.get_json()["error"]["fields"] == {"all": "Unknown field."}
    assert client.post("/api/v1/notifications/read-all", headers=headers).get_json() == {"marked": 1}
    db.session.expire_all()
    assert unread_count(me) == 0 and unread_count(other) == 1
    assert client.get("/api/v1/notifications", headers={}).status_code == 401
    bad = client.get("/api/v1/notifications?per_page=500", headers=headers)
    assert bad.status_code == 422 and "per_page" in bad.get_json()["error"]["fields"]
