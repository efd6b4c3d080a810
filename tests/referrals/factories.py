"""Referral factories: organisations and services of the directory, referrals moved to any status."""
import pytest

from carecycle.accounts.service import create_token
from casework.service import clients as client_service
from referrals.service import directory
from referrals.service import referrals as referral_service

OFFICE = [{"byday": "MO,TU,WE,TH,FR", "opens_at": "09:00", "closes_at": "17:00"}]

# How to reach each status from a draft (status, extra arguments).
PATHS = {
    "draft": [],
    "sent": [("sent", {})],
    "acknowledged": [("sent", {}), ("acknowledged", {})],
    "accepted": [("sent", {}), ("acknowledged", {}), ("accepted", {})],
    "declined": [("sent", {}), ("acknowledged", {}), ("declined", {"note": "No places left this month."})],
    "in_service": [("sent", {}), ("acknowledged", {}), ("accepted", {}), ("in_service", {})],
    "completed": [("sent", {}), ("acknowledged", {}), ("accepted", {}), ("in_service", {}),
                  ("completed", {"note": "Six sessions attended; sleeping better."})],
    "closed": [("sent", {}), ("closed", {"close_reason": "withdrawn"})],
}


@pytest.fixture
def make_org(db):
    def factory(tier=3, **fields):
        data = {"name": fields.pop("name", f"Org tier {tier}"), "tier": str(tier), "description": "Helps people."}
        data.update(fields)
        org = directory.create_organisation(None, data)
        db.session.commit()
        return org
    return factory


@pytest.fixture
def make_service(db, make_org):
    def factory(org=None, tier=3, **fields):
        org = org or make_org(tier)
        data = {"name": fields.pop("name", "Counselling service"), "description": "Talks with people.",
                "status": "active", "capacity": "open", "phones": [{"number": "555-0100", "type": "voice"}],
                "schedules": OFFICE, "languages": ["en"], "types": ["counselling"]}
        data.update(fields)
        service = directory.create_service(None, org, data)
        db.session.commit()
        return service
    return factory


@pytest.fixture
def consent(db):
    def give(client, by):
        client_service.record_consent(by, client, "referral_sharing")
        db.session.commit()
    return give


@pytest.fixture
def make_referral(db, make_case, make_service, consent):
    """A referral from `worker`'s case, moved along the lifecycle to `status` (as the worker)."""
    def factory(worker, status="draft", *, case=None, service=None, tier=3, share=("preferred_name", "phone"),
                risk_level="moderate", with_consent=True, **data):
        case = case or make_case(worker, risk_level=risk_level)
        if with_consent:
            consent(case.client, worker)
        service = service or make_service(tier=tier)
        body = {"service_id": str(service.id), "urgency": "urgent", "reason": "Needs weekly support at home.",
                "share": list(share)}
        body.update(data)
        referral = referral_service.create_referral(worker, case, body)
        for step, extra in PATHS[status]:
            if step == "sent":
                _referral, referral.partner_token = referral_service.send(worker, referral)
            else:
                referral_service.change_status(worker, referral, step, **extra)
        db.session.commit()
        return referral
    return factory


@pytest.fixture
def bearer(db):
    def headers(user):
        token = create_token(user)
        db.session.commit()
        return {"Authorization": f"Bearer {token}"}
    return headers


@pytest.fixture
def make_goal(db):
    """A goal on the case's recovery care plan (made directly: the care-plan pages are casework's)."""
    def factory(case, title="Back to a steady daily routine", status="in_progress"):
        from sqlalchemy import select

        from casework.models import CarePlan, CarePlanGoal
        plan = db.session.scalar(select(CarePlan).where(CarePlan.case_id == case.id))
        if plan is None:
            plan = CarePlan(case_id=case.id, created_by_id=case.assigned_counsellor_id)
            db.session.add(plan)
            db.session.flush()
        goal = CarePlanGoal(plan_id=plan.id, case_id=case.id, domain="social", status=status)
        goal.title = title
        db.session.add(goal)
        db.session.commit()
        return goal
    return factory


CLIENT = {"full_name": "Wong Siu Ming", "preferred_name": "Ming", "phone": "5123 4567",
          "address": "12 Harbour View Lane, Flat 3C", "date_of_birth": "1950-04-02", "id_number": "A1234567",
          "household": "Lives alone", "emergency_contact": "Sister, 6111 2222"}


@pytest.fixture
def sent(db, make_user, make_client, make_case, make_referral):
    """A sent referral sharing only the preferred name and phone, and its partner link's token."""
    worker = make_user("counsellor")
    case = make_case(worker, client=make_client(worker.team, worker, **CLIENT))
    referral = make_referral(worker, "sent", case=case, share=("preferred_name", "phone"),
                             reason="Weekly home visits; she is lonely since her husband died.")
    return referral, referral.partner_token, worker
