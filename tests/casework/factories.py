"""Casework factories: clients and cases in a team, assigned as asked."""
import pytest

from casework.models import Client
from casework.service import cases as case_service


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
