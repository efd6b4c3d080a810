"""AuditEvent: supervisors read their own team's audit trail (break-glass events carry the
emergency-access purpose of use); nobody else reads it, and the reading is itself audited."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from carecycle.audit import AuditEvent, act_under_grant, record_event
from tests.fhir.helpers import bearer, entries, get


@pytest.fixture
def trail(app, db, make_user, make_team):
    """A supervisor, a counsellor of the team and one of another team, with events by each."""
    supervisor = make_user("supervisor")
    counsellor = make_user("counsellor")
    outsider = make_user("counsellor", team=make_team())
    client_id = str(uuid.uuid4())
    with app.test_request_context():
        record_event("view", "client", client_id, actor=counsellor)
        act_under_grant(counsellor, "11111111-2222-3333-4444-555555555555")
        record_event("update", "case", str(uuid.uuid4()), actor=counsellor)
        record_event("view", "client", client_id, actor=outsider)
    db.session.commit()
    return supervisor, counsellor, outsider, client_id


def _events(client, headers, **params):
    return entries(get(client, "AuditEvent", headers=headers, **params))


def test_a_supervisor_reads_the_events_of_their_team_only(client, db, trail):
    supervisor, counsellor, outsider, client_id = trail
    headers = bearer(supervisor, db)
    events = _events(client, headers, _count="100")
    actors = {e["agent"][0]["who"]["display"] for e in events}
    assert counsellor.username in actors and outsider.username not in actors
    about = _events(client, headers, patient=f"Patient/{client_id}")
    assert len(about) == 1 and about[0]["entity"][0]["what"]["reference"] == f"Patient/{client_id}"
    assert about[0]["action"] == "R" and about[0]["outcome"] == "0"
    assert about[0]["subtype"][0]["code"] == "view"
    one = get(client, f"AuditEvent/{about[0]['id']}", headers=headers)
    assert one["id"] == about[0]["id"]
    theirs = db.session.scalar(select(AuditEvent.seq).where(AuditEvent.actor_id == outsider.id))
    get(client, f"AuditEvent/{theirs}", headers=headers, status=404)  # another team's: as if absent
    get(client, "AuditEvent/not-a-number", headers=headers, status=404)


def test_break_glass_events_carry_the_emergency_access_purpose(client, db, trail):
    supervisor, counsellor, _outsider, _client_id = trail
    under_grant = _events(client, bearer(supervisor, db), purpose="BTG")
    assert [e["subtype"][0]["code"] for e in under_grant] == ["update"]
    assert under_grant[0]["purposeOfEvent"][0]["coding"][0]["code"] == "BTG"
    assert under_grant[0]["entity"][0]["what"]["reference"].startswith("EpisodeOfCare/")
    ordinary = _events(client, bearer(supervisor, db), subtype="view")
    assert ordinary and all("purposeOfEvent" not in e for e in ordinary)


@pytest.mark.parametrize("query", [{"purpose": "TREAT"}, {"subtype": "nothing"}, {"patient": "Group/1"}])
def test_bad_search_values_answer_400(client, db, trail, query):
    get(client, "AuditEvent", headers=bearer(trail[0], db), status=400, **query)


@pytest.mark.parametrize("role", ["counsellor", "social_worker", "admin", "resident"])
def test_no_other_role_reads_the_audit_trail(client, db, trail, make_user, role):
    headers = bearer(make_user(role), db)
    get(client, "AuditEvent", headers=headers, status=403)
    seq = db.session.scalar(select(func.max(AuditEvent.seq)))
    get(client, f"AuditEvent/{seq}", headers=headers, status=403)


def test_reading_the_trail_is_audited(client, db, trail):
    supervisor = trail[0]
    headers = bearer(supervisor, db)
    before = db.session.scalar(select(func.count()).select_from(AuditEvent)
                               .where(AuditEvent.actor_id == supervisor.id, AuditEvent.object_type == "audit_log"))
    _events(client, headers)
    db.session.expire_all()
    after = db.session.scalar(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.actor_id == supervisor.id, AuditEvent.object_type == "audit_log"))
    assert after == before + 1
