"""Tasks: first contact by risk, next-contact reminders, marking done, "My day", constant query counts,
and the bench seed command."""
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select, text

from carecycle.accounts.models import User
from carecycle.alerts import raise_alert
from carecycle.audit import AuditEvent
from carecycle.database import utcnow
from carecycle.mode import switch_mode
from casework.models import Case, CaseEvent, Client, Task
from casework.service import caseload, triage
from casework.service.tasks import today_bounds
from tests.conftest import form_post


def _task(db, case, kind="first_contact"):
    db.session.expire_all()
    return db.session.scalar(select(Task).where(Task.case_id == case.id, Task.kind == kind)
                             .order_by(Task.created_at.desc()).limit(1))


def _events(db, case):
    db.session.expire_all()
    return [e.kind for e in db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id))]


@pytest.mark.parametrize("risk,interval", [("imminent", timedelta(hours=1)), ("high", timedelta(hours=24)),
                                           ("moderate", timedelta(hours=72)), ("low", timedelta(days=7))])
def test_first_contact_is_due_by_risk_and_halved_in_emergency(make_user, make_case, db, risk, interval):
    worker = make_user("counsellor")
    case = make_case(worker, risk_level=risk)
    due = _task(db, case).due_at - case.opened_at
    assert abs(due - interval) < timedelta(seconds=5)
    switch_mode("emergency", make_user("supervisor", team=worker.team), "Flooding in the district")
    db.session.commit()
    urgent = make_case(worker, risk_level=risk)
    due = _task(db, urgent).due_at - urgent.opened_at
    assert abs(due - interval / 2) < timedelta(seconds=5)


def test_no_first_contact_task_without_risk(make_user, make_case, db):
    case = make_case(make_user("counsellor"), risk_level="none")
    assert _task(db, case) is None


# ------------------------------------------------------------------ next contact
def _next_contact(client, case, **data):
    return form_post(client, f"/cases/{case.id}/next-contact", data, page=f"/cases/{case.id}")


def test_set_and_move_the_next_contact(client, login_as, make_case, db):
    worker = login_as("counsellor")
    case = make_case(worker)
    day = (utcnow() + timedelta(days=3)).strftime("%Y-%m-%d")
    response = _next_contact(client, case, due_date=day, due_time="14:30", note="After the GP appointment")
    assert response.status_code == 302
    task = _task(db, case, "next_contact")
    assert task.assigned_to_id == worker.id and task.done_at is None
    assert task.due_at.strftime("%Y-%m-%d %H:%M") == f"{day} 14:30"
    assert task.note == "After the GP appointment"
    raw = db.session.execute(text("SELECT note FROM case_task WHERE kind = 'next_contact'")).scalar_one()
    assert raw.startswith("ccv1:")
    later = (utcnow() + timedelta(days=5)).strftime("%Y-%m-%d")
    _next_contact(client, case, due_date=later, due_time="")
    db.session.expire_all()
    open_next = db.session.scalars(select(Task).where(Task.case_id == case.id, Task.kind == "next_contact")).all()
    assert len(open_next) == 1 and open_next[0].due_at.strftime("%Y-%m-%d %H:%M") == f"{later} 09:00"
    assert {"next_contact_set", "next_contact_moved"} <= set(_events(db, case))
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Next contact scheduled" in page and "Next contact moved" in page and "Mark done" in page
    actions = [(e.action, e.reason) for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.object_id == str(task.id)))]
    assert ("create", "next_contact") in actions and ("update", "next_contact") in actions


@pytest.mark.parametrize("data,message", [
    ({"due_date": "yesterday"}, "Enter a real date, for example 2 Dec 2026."),
    ({"due_date": "2020-01-01"}, "in the future"),
    ({"due_date": "2099-01-01"}, "within a year"),
    ({"due_date": "2099-01-01", "due_time": "25:99"}, "HH:MM"),
])
def test_next_contact_with_bad_input_is_refused(client, login_as, make_case, db, data, message):
    case = make_case(login_as("counsellor"))
    response = _next_contact(client, case, **data)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert _task(db, case, "next_contact") is None


def test_next_contact_on_someone_elses_case_is_404(client, login_as, make_user, make_case, db):
    login_as("counsellor")
    theirs = make_case(make_user("counsellor", team="elsewhere"))
    day = (utcnow() + timedelta(days=3)).strftime("%Y-%m-%d")
    assert form_post(client, f"/cases/{theirs.id}/next-contact", {"due_date": day}, page="/cases").status_code == 404
    assert client.get(f"/cases/{theirs.id}/next-contact").status_code == 404
    assert _task(db, theirs, "next_contact") is None


# ------------------------------------------------------------------ done
def test_mark_a_task_done_once(client, login_as, make_case, db):
    worker = login_as("counsellor")
    case = make_case(worker, risk_level="high")
    task = _task(db, case)
    path = f"/cases/{case.id}/tasks/{task.id}/done"
    assert form_post(client, path, {}, page=f"/cases/{case.id}").status_code == 302
    done = _task(db, case)
    assert done.done_at is not None and done.done_by_id == worker.id
    again = form_post(client, path, {}, page=f"/cases/{case.id}")
    assert "already marked done" in client.get(again.headers["Location"]).get_data(as_text=True)
    assert _events(db, case).count("first_contact_done") == 1
    assert [e.reason for e in db.session.scalars(select(AuditEvent).where(
        AuditEvent.object_id == str(task.id)))] == ["done:first_contact"]
    assert "First contact done" in client.get(f"/cases/{case.id}").get_data(as_text=True)


def test_done_on_an_invisible_case_or_a_task_of_another_case_is_404(client, login_as, make_user, make_case, db):
    worker = login_as("counsellor")
    mine = make_case(worker)
    theirs = make_case(make_user("counsellor", team="elsewhere"))
    foreign = _task(db, theirs)
    assert form_post(client, f"/cases/{theirs.id}/tasks/{foreign.id}/done", {}, page="/cases").status_code == 404
    assert form_post(client, f"/cases/{mine.id}/tasks/{foreign.id}/done", {}, page="/cases").status_code == 404
    assert _task(db, theirs).done_at is None


def test_done_redirects_back_to_my_day_but_never_off_site(client, login_as, make_case, db):
    worker = login_as("counsellor")
    case = make_case(worker)
    task = _task(db, case)
    response = form_post(client, f"/cases/{case.id}/tasks/{task.id}/done", {"next": "/my-day"}, page="/my-day")
    assert response.headers["Location"].endswith("/my-day")
    other = make_case(worker)
    response = form_post(client, f"/cases/{other.id}/tasks/{_task(db, other).id}/done",
                         {"next": "https://evil.example/"}, page="/my-day")
    assert response.headers["Location"].endswith(f"/cases/{other.id}")


# ------------------------------------------------------------------ My day
def test_my_day_lists_claimed_alerts_overdue_and_today_tasks_and_cases_by_risk(client, login_as, make_user,
                                                                               make_case, make_client, db):
    worker = login_as("counsellor")
    low = make_case(worker, make_client(worker.team, worker, full_name="Low Risk Person"), risk_level="low")
    imminent = make_case(worker, make_client(worker.team, worker, full_name="Imminent Person"),
                         risk_level="imminent")
    overdue, tomorrow = _task(db, low), _task(db, imminent)
    overdue.due_at = utcnow() - timedelta(hours=5)
    tomorrow.due_at = utcnow() + timedelta(days=2)
    db.session.commit()
    now = utcnow()
    _start, day_end = today_bounds(now)  # halfway to midnight: later today at any hour the test runs
    today = Task(case_id=imminent.id, kind="next_contact", due_at=now + (day_end - now) / 2,
                 assigned_to_id=worker.id)
    db.session.add(today)
    colleague = make_user("counsellor", team=worker.team)
    theirs = make_case(colleague, make_client(worker.team, colleague, full_name="Colleague Client"))
    reassigned = make_case(worker, make_client(worker.team, worker, full_name="Moved Away Client"))
    moved = _task(db, reassigned)  # (expires the session: set nothing before this line without committing)
    moved.due_at = utcnow() - timedelta(hours=1)
    reassigned.assigned_counsellor_id = colleague.id  # my old task there: the case is no longer mine to see
    alert = raise_alert("walk_in", "crisis", team_id=worker.team_id, summary="At reception")
    db.session.commit()
    triage.claim(worker, alert)
    db.session.commit()
    page = client.get("/my-day").get_data(as_text=True)
    assert f"/triage/{alert.id}" in page
    overdue_part = page[page.index("Overdue tasks"):page.index("Due later today")]
    today_part = page[page.index("Due later today"):page.index("My cases by risk")]
    cases_part = page[page.index("My cases by risk"):]
    assert "Low Risk Person" in overdue_part and "Imminent Person" not in overdue_part
    assert "Imminent Person" in today_part and "Next contact" in today_part
    assert cases_part.index("Imminent Person") < cases_part.index("Low Risk Person")
    assert "Colleague Client" not in page and "Moved Away Client" not in page
    day = caseload.my_day(worker)
    assert [t.id for t in day.overdue] == [overdue.id] and [t.id for t in day.due_today] == [today.id]
    assert day.overdue_total == 1 and day.due_today_total == 1 and day.cases.total == 2
    assert tomorrow.id not in [t.id for t in day.overdue + day.due_today]
    assert theirs.id not in [c.id for c in day.cases.items]


def test_my_day_shows_the_oldest_overdue_tasks_and_links_to_all(client, login_as, make_case, db):
    worker = login_as("counsellor")
    case = make_case(worker, risk_level="none")
    for n in range(12):  # (a case has one open next-contact reminder at most: these are other tasks)
        db.session.add(Task(case_id=case.id, kind="first_contact", due_at=utcnow() - timedelta(days=12 - n),
                            assigned_to_id=worker.id))
    db.session.commit()
    page = client.get("/my-day").get_data(as_text=True)
    assert "Showing the 10 oldest of 12 overdue tasks." in page and "/my-day/tasks?when=overdue" in page
    assert page.count("Mark done") == 10
    everything = client.get("/my-day/tasks?when=overdue").get_data(as_text=True)
    assert everything.count("Mark done") == 12 and "Overdue tasks" in everything
    assert caseload.task_page(worker, "overdue", 2, per_page=5).items and \
        not caseload.task_page(worker, "overdue", 3, per_page=5).has_next
    assert "Nothing here." in client.get("/my-day/tasks?when=today").get_data(as_text=True)


def test_my_day_empty_states(client, login_as):
    login_as("counsellor")
    page = client.get("/my-day").get_data(as_text=True)
    assert "No claimed alerts." in page and "Nothing overdue." in page and "No open cases." in page


def test_my_day_needs_casework_access(client, login_as):
    login_as("admin")
    assert client.get("/my-day").status_code == 403


# ------------------------------------------------------------------ constant query counts
@contextmanager
def counted(engine):
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _grow(db, worker, make_case, make_client, up_to):
    have = db.session.scalar(select(func.count()).select_from(Case)) or 0
    risks = ["low", "moderate", "high", "imminent", "none"]
    for n in range(have, up_to):
        case = make_case(worker, make_client(worker.team, worker, full_name=f"Client {n}"), risk_level=risks[n % 5])
        if n % 3 == 0:
            db.session.add(Task(case_id=case.id, kind="next_contact", due_at=utcnow() - timedelta(hours=n + 1),
                                assigned_to_id=worker.id))
        if n % 3 == 1:
            db.session.add(Task(case_id=case.id, kind="next_contact", due_at=utcnow() + timedelta(minutes=n + 1),
                                assigned_to_id=worker.id))
    db.session.commit()


@pytest.mark.parametrize("path", ["/cases", "/my-day", "/my-day/tasks?when=overdue"])
def test_caseload_and_my_day_use_the_same_number_of_queries_at_any_size(client, login_as, make_case, make_client,
                                                                        db, path):
    worker = login_as("counsellor")
    alert = raise_alert("walk_in", "crisis", team_id=worker.team_id, summary="x")
    db.session.commit()
    triage.claim(worker, alert)
    db.session.commit()
    sizes = {}
    for size in (5, 60):
        _grow(db, worker, make_case, make_client, size)
        client.get(path)  # warm up: the session's last-seen write and caches are not what is counted
        with counted(db.engine) as statements:
            page = client.get(path)
        assert page.status_code == 200
        sizes[size] = len(statements)
        assert page.get_data(as_text=True).count(">Client ") >= 2  # the lists are not empty
    assert sizes[5] == sizes[60], sizes


# ------------------------------------------------------------------ bench seed
def test_bench_seed_is_deterministic_encrypted_and_tops_up(runner, app, db):
    password = "bench password for tests only"
    first = runner.invoke(args=["bench", "seed", "--clients", "30", "--counsellors", "3", "--password-stdin"],
                          input=password + "\n")
    assert first.exit_code == 0, first.output
    assert "seeded 30 clients" in first.output and "clients/s" in first.output
    more = runner.invoke(args=["bench", "seed", "--clients", "345", "--counsellors", "3", "--batch", "100"])
    assert more.exit_code == 0, more.output  # several batches: built in worker processes where the OS can fork
    assert db.session.scalar(select(func.count()).select_from(Client)) == 345
    assert db.session.scalar(select(func.count()).select_from(Case)) == 345
    names = {c.full_name for c in db.session.scalars(select(Client))}
    assert len(names) == 345 and all(name.endswith(f"{i:07d}") for i, name in
                                     enumerate(sorted(names, key=lambda n: n[-7:])))
    worker = db.session.scalar(select(User).where(User.username == "bench_counsellor2"))
    day = caseload.my_day(worker)
    assert day.cases.total > 90 and day.overdue_total + day.due_today_total > 0
    raw = db.session.execute(text("SELECT full_name, phone FROM client")).first()
    assert raw[0].startswith("ccv1:") and raw[1].startswith("ccv1:")
    found = db.session.scalar(select(Client).where(Client.phone_index == Client.phone.index_for("90000007")))
    assert found is not None and found.full_name.endswith("0000007")
    seeded_again = runner.invoke(args=["bench", "seed", "--clients", "345"])
    assert "nothing to add" in seeded_again.output
    # the same seed gives the same people: client 7 in another run has the same name
    from carecycle.crypto import keyring
    from casework.cli import bench_rows
    client_row = bench_rows(7, 4, found.team_id, [found.created_by_id], utcnow(), keyring())[0]
    assert client_row["id"] == found.id
    app.config["ENV_NAME"] = "production"
    try:
        refused = runner.invoke(args=["bench", "seed", "--clients", "50"])
    finally:
        app.config["ENV_NAME"] = "testing"
    assert refused.exit_code != 0 and "never seeded in production" in refused.output


# ------------------------------------------------------------------ caseload pages
def test_caseload_branches_select_exactly_the_visible_cases(make_user, make_case, db):
    from carecycle.breakglass import grant
    from casework.service.access import visible_cases
    counsellor = make_user("counsellor")
    social = make_user("social_worker", team=counsellor.team)
    boss = make_user("supervisor", team=counsellor.team)
    outsider = make_user("counsellor", team="elsewhere")
    mine = make_case(counsellor, social_worker=social)
    make_case(counsellor)
    theirs = make_case(outsider)
    make_case(outsider)
    grant(counsellor, "case", theirs.id, theirs.team_id, "Covering the duty phone tonight for this client")
    grant(social, "case", mine.id, mine.team_id, "Checking my own case through the break-glass page")
    db.session.commit()
    for user in (counsellor, social, boss, outsider):
        expected = set(db.session.scalars(select(Case.id).where(visible_cases(user))))
        scope = caseload.caseload_scope(user)
        found = [set(db.session.scalars(select(Case.id).where(b), scope.params)) for b in scope.branches]
        assert set().union(*found) == expected, user.role
        assert sum(len(f) for f in found) == len(expected), "branches overlap"
        page = caseload.caseload_page(user, 1, 50)
        assert {c.id for c in page.items} == {c for c in expected
                                              if db.session.get(Case, c).phase != "closed"}


def test_caseload_pages_by_risk_then_age_with_a_capped_total(client, login_as, make_case, make_client, db,
                                                            monkeypatch):
    worker = login_as("counsellor")
    risks = ["low", "imminent", "moderate", "none", "high", "low", "imminent", "moderate"]
    cases = [make_case(worker, make_client(worker.team, worker, full_name=f"Person {n}"), risk_level=risk)
             for n, risk in enumerate(risks)]
    ranked = sorted(cases, key=lambda c: (-c.risk.rank, c.opened_at, c.id))
    first = caseload.caseload_page(worker, 1, 3)
    assert [c.id for c in first.items] == [c.id for c in ranked[:3]]
    assert first.total == 8 and not first.total_capped and first.pages == 3 and first.has_next
    last = caseload.caseload_page(worker, 3, 3)
    assert [c.id for c in last.items] == [c.id for c in ranked[6:]] and not last.has_next
    monkeypatch.setattr(caseload, "CASE_COUNT_CAP", 5)
    capped = caseload.caseload_page(worker, 1, 3)
    assert capped.total == 5 and capped.total_capped and capped.pages is None and capped.has_next
    page = client.get("/cases").get_data(as_text=True)
    assert "5 or more cases" in page
    assert page.index("Person 1") < page.index("Person 4") < page.index("Person 2") < page.index("Person 0")
