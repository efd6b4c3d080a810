"""Reassigning one case or many, with a reason: timeline, tasks, audit, both workers notified."""
from __future__ import annotations

from sqlalchemy import select

from carecycle.audit import AuditEvent
from carecycle.notifications import Notification
from casework.models import Case, CaseEvent, Task
from tests.conftest import form_post, sign_in

REASON = "Alice is on leave for three weeks."


def _reassign(client, worker, data):
    return form_post(client, f"/supervision/caseload/workers/{worker.id}/reassign", data,
                     page=f"/supervision/caseload/workers/{worker.id}")


def test_reassign_one_case(db, client, crew, make_case):
    c = crew()
    case = make_case(c.counsellor, risk_level="high")
    other = make_case(c.counsellor, risk_level="low")
    assert sign_in(client, c.supervisor.username).status_code == 302
    response = _reassign(client, c.counsellor, {"case_ids": [str(case.id)], "to_worker": str(c.counsellor2.id),
                                                "reason": REASON})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Case, case.id).assigned_counsellor_id == c.counsellor2.id
    assert db.session.get(Case, other.id).assigned_counsellor_id == c.counsellor.id
    task = db.session.scalar(select(Task).where(Task.case_id == case.id, Task.kind == "first_contact"))
    assert task.assigned_to_id == c.counsellor2.id  # open tasks move with the case
    event = db.session.scalar(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.kind == "reassigned"))
    assert event is not None and REASON in event.detail and REASON not in (event._detail or "")
    assert event.actor_id == c.supervisor.id
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.object_id == str(case.id),
                                                      AuditEvent.reason == "reassigned:assigned_counsellor_id"))
    notes = {(n.user_id, n.kind): n for n in db.session.scalars(select(Notification))}
    assert notes[(c.counsellor2.id, "cases_assigned")].link == f"/cases/{case.id}"
    assert (c.counsellor.id, "cases_reassigned") in notes
    assert all(REASON not in n.link for n in notes.values())
    # the timeline shows it, labelled
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Case reassigned" in page


def test_reassign_many_and_all(db, client, crew, make_case):
    c = crew()
    cases = [make_case(c.counsellor, risk_level=r) for r in ("low", "moderate", "high")]
    assert sign_in(client, c.supervisor.username).status_code == 302
    _reassign(client, c.counsellor, {"case_ids": [str(x.id) for x in cases[:2]], "to_worker": str(c.counsellor2.id),
                                     "reason": REASON})
    db.session.expire_all()
    assert [db.session.get(Case, x.id).assigned_counsellor_id for x in cases] == [c.counsellor2.id] * 2 + [
        c.counsellor.id
    ]
    note = db.session.scalar(select(Notification).where(Notification.user_id == c.counsellor2.id))
    assert note.count == 2 and note.link == "/cases"
    _reassign(client, c.counsellor2,
              {"everything": "y", "to_worker": str(c.counsellor.id), "reason": "Back from leave."})
    db.session.expire_all()
    assert all(db.session.get(Case, x.id).assigned_counsellor_id == c.counsellor.id for x in cases)


def test_reassignment_is_checked(db, client, crew, make_case):
    ours, theirs = crew("Ours"), crew("Theirs")
    case = make_case(ours.counsellor, risk_level="low")
    foreign = make_case(theirs.counsellor, risk_level="low")
    assert sign_in(client, ours.supervisor.username).status_code == 302
    bad = [
        {"case_ids": [str(case.id)], "to_worker": str(ours.counsellor2.id), "reason": "short"},
        {"case_ids": [str(case.id)], "to_worker": str(ours.social_worker.id), "reason": REASON},  # another role
        {"case_ids": [str(case.id)], "to_worker": str(theirs.counsellor.id), "reason": REASON},  # another team
        {"case_ids": [], "to_worker": str(ours.counsellor2.id), "reason": REASON},
    ]
    for data in bad:
        assert _reassign(client, ours.counsellor, data).status_code == 302
    assert _reassign(client, ours.counsellor, {"case_ids": [str(foreign.id)], "to_worker": str(ours.counsellor2.id),
                                               "reason": REASON}).status_code == 404
    assert _reassign(client, theirs.counsellor, {"case_ids": [str(foreign.id)], "to_worker": str(ours.counsellor2.id),
                                                 "reason": REASON}).status_code == 404
    db.session.expire_all()
    assert db.session.get(Case, case.id).assigned_counsellor_id == ours.counsellor.id
    assert db.session.get(Case, foreign.id).assigned_counsellor_id == theirs.counsellor.id
    assert db.session.scalar(select(CaseEvent).where(CaseEvent.kind == "reassigned")) is None
    assert db.session.scalar(select(Notification).where(Notification.kind.like("cases_%"))) is None


def test_only_supervisors_reassign(client, login_as, make_user, make_case, db):
    worker = login_as("counsellor")
    case = make_case(worker)
    response = form_post(client, f"/supervision/caseload/workers/{worker.id}/reassign",
                         {"case_ids": [str(case.id)], "to_worker": str(worker.id), "reason": REASON}, page="/")
    assert response.status_code == 403


def test_a_reason_too_long_is_refused_with_a_message(db, client, crew, make_case):
    c = crew()
    case = make_case(c.counsellor, risk_level="low")
    assert sign_in(client, c.supervisor.username).status_code == 302
    response = _reassign(client, c.counsellor, {"case_ids": [str(case.id)], "to_worker": str(c.counsellor2.id),
                                                "reason": "x" * 1001})
    assert response.status_code == 302
    page = client.get(f"/supervision/caseload/workers/{c.counsellor.id}").get_data(as_text=True)
    assert "Keep the reason under 1000 characters." in page
    assert client.post(f"/supervision/caseload/workers/{c.counsellor.id}/reassign",
                       data={"case_ids": [str(case.id)], "to_worker": str(c.counsellor2.id),
                             "reason": REASON}).status_code == 400  # no CSRF token
    db.session.expire_all()
    assert db.session.get(Case, case.id).assigned_counsellor_id == c.counsellor.id
