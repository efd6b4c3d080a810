"""The supervisor's break-glass review lists every write the grantee made under each grant: events
carry the grant they were made under (audit_event.grant_id), set by the case loader when the case
is open to the user only through a grant."""
import re
from datetime import timedelta

from sqlalchemy import select, update

from carecycle import breakglass
from carecycle.audit import AuditEvent, verify_chain
from carecycle.breakglass import BreakGlassGrant
from carecycle.database import utcnow
from casework.models import Case, ContactNote
from tests.casework.test_notes import bearer, note_body
from tests.conftest import form_post, sign_in

REASON = "Client is at the front desk in crisis; assigned counsellor is off sick."
NOTHING = "Nothing written under this grant."


def _write_note(client, case, body):
    response = form_post(client, f"/cases/{case.id}/notes", {
        "kind": "clinical", "mode": "phone", "at": "", "duration_minutes": "10", "body": body,
        "action": "sign"}, page=f"/cases/{case.id}")
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def _review(app, supervisor) -> str:
    reviewer = app.test_client()
    assert sign_in(reviewer, supervisor.username).status_code == 302
    return reviewer.get("/break-glass").get_data(as_text=True)


def _listed(page: str) -> list[tuple[str, str]]:
    """(action, record type) of every write listed under grants on the review page."""
    return re.findall(r'<tr><td data-code="([^"]+)">(?:[^<]|<span[^>]*>[^<]*</span>)*</td>'
                      r'<td data-code="([^"]*)">', page)


def test_a_note_written_under_a_grant_is_listed_on_the_review(app, client, login_as, make_user, make_case, db):
    me = login_as("counsellor", display_name="Grace Grantee")
    owner = make_user("counsellor", team=me.team)
    case = make_case(owner)
    supervisor = make_user("supervisor", team=me.team)
    assert NOTHING not in _review(app, supervisor)  # no grant yet: the list's own empty state

    assert form_post(client, f"/break-glass/case/{case.id}", {"reason": REASON}).status_code == 302
    page = _review(app, supervisor)
    assert NOTHING in page and _listed(page) == []  # granted, nothing written yet

    _write_note(client, case, "Called back, agreed a safety check tonight")
    grant = db.session.scalar(select(BreakGlassGrant))
    note = db.session.scalar(select(ContactNote))
    events = breakglass.writes_under([grant])[grant.id]
    assert [(e.action, e.object_type, e.object_id) for e in events] == [
        ("create", "contact_note", str(note.id)), ("sign", "contact_note", str(note.id))]
    assert all(e.actor_id == me.id and e.grant_id == str(grant.id) for e in events)
    # the views made under the grant carry it too, but only writes are listed
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "view",
                                                      AuditEvent.grant_id == str(grant.id))) is not None

    page = _review(app, supervisor)
    assert _listed(page) == [("create", "contact_note"), ("sign", "contact_note")]
    assert "Written under this grant by Grace Grantee" in page and NOTHING not in page
    assert verify_chain().ok  # the grant id is part of each event's hash
    # the approvals queue shows the same list with the grant waiting for review
    boss = app.test_client()
    assert sign_in(boss, supervisor.username).status_code == 302
    queue = boss.get("/supervision/approvals").get_data(as_text=True)
    item = boss.get(re.search(r'href="(/supervision/approvals/break_glass/[^"]+)"', queue).group(1))
    listed = item.get_data(as_text=True)
    assert "Created · Contact note" in listed and "Signed · Contact note" in listed  # in words, not codes
    assert "contact_note" not in listed


def test_writes_through_the_api_under_a_grant_are_listed(app, client, login_as, make_user, make_case, db):
    me = login_as("social_worker")
    case = make_case(make_user("counsellor", team=me.team))
    assert form_post(client, f"/break-glass/case/{case.id}", {"reason": REASON}).status_code == 302
    response = client.post(f"/api/v1/cases/{case.id}/notes", json=note_body(kind="casework", body="Housing form"),
                           headers=bearer(me, db))
    assert response.status_code == 201, response.get_data(as_text=True)
    grant = db.session.scalar(select(BreakGlassGrant))
    assert [e.action for e in breakglass.writes_under([grant])[grant.id]][:1] == ["create"]
    assert ("create", "contact_note") in _listed(_review(app, make_user("supervisor", team=me.team)))


def test_writes_by_others_or_outside_the_grant_are_not_listed(app, client, login_as, make_user, make_case, db):
    me = login_as("counsellor")
    owner = make_user("counsellor", team=me.team)
    case = make_case(owner)
    own_case = make_case(me)
    assert form_post(client, f"/break-glass/case/{case.id}", {"reason": REASON}).status_code == 302
    grant = db.session.scalar(select(BreakGlassGrant))

    # someone else writes on the same case during the window: their own access, not the grant
    other = app.test_client()
    assert sign_in(other, owner.username).status_code == 302
    _write_note(other, case, "Assigned counsellor's own note")
    # the grantee writes on a case of their own during the window: not under the grant either
    _write_note(client, own_case, "Note on my own case")
    assert breakglass.writes_under([grant])[grant.id] == []

    # the grant ends; later the case is assigned to the grantee, who writes again: not under the grant
    db.session.execute(update(BreakGlassGrant).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.execute(update(Case).where(Case.id == case.id).values(assigned_counsellor_id=me.id))
    db.session.commit()
    _write_note(client, case, "Now assigned to me")
    db.session.expire_all()
    notes_on_case = db.session.scalars(select(ContactNote).where(ContactNote.case_id == case.id)).all()
    assert len(notes_on_case) == 2
    assert breakglass.writes_under([grant])[grant.id] == []
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.grant_id.is_not(None),
                                                      AuditEvent.action != "view")) is None
    page = _review(app, make_user("supervisor", team=me.team))
    assert _listed(page) == [] and "Nothing written under this grant." in page
    boss = app.test_client()
    assert sign_in(boss, make_user("supervisor", team=me.team).username).status_code == 302
    queue = boss.get("/supervision/approvals").get_data(as_text=True)
    item = boss.get(re.search(r'href="(/supervision/approvals/break_glass/[^"]+)"', queue).group(1))
    assert "Nothing written under this grant." in item.get_data(as_text=True)
    assert "· Contact note ·" not in item.get_data(as_text=True)


def test_an_event_whose_grant_is_erased_breaks_the_chain(app, client, login_as, make_user, make_case, db):
    """A database edit that hides a write from the review (clearing its grant id) is caught by verify."""
    me = login_as("counsellor")
    case = make_case(make_user("counsellor", team=me.team))
    assert form_post(client, f"/break-glass/case/{case.id}", {"reason": REASON}).status_code == 302
    _write_note(client, case, "Under the grant")
    assert verify_chain().ok
    db.session.execute(update(AuditEvent).where(AuditEvent.action == "create", AuditEvent.grant_id.is_not(None))
                       .values(grant_id=None))
    db.session.commit()
    report = verify_chain()
    assert not report.ok and "does not match its hash" in report.problem
