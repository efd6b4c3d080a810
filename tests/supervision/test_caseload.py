"""The team dashboard: figures per worker and for the team, drill-down, CSV export (neutralised and
audited), the API, a fixed number of queries, and that a supervisor sees nothing of another team."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

from sqlalchemy import select

from carecycle.audit import AuditEvent
from carecycle.database import utcnow
from casework.models import Case, Task
from supervision.service import caseload
from supervision.service.common import neutralise
from tests.conftest import sign_in
from tests.supervision.conftest import sign_out


def _overdue(case, hours=5):
    """Make the case's first-contact task overdue."""
    task = case_task(case, "first_contact")
    task.due_at = utcnow() - timedelta(hours=hours)
    return task


def case_task(case, kind):
    from carecycle.extensions import db
    return db.session.scalar(select(Task).where(Task.case_id == case.id, Task.kind == kind))


def test_dashboard_counts_per_worker_and_team(db, client, crew, make_case, make_referral, make_client):
    c = crew()
    a1 = make_case(c.counsellor, risk_level="imminent")
    make_case(c.counsellor, risk_level="high")
    make_case(c.counsellor, risk_level="low")
    b1 = make_case(c.counsellor2, risk_level="moderate", social_worker=c.social_worker)
    _overdue(a1)
    _overdue(b1)
    soon = Task(
        case_id=b1.id, kind="next_contact", due_at=utcnow() + timedelta(days=2), assigned_to_id=c.counsellor2.id
    )
    db.session.add(soon)
    b1.phase = "recovery"
    unassigned = Case(client_id=make_client(c.team).id, team_id=c.team.id, phase="intake", risk_level="low",
                      source="walk_in")
    db.session.add(unassigned)
    db.session.commit()
    referral = make_referral(c.counsellor, "sent", tier=3)
    referral.respond_by = utcnow() - timedelta(hours=1)
    db.session.commit()

    board = caseload.team_dashboard(c.supervisor)
    rows = {row.worker.id: row for row in board.rows}
    alice, bob, cara = rows[c.counsellor.id], rows[c.counsellor2.id], rows[c.social_worker.id]
    assert alice.open.n == 4 and not alice.open.more  # three cases plus the referral's case (moderate)
    assert alice.by_risk["imminent"].n == 1 and alice.by_risk["high"].n == 1 and alice.by_risk["low"].n == 1
    assert alice.overdue_first_contacts.n == 1 and alice.overdue_tasks.n == 1
    assert alice.overdue_referrals.n == 1
    assert bob.by_phase["recovery"].n == 1 and bob.overdue_first_contacts.n == 1
    assert bob.upcoming_tasks.n == 1
    assert cara.open.n == 1 and cara.by_risk["moderate"].n == 1  # the social worker of Bob's case
    assert board.team.open.n == 6 and board.unassigned.n == 1  # each case once, the unassigned one included
    assert board.team.overdue_referrals.n == 1 and board.team.overdue_first_contacts.n == 2

    assert sign_in(client, c.supervisor.username).status_code == 302
    page = client.get("/supervision/caseload").get_data(as_text=True)
    assert c.counsellor.display_name in page and c.social_worker.display_name in page
    assert f"/supervision/caseload/workers/{c.counsellor.id}" in page


def test_sorting_and_filters_are_whitelisted(db, client, crew, make_case):
    c = crew()
    make_case(c.counsellor2, risk_level="imminent")
    board = caseload.team_dashboard(c.supervisor, sort="high", direction="desc")
    assert board.rows[0].worker.id == c.counsellor2.id
    board = caseload.team_dashboard(c.supervisor, role="social_worker")
    assert [r.worker.id for r in board.rows] == [c.social_worker.id]
    board = caseload.team_dashboard(c.supervisor, attention="1")
    assert [r.worker.id for r in board.rows] == [c.counsellor2.id]
    odd = caseload.team_dashboard(c.supervisor, sort="password_hash; drop table", direction="sideways", role="admin")
    assert (odd.sort, odd.direction, odd.role) == ("name", "asc", "")
    assert sign_in(client, c.supervisor.username).status_code == 302
    assert client.get("/supervision/caseload?sort=__class__&direction=x&role=y").status_code == 200


def test_drill_down_to_a_worker_shows_days_since_last_contact(db, client, crew, make_case):
    c = crew()
    case = make_case(c.counsellor, risk_level="high")
    task = case_task(case, "first_contact")
    task.done_at = utcnow() - timedelta(days=3)
    db.session.commit()
    assert sign_in(client, c.supervisor.username).status_code == 302
    page = client.get(f"/supervision/caseload/workers/{c.counsellor.id}").get_data(as_text=True)
    assert case.client.display_name in page and f"/cases/{case.id}" in page
    assert "<td>3</td>" in page
    db.session.expire_all()
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.object_type == "worker_caseload",
                                                      AuditEvent.object_id == str(c.counsellor.id)))


def test_a_supervisor_sees_nothing_of_another_team(db, client, crew, make_case, bearer):
    ours, theirs = crew("Ours"), crew("Theirs")
    secret = make_case(theirs.counsellor, risk_level="imminent")
    _overdue(secret)
    db.session.commit()
    board = caseload.team_dashboard(ours.supervisor)
    assert {r.worker.id for r in board.rows} == {ours.counsellor.id, ours.counsellor2.id, ours.social_worker.id}
    assert board.team.open.n == 0 and board.team.overdue_first_contacts.n == 0

    # a worker of theirs moved into our team keeps their old cases: our figures still leave them out
    theirs.counsellor.team_id = ours.team.id
    db.session.commit()
    board = caseload.team_dashboard(ours.supervisor)
    moved = {r.worker.id: r for r in board.rows}[theirs.counsellor.id]
    assert moved.open.n == 0 and moved.overdue_first_contacts.n == 0 and board.team.open.n == 0
    theirs.counsellor.team_id = theirs.team.id
    db.session.commit()

    assert sign_in(client, ours.supervisor.username).status_code == 302
    page = client.get("/supervision/caseload").get_data(as_text=True)
    assert theirs.counsellor.display_name not in page
    assert client.get(f"/supervision/caseload/workers/{theirs.counsellor.id}").status_code == 404
    assert client.get(f"/supervision/caseload/workers/{theirs.supervisor.id}").status_code == 404
    assert client.get("/supervision/caseload/workers/not-a-uuid").status_code == 404
    csv_text = client.get("/supervision/caseload.csv").get_data(as_text=True)
    assert theirs.counsellor.display_name not in csv_text and theirs.counsellor.username not in csv_text
    data = client.get("/api/v1/team/caseload", headers=bearer(ours.supervisor)).get_json()
    assert {w["username"] for w in data["workers"]} == {ours.counsellor.username, ours.counsellor2.username,
                                                          ours.social_worker.username}
    assert data["team"]["open"] == {"count": 0, "at_least": False}


def test_workers_cannot_open_the_dashboard(client, login_as, bearer, make_user):
    for role in ("counsellor", "social_worker", "admin"):
        sign_out(client)
        login_as(role)
        assert client.get("/supervision/caseload").status_code == 403
        assert client.get("/supervision/caseload.csv").status_code == 403
    worker = make_user("counsellor")
    assert client.get("/api/v1/team/caseload", headers=bearer(worker)).status_code == 403


def test_csv_cells_that_look_like_formulas_are_neutralised():
    for raw in ("=1+2", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\rx", "=HYPERLINK(\"http://x\")"):
        assert neutralise(raw) == "'" + raw
    for raw in ("Alice", "12", "200+", "", None, "a=b"):
        assert neutralise(raw) == ("" if raw is None else raw)


def test_csv_export_is_neutralised_and_audited(db, client, crew, make_case, make_user):
    c = crew()
    evil = make_user("counsellor", team=c.team, display_name='=HYPERLINK("http://evil.example","x")')
    plus = make_user("social_worker", team=c.team, display_name="+1 555 cmd")
    make_case(evil, risk_level="high")
    assert sign_in(client, c.supervisor.username).status_code == 302
    response = client.get("/supervision/caseload.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    names = [row[0] for row in rows[1:]]
    assert "'" + evil.display_name in names and "'" + plus.display_name in names
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row)
    row = next(r for r in rows if r[1] == evil.username)
    assert row[4] == "1"  # open cases
    db.session.expire_all()
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "export",
                                                       AuditEvent.object_type == "team_caseload"))
    assert event is not None and event.actor_id == c.supervisor.id and event.object_id == str(c.team.id)


def test_api_answers_the_dashboard(db, client, crew, make_case, bearer):
    c = crew()
    make_case(c.counsellor, risk_level="imminent")
    response = client.get("/api/v1/team/caseload?sort=high", headers=bearer(c.supervisor))
    assert response.status_code == 200
    data = response.get_json()
    first = data["workers"][0]
    assert first["username"] == c.counsellor.username
    assert first["by_risk"]["imminent"] == {"count": 1, "at_least": False}
    assert set(first) >= {"open", "by_phase", "overdue_first_contacts", "overdue_tasks", "overdue_referrals",
                          "upcoming_tasks", "role", "name"}
    assert data["caps"]["cases_per_worker_and_risk"] == caseload.CELL_CAP


def test_counts_beyond_the_cap_say_at_least(db, crew, make_case, monkeypatch):
    c = crew()
    monkeypatch.setattr(caseload, "CELL_CAP", 2)
    monkeypatch.setattr(caseload, "TEAM_CAP", 2)
    for _ in range(3):
        make_case(c.counsellor, risk_level="low")
    board = caseload.team_dashboard(c.supervisor)
    alice = {r.worker.id: r for r in board.rows}[c.counsellor.id]
    assert alice.by_risk["low"].n == 2 and alice.by_risk["low"].more and str(alice.by_risk["low"]) == "2+"
    assert board.team.by_risk["low"].more


def _populate(db, c, make_case, make_referral, n):
    for i in range(n):
        worker = [c.counsellor, c.counsellor2][i % 2]
        case = make_case(worker, risk_level=["low", "moderate", "high", "imminent"][i % 4],
                         social_worker=c.social_worker if i % 3 == 0 else None)
        if i % 2:
            _overdue(case)
    make_referral(c.counsellor, "sent")
    db.session.commit()


def test_the_dashboard_runs_a_fixed_number_of_queries(db, client, crew, make_case, make_referral, make_user,
                                                      count_queries):
    small, large = crew("Small"), crew("Large")
    make_user("counsellor", team=large.team)  # more workers too: still the same statements
    _populate(db, small, make_case, make_referral, 3)
    _populate(db, large, make_case, make_referral, 40)
    counts = []
    for team in (small, large):
        sign_out(client)
        assert sign_in(client, team.supervisor.username).status_code == 302
        client.get("/supervision/caseload")  # warm up (session, translations)
        with count_queries() as seen:
            assert client.get("/supervision/caseload").status_code == 200
        counts.append(len(seen))
        with count_queries() as seen:
            assert client.get(f"/supervision/caseload/workers/{team.counsellor.id}").status_code == 200
        counts.append(len(seen))
    assert counts[0] == counts[2], counts  # the dashboard
    assert counts[1] == counts[3], counts  # the drill-down
