"""Communication: signed contact notes; clinical notes never reach social workers (read, search,
$everything), drafts are not served, an addendum names its note, another team's notes are 404, and
reads are audited."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from carecycle.audit import AuditEvent
from casework.service import notes as note_service
from tests.fhir.helpers import bearer, entries, get


def _note(user, case, kind, body, sign=True):
    return note_service.create_note(user, case, {"kind": kind, "mode": "phone", "duration_minutes": 15,
                                                 "body": body}, sign=sign)


@pytest.fixture
def noted(db, make_user, make_client, make_case):
    counsellor = make_user("counsellor")
    social = make_user("social_worker", team=counsellor.team)
    person = make_client(counsellor.team, counsellor, full_name="Lam Siu Ming")
    case = make_case(counsellor, person, social_worker=social)
    clinical = _note(counsellor, case, "clinical", "Low mood, sleeping four hours")
    casework = _note(social, case, "casework", "Rent arrears: called the landlord")
    draft = _note(counsellor, case, "casework", "Not finished yet", sign=False)
    db.session.flush()
    addendum = note_service.add_addendum(counsellor, clinical, "Correction: five hours")
    db.session.commit()
    return counsellor, social, person, clinical, casework, draft, addendum


def test_a_counsellor_reads_both_kinds_signed_only(client, db, noted):
    counsellor, _social, person, clinical, casework, draft, addendum = noted
    headers = bearer(counsellor, db)
    found = {r["id"]: r for r in entries(get(client, "Communication", headers=headers, patient=str(person.id)))}
    assert set(found) == {str(clinical.id), str(casework.id), str(addendum.id)}  # the draft is not served
    assert found[str(clinical.id)]["payload"][0]["contentString"] == "Low mood, sleeping four hours"
    assert found[str(clinical.id)]["category"][0]["coding"][0]["code"] == "clinical"
    assert found[str(clinical.id)]["medium"][0]["coding"][0]["code"] == "phone"
    assert found[str(addendum.id)]["partOf"] == [{"reference": f"Communication/{clinical.id}"}]
    get(client, f"Communication/{draft.id}", headers=headers, status=404)
    only = entries(get(client, "Communication", headers=headers, patient=str(person.id), category="casework"))
    assert [r["id"] for r in only] == [str(casework.id)]
    get(client, "Communication", headers=headers, category="secret", status=400)
    events = {(e.object_type, e.object_id) for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.actor_id == counsellor.id, AuditEvent.action == "view"))}
    assert ("contact_note", str(clinical.id)) in events


def test_a_social_worker_never_receives_a_clinical_note(client, db, noted):
    _counsellor, social, person, clinical, casework, _draft, addendum = noted
    headers = bearer(social, db)
    get(client, f"Communication/{clinical.id}", headers=headers, status=404)
    get(client, f"Communication/{addendum.id}", headers=headers, status=404)
    found = entries(get(client, "Communication", headers=headers, patient=str(person.id)))
    assert [r["id"] for r in found] == [str(casework.id)]
    assert entries(get(client, "Communication", headers=headers, category="clinical")) == []
    everything = entries(get(client, f"Patient/{person.id}/$everything", headers=headers))
    notes = [r["id"] for r in everything if r["resourceType"] == "Communication"]
    assert notes == [str(casework.id)]


def test_another_team_and_roles_without_cases_get_nothing(client, db, noted, make_user):
    _counsellor, _social, person, clinical, _casework, _draft, _addendum = noted
    get(client, f"Communication/{clinical.id}", headers=bearer(make_user("counsellor", team="elsewhere"), db),
        status=404)
    get(client, f"Communication/{clinical.id}", headers=bearer(make_user("admin"), db), status=403)
    get(client, "Communication", status=401)
