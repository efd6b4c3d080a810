"""A service-wide ceiling on public alert-raising forms (contact requests, inbound referrals): many
addresses at once cannot flood the triage queue unnoticed. Past the ceiling alerts are still stored
and queued, never dropped, but marked as a possible flood for the duty worker."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from carecycle.alerts import Alert
from carecycle.database import utcnow
from referrals.models import InboundReferral
from screening.models import ContactRequest
from tests.conftest import form_post
from tests.referrals.test_inbound import FORM
from tests.test_screening_contact import ask
from tests.test_screening_pages import take_phq9

NOTICE = "Possible flood: many requests arrived at once — check before acting."


@pytest.fixture
def ceiling(app):
    before = app.config["PUBLIC_ALERT_CEILING"]
    app.config["PUBLIC_ALERT_CEILING"] = 3
    yield 3
    app.config["PUBLIC_ALERT_CEILING"] = before


def _refer(app, n):
    """A referral from its own address (a fresh browser each), as an attacker with many addresses."""
    client = app.test_client()
    address = {"REMOTE_ADDR": f"198.51.100.{n}"}
    response = form_post(client, "/refer", dict(FORM, person_name=f"Person {n}"), environ_base=address)
    assert response.status_code == 302, n


def _contact(app, n):
    client = app.test_client()
    location = take_phq9(client, [1] * 8 + [0]).headers["Location"]
    assert ask(client, location, environ_base={"REMOTE_ADDR": f"203.0.113.{n}"}).status_code == 302, n


def test_below_the_ceiling_alerts_are_not_marked(app, db, ceiling):
    _refer(app, 1)
    _contact(app, 2)
    _refer(app, 3)
    alerts = list(db.session.scalars(select(Alert)))
    assert len(alerts) == 3 and all(a.public for a in alerts) and not any(a.possible_flood for a in alerts)


def test_past_the_ceiling_alerts_from_many_addresses_are_stored_and_marked(app, db, ceiling, client, login_as):
    for n in range(1, 5):
        _refer(app, n)
    for n in range(5, 8):
        _contact(app, n)
    db.session.expire_all()
    # nothing dropped: every referral and contact request is stored with its alert on the queue
    assert db.session.scalar(select(func.count(InboundReferral.id))) == 4
    assert db.session.scalar(select(func.count(ContactRequest.id))) == 3
    alerts = list(db.session.scalars(select(Alert).order_by(Alert.created_at)))
    assert len(alerts) == 7 and all(a.state == "open" for a in alerts)
    assert [a.possible_flood for a in alerts] == [False] * 3 + [True] * 4

    login_as("counsellor")
    queue = client.get("/triage").get_data(as_text=True)
    assert queue.count(NOTICE) == 4
    flooded = next(a for a in alerts if a.possible_flood)
    calm = alerts[0]
    assert NOTICE in client.get(f"/triage/{flooded.id}").get_data(as_text=True)
    assert NOTICE not in client.get(f"/triage/{calm.id}").get_data(as_text=True)


def test_the_ceiling_counts_a_window_only(app, db, ceiling):
    for n in range(1, 4):
        _refer(app, n)
    for alert in db.session.scalars(select(Alert)):
        alert.created_at = utcnow() - timedelta(minutes=app.config["PUBLIC_ALERT_WINDOW_MINUTES"] + 1)
    db.session.commit()
    _refer(app, 4)
    newest = db.session.scalar(select(Alert).order_by(Alert.created_at.desc()))
    assert newest.possible_flood is False


def test_staff_raised_alerts_do_not_count(app, db, ceiling):
    from carecycle.alerts import raise_alert
    for _ in range(5):
        raise_alert("hotline", "crisis")
    db.session.commit()
    _refer(app, 1)
    assert db.session.scalar(select(Alert).where(Alert.public.is_(True))).possible_flood is False


def test_the_flood_mark_shows_on_the_alert_lists_my_day_and_the_api(app, db, ceiling, client, runner, login_as):
    """Not only the triage queue: /alerts, the staff home page (My day, also at /my-day) and /api/v1/triage carry it."""
    from casework.service import triage
    for n in range(1, 5):
        _refer(app, n)
    alerts = list(db.session.scalars(select(Alert).order_by(Alert.created_at)))
    flooded = [a for a in alerts if a.possible_flood]
    assert len(flooded) == 1
    worker = login_as("counsellor")
    for alert in alerts:  # unassigned public alerts are on the shared queue: claim them all for My day
        triage.claim(worker, alert)
    db.session.commit()

    assert client.get("/alerts").get_data(as_text=True).count(NOTICE) == 1
    assert client.get("/").get_data(as_text=True).count(NOTICE) == 1
    assert client.get("/my-day").get_data(as_text=True).count(NOTICE) == 1

    token = runner.invoke(args=["tokens", "create", worker.username]).output.strip()
    body = client.get("/api/v1/triage", headers={"Authorization": f"Bearer {token}"}).get_json()
    marks = {a["id"]: a["possible_flood"] for a in body["alerts"]}
    assert marks == {str(a.id): a.possible_flood for a in alerts}
    assert marks[str(flooded[0].id)] is True and list(marks.values()).count(False) == 3
