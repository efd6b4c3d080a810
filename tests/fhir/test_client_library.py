"""A real FHIR client library (fhirpy) against the real server (gunicorn, as `make run` starts it) on
the test database: a counsellor finds the Patient by identifier, reads the EpisodeOfCare, follows the
references to the referral's Task and its focus ServiceRequest, and reads the screening's
QuestionnaireResponse; then the partner organisation's system, with its own token, moves the Task
received -> accepted -> in-progress -> completed with an output note, through fhirpy's patch, save
(PUT) and client.patch. Everything fhirpy returns is valid R4B; the database has the moves, each on
the referral's and the case's timeline."""
from __future__ import annotations

import uuid

import pytest
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import ForbiddenError, OperationOutcome, ResourceNotFound
from sqlalchemy import select

from carecycle.accounts.service import create_token
from casework.models import CaseEvent
from casework.service import outcomes
from referrals.models import Referral, ReferralEvent
from tests.casework.recovery_helpers import phq9
from tests.fhir.helpers import validate
from tests.served import gunicorn

PERSON = {"full_name": "Wong Siu Ming", "preferred_name": "Ming", "phone": "5123 4567", "id_number": "A1234567"}
OUTCOME = "Four visits; joins the Tuesday group."


@pytest.fixture
def world(db, runner, make_user, make_client, make_case, make_org, make_service, make_referral):
    counsellor = make_user("counsellor")
    case = make_case(counsellor, client=make_client(counsellor.team, counsellor, **PERSON))
    org = make_org(3, name="Harbour Home Visits")
    referral = make_referral(counsellor, "sent", case=case, service=make_service(org, name="Home visits"),
                             share=("preferred_name", "phone"), reason="Weekly home visits; she is lonely.")
    screening, _outcome, _alert = outcomes.record_screening(counsellor, case, "phq9", phq9(12), language="en")
    staff_token = create_token(counsellor)
    db.session.commit()
    created = runner.invoke(args=["tokens", "create", "--partner", str(org.id)])
    assert created.exit_code == 0, created.output
    # plain ids: the server fixture ends the test's session before gunicorn starts
    return {"client_id": str(case.client_id), "case_id": str(case.id), "org_id": str(org.id),
            "referral_id": str(referral.id), "screening_id": str(screening.id), "staff_token": staff_token,
            "partner_token": created.output.strip()}


@pytest.fixture
def server(app, db, tmp_path, world):
    """gunicorn serving the test database (the data committed first) with the test app's keys."""
    db.session.commit()
    db.session.remove()
    with gunicorn(app, tmp_path) as base:
        yield base + "/fhir/R4"
        # the test's reads end before the server stops: on SQLite an open read would keep the
        # exiting worker's heartbeat write waiting for the lock
        db.session.remove()


def _valid(resource) -> dict:
    """What fhirpy returned, as JSON, validated with the R4B model of its type."""
    return validate(resource.serialize())


def test_a_counsellor_follows_the_references_with_fhirpy(server, world):
    fhir = SyncFHIRClient(server, authorization=f"Bearer {world['staff_token']}")
    capability = fhir.execute("metadata", method="get")
    assert validate(dict(capability))["resourceType"] == "CapabilityStatement"

    patients = fhir.resources("Patient").search(identifier=PERSON["id_number"]).fetch_all()
    assert [p.id for p in patients] == [world["client_id"]]
    patient = patients[0]
    assert _valid(patient)["name"][0]["text"] == PERSON["full_name"]
    assert _valid(patient.to_reference().to_resource())["id"] == patient.id  # read by id

    episodes = fhir.resources("EpisodeOfCare").search(patient=patient.to_reference()).fetch_all()
    assert [e.id for e in episodes] == [world["case_id"]]
    episode = episodes[0]
    _valid(episode)
    assert episode["patient"]["reference"] == f"Patient/{patient.id}"
    assert _valid(fhir.reference(reference=episode["patient"]["reference"]).to_resource())["id"] == patient.id

    tasks = fhir.resources("Task").search(patient=patient.to_reference()).fetch_all()
    assert [t.id for t in tasks] == [world["referral_id"]]
    task = _valid(tasks[0])
    assert task["status"] == "requested" and task["owner"]["reference"] == f"Organization/{world['org_id']}"
    request = fhir.reference(reference=tasks[0]["focus"]["reference"]).to_resource()
    assert _valid(request)["resourceType"] == "ServiceRequest" and request.id == world["referral_id"]
    assert request["subject"]["reference"] == f"Patient/{patient.id}"
    assert request["reasonCode"][0]["text"].startswith("Weekly home visits")
    owner = fhir.reference(reference=tasks[0]["owner"]["reference"]).to_resource()
    assert _valid(owner)["name"] == "Harbour Home Visits"

    # the screening recorded on the case: its answers, and the total derived from them
    responses = fhir.resources("QuestionnaireResponse").search(patient=f"Patient/{patient.id}").fetch_all()
    assert [r.id for r in responses] == [world["screening_id"]]
    response = _valid(responses[0])
    assert response["status"] == "completed" and response["subject"]["reference"] == f"Patient/{patient.id}"
    assert len(response["item"]) == 9
    observations = fhir.resources("Observation").search(patient=f"Patient/{patient.id}").fetch_all()
    assert observations and all(_valid(o)["subject"]["reference"] == f"Patient/{patient.id}" for o in observations)
    assert any(ref["reference"] == f"QuestionnaireResponse/{responses[0].id}"
               for o in observations for ref in o.get("derivedFrom", []))

    everything = fhir.execute(f"Patient/{patient.id}/$everything", method="get")
    kinds = [entry["resource"]["resourceType"] for entry in validate(everything)["entry"]]
    assert {"Patient", "EpisodeOfCare", "ServiceRequest", "Task", "QuestionnaireResponse"} <= set(kinds)


def test_the_partner_closes_the_loop_with_fhirpy(db, server, world):
    rid = world["referral_id"]
    fhir = SyncFHIRClient(server, authorization=f"Bearer {world['partner_token']}")
    tasks = fhir.resources("Task").fetch_all()
    assert [t.id for t in tasks] == [rid]
    task = tasks[0]
    assert _valid(task)["status"] == "requested"
    with pytest.raises(ForbiddenError):
        fhir.resources("Patient").search(identifier=PERSON["id_number"]).fetch()
    with pytest.raises(OperationOutcome):  # 409: accepted must follow received
        fhir.patch("Task", rid, status="accepted")

    task.patch(status="received")                       # PATCH {"status": ...}
    assert _valid(task)["status"] == "received"
    task = fhir.reference("Task", rid).to_resource()    # read again, change, PUT the whole Task back
    task["status"] = "accepted"
    task.save()
    assert _valid(task)["status"] == "accepted"
    moved = fhir.patch("Task", rid, status="in-progress")  # client.patch
    assert validate(dict(moved))["status"] == "in-progress"
    task = fhir.reference("Task", rid).to_resource()
    task.patch(status="completed", output=[{"type": {"text": "Outcome"}, "valueString": OUTCOME}])
    done = _valid(task)
    assert done["status"] == "completed" and done["output"][0]["valueString"] == OUTCOME
    assert _valid(fhir.reference("Task", rid).to_resource())["status"] == "completed"
    assert _valid(fhir.reference("ServiceRequest", rid).to_resource())["status"] == "completed"
    with pytest.raises(ResourceNotFound):
        fhir.reference("Task", "00000000-0000-0000-0000-000000000000").to_resource()

    db.session.expire_all()
    stored = db.session.get(Referral, uuid.UUID(rid))
    assert stored.status == "completed" and stored.outcome == OUTCOME and stored.finished_at is not None
    events = db.session.scalars(select(ReferralEvent).where(ReferralEvent.referral_id == stored.id,
                                                            ReferralEvent.via_partner_link.is_(True))
                                .order_by(ReferralEvent.at)).all()
    assert [(e.from_status, e.to_status) for e in events] == [
        ("sent", "acknowledged"), ("acknowledged", "accepted"), ("accepted", "in_service"),
        ("in_service", "completed")]
    assert events[-1].note == OUTCOME
    timeline = [e.kind for e in db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == stored.case_id)
                                                   .order_by(CaseEvent.at))]
    moves = [kind for kind in timeline if kind in ("referral_acknowledged", "referral_accepted",
                                                    "referral_in_service", "referral_completed")]
    assert moves == ["referral_acknowledged", "referral_accepted", "referral_in_service", "referral_completed"]
