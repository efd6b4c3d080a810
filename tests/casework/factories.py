"""Casework factories: clients and cases in a team, assigned as asked."""
from datetime import timedelta

import pytest

from carecycle.database import utcnow
from casework.models import Client, RegisterEntry
from casework.service import cases as case_service
from casework.service import register as register_service


@pytest.fixture
def make_client(db):
    def factory(team, created_by=None, **fields) -> Client:
        client = Client(team_id=team.id, created_by_id=created_by.id if created_by else None)
        fields.setdefault("full_name", "Alex Example")
        for name, value in fields.items():
            setattr(client, name, value)
        db.session.add(client)
        db.session.commit()
        return client
    return factory


@pytest.fixture
def make_case(db, make_client):
    def factory(counsellor, client=None, *, risk_level="moderate", source="walk_in", social_worker=None):
        client = client or make_client(counsellor.team, counsellor)
        case = case_service.open_case(counsellor, client, risk_level=risk_level, source=source)
        if social_worker is not None:
            case.assigned_social_worker_id = social_worker.id
        db.session.commit()
        return case
    return factory


@pytest.fixture
def put_on(db):
    """Put a client on the register through the service, optionally with its clock `days` ago."""
    def add(user, person, tier="yellow", flags=("bereaved",), days=None, **extra) -> RegisterEntry:
        entry = register_service.add_to_register(user, person, {"tier": tier, "flags": list(flags), **extra})
        if days is not None:
            entry.created_at = entry.due_from = utcnow() - timedelta(days=days)
        db.session.commit()
        return entry
    return add
