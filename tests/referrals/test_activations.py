"""The activation board (emergency operation) and the after-action review: agreements in force with
whom to call, a call recorded through its page's form (what was promised), the outcome (what
arrived) with its rules and optimistic locking, reserves drawn in the period, switching back keeping
the record for the review; who may see and do what, encryption and audit."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from carecycle.audit import AuditEvent
from carecycle.localtime import today as local_today
from carecycle.mode import switch_mode
from carecycle.validation import Invalid
from referrals.models import Activation
from referrals.service import activations as service
from referrals.service import agreements, reserves
from tests.conftest import form_post
from tests.htmlform import submit


@pytest.fixture
def agreement(db, make_org):
    org = make_org(name="Harbour Hostel")
    today = local_today()
    row = agreements.create_agreement(None, org, {
        "title": "Shelter memorandum", "valid_from": (today - timedelta(days=30)).isoformat(),
        "valid_to": (today + timedelta(days=300)).isoformat(),
        "commitments": [{"side": "partner", "quantity": 10, "unit": "beds", "what": "shelter"},
                        {"side": "service", "quantity": 2, "unit": "counsellors", "what": "on site"},
                        {"side": "partner", "quantity": 200, "unit": "meals", "what": "hot meals"}],
        "contacts": [{"name": "Mr Chan", "phone": "5550 2001", "role": "duty manager"}]})
    db.session.commit()
    return row


def _emergency(make_user, team=None):
    supervisor = make_user("supervisor", team=team) if team is not None else make_user("supervisor")
    switch_mode("emergency", supervisor, "Typhoon signal 8")
    from carecycle.extensions import db
    db.session.commit()
    return supervisor


def _call(user, agreement, **changes):
    data = {"agreement_id": str(agreement.id), "commitment": "0", "contact": "Mr Chan, 5550 2001", "promised": 10}
    data.update(changes)
    row = service.record_call(user, data)
    from carecycle.extensions import db
    db.session.commit()
    return row


# ------------------------------------------------------------------ rules
def test_nothing_is_activated_in_normal_operation(db, make_user, agreement):
    worker = make_user("social_worker")
    with pytest.raises(Invalid) as refused:
        service.record_call(worker, {"agreement_id": str(agreement.id), "commitment": "0", "contact": "Mr Chan",
                                     "promised": 10})
    assert "normal operation" in refused.value.fields["agreement_id"]
    assert db.session.scalar(select(Activation.id)) is None


@pytest.mark.parametrize(("changes", "field"), [
    ({"commitment": "1"}, "commitment"),       # the service's own commitment is not called in
    ({"commitment": "7"}, "commitment"),
    ({"agreement_id": "not-an-id"}, "agreement_id"),
    ({"contact": "  "}, "contact"),
    ({"promised": -1}, "promised"),
    ({"promised": "many"}, "promised"),
    ({"promised": None}, "promised"),
])
def test_a_bad_call_is_refused_naming_the_field(db, make_user, agreement, changes, field):
    worker = make_user("social_worker")
    _emergency(make_user)
    with pytest.raises(Invalid) as refused:
        _call(worker, agreement, **changes)
    assert field in refused.value.fields
    assert db.session.scalar(select(Activation.id)) is None


def test_an_expired_agreement_is_not_on_the_board(db, make_user, agreement):
    agreement.valid_to = local_today() - timedelta(days=1)
    db.session.commit()
    _emergency(make_user)
    assert agreement not in service.agreements_in_force()
    with pytest.raises(Invalid):
        _call(make_user("social_worker"), agreement)


def test_a_call_belongs_to_the_period_and_its_outcome_is_recorded(db, make_user, agreement):
    worker = make_user("social_worker")
    supervisor = _emergency(make_user)
    row = _call(worker, agreement, note="Arrives 18:00 at the sports centre")
    assert (row.status, row.promised, row.what, row.period_id) == ("promised", 10, "10 beds shelter",
                                                                   service.current_period().id)
    with pytest.raises(Invalid) as refused:
        service.record_outcome(worker, row, {"status": "partly", "arrived": 10}, row.version)
    assert "arrived" in refused.value.fields
    with pytest.raises(Invalid):
        service.record_outcome(worker, row, {"status": "promised"}, row.version)
    service.record_outcome(worker, row, {"status": "partly", "arrived": 6, "note": "Four beds had no linen"},
                           row.version)
    db.session.commit()
    assert (row.status, row.arrived) == ("partly", 6)
    assert row.note == "Arrives 18:00 at the sports centre\nFour beds had no linen"
    declined = _call(worker, agreement, commitment="2", promised=0, contact="Kitchen, 5550 2002")
    assert (declined.status, declined.arrived) == ("declined", 0)
    # switching back keeps the record for the review; nothing new is recorded
    switch_mode("normal", supervisor, "Signal lowered")
    db.session.commit()
    assert service.current_period() is None
    [period] = service.periods()
    assert period.ended_at is not None
    review = service.review(worker, period)
    assert {a.id for a in review.failed} == {row.id, declined.id} and review.arrived == []
    assert service.period_counts(worker) == {period.id: (2, 2)}
    with pytest.raises(Invalid):
        _call(worker, agreement)


def test_reserves_drawn_in_the_period_are_counted_for_the_review(db, make_user, agreement):
    worker = make_user("social_worker")
    item = reserves.create_item(worker, {"level": "service", "kind": "equipment", "name": "Camp beds", "unit": "beds",
                                         "quantity": 15})
    reserves.record_movement(worker, item, {"kind": "drawn", "quantity": 2})  # before the emergency
    db.session.commit()
    supervisor = _emergency(make_user)
    reserves.record_movement(worker, item, {"kind": "drawn", "quantity": 5})
    reserves.record_movement(worker, item, {"kind": "received", "quantity": 3})
    db.session.commit()
    assert service.reserves_drawn(worker, service.current_period().started_at) == [(item, 5)]
    switch_mode("normal", supervisor, "Over")
    db.session.commit()
    reserves.record_movement(worker, item, {"kind": "drawn", "quantity": 1})  # after it
    db.session.commit()
    assert service.review(worker, service.periods()[0]).reserves == [(item, 5)]


def test_contacts_and_notes_are_encrypted_and_calls_audited(db, make_user, agreement):
    worker = make_user("social_worker")
    _emergency(make_user)
    row = _call(worker, agreement, note="Ask for Mrs Wong at the gate")
    service.record_outcome(worker, row, {"status": "arrived"}, row.version)
    db.session.commit()
    stored = db.session.execute(text("SELECT contact, note FROM agreement_activation")).one()
    assert "Chan" not in str(stored[0]) and "Wong" not in str(stored[1])
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "activation",
                                                         AuditEvent.object_id == str(row.id))).all()
    assert sorted((e.action, e.reason) for e in events) == [("create", "promised"), ("update", "arrived")]


# ------------------------------------------------------------------ pages
def test_the_board_in_normal_operation_says_so(client, db, login_as, agreement):
    login_as("social_worker")
    page = client.get("/activation").get_data(as_text=True)
    assert "The service is in normal operation" in page and "Harbour Hostel" not in page
    response = client.get(f"/activation/call?agreement_id={agreement.id}&commitment=0")
    assert response.status_code == 302 and response.headers["Location"] == "/activation"
    assert "activations are recorded in emergency operation only" in client.get("/activation").get_data(as_text=True)


def test_a_call_and_its_outcome_through_the_pages(client, db, login_as, make_user, agreement):
    worker = login_as("social_worker")
    _emergency(make_user, team=worker.team)
    board = client.get("/activation")
    page = board.get_data(as_text=True)
    assert "Typhoon signal 8" in page and "Harbour Hostel" in page and "5550 2001" in page
    assert "2 counsellors on site" not in page  # what the service itself commits is not called in
    link = f"/activation/call?agreement_id={agreement.id}&amp;commitment=0"
    assert link in page
    form_page = client.get(link.replace("&amp;", "&"))
    assert 'value="10"' in form_page.get_data(as_text=True)  # what the agreement commits
    refused = submit(client, form_page, "Record the call", {"Whom you called": ""})
    assert refused.status_code == 400 and "Say whom you called" in refused.get_data(as_text=True)
    assert db.session.scalar(select(Activation.id)) is None
    response = submit(client, form_page, "Record the call", {"Whom you called": "Mr Chan, duty manager",
                                                             "How many they promised": "8"})
    assert response.status_code == 302 and response.headers["Location"] == "/activation"
    row = db.session.scalar(select(Activation))
    assert (row.promised, row.contact, row.called_by_id, row.team_id) == (8, "Mr Chan, duty manager", worker.id,
                                                                         worker.team_id)
    assert "Promised, not arrived yet" in client.get("/activation").get_data(as_text=True)

    detail = client.get(f"/activation/{row.id}")
    refused = submit(client, detail, "Record", {"What happened": "partly", "How many arrived": "9"})
    assert refused.status_code == 400 and "fewer than the 8 promised" in refused.get_data(as_text=True)
    response = submit(client, detail, "Record", {"What happened": "partly", "How many arrived": "5",
                                                 "Note (optional)": "Three beds short"})
    assert response.status_code == 302
    db.session.expire_all()
    assert (db.session.get(Activation, row.id).status, db.session.get(Activation, row.id).arrived) == ("partly", 5)
    # the page opened before that change is stale: refused, not applied
    stale = submit(client, detail, "Record", {"What happened": "arrived"})
    assert stale.status_code == 409
    db.session.expire_all()
    assert db.session.get(Activation, row.id).status == "partly"


def test_the_after_action_review_lists_what_failed_to_arrive(client, db, login_as, make_user, agreement):
    worker = login_as("social_worker")
    supervisor = _emergency(make_user, team=worker.team)
    failed = _call(worker, agreement)
    arrived = _call(worker, agreement, commitment="2", promised=200, contact="Kitchen")
    service.record_outcome(worker, arrived, {"status": "arrived"}, arrived.version)
    switch_mode("normal", supervisor, "Signal lowered")
    db.session.commit()
    assert "The service is in normal operation" in client.get("/activation").get_data(as_text=True)
    reviews = client.get("/activation/reviews").get_data(as_text=True)
    [period] = service.periods()
    assert "Typhoon signal 8" in reviews and f"/activation/reviews/{period.id}" in reviews
    page = client.get(f"/activation/reviews/{period.id}").get_data(as_text=True)
    failed_part, arrived_part = page.split('id="review-failed"')[1].split('id="review-arrived"')
    assert "10 beds shelter" in failed_part and "Promised, not arrived yet" in failed_part
    assert "200 meals hot meals" in arrived_part.split('id="review-reserves"')[0]
    # an outcome recorded late (after the emergency) goes back to the review
    response = submit(client, f"/activation/{failed.id}", "Record", {"What happened": "not_arrived"})
    assert response.status_code == 302 and response.headers["Location"] == f"/activation/reviews/{period.id}"
    assert client.get("/activation/reviews/not-a-period").status_code == 404


# ------------------------------------------------------------------ who
@pytest.mark.parametrize("role", ["counsellor", "admin", "resident"])
def test_other_roles_cannot_reach_the_board(client, db, login_as, make_user, agreement, role):
    _emergency(make_user)
    row = _call(make_user("social_worker"), agreement)
    login_as(role)
    for path in ("/activation", "/activation/reviews", f"/activation/{row.id}",
                 f"/activation/call?agreement_id={agreement.id}&commitment=0"):
        assert client.get(path).status_code == 403, path
    response = form_post(client, f"/activation/{row.id}/outcome", {"status": "arrived", "version": row.version},
                         page="/")
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(Activation, row.id).status == "promised"


def test_another_teams_activation_is_not_found_and_not_listed(client, db, login_as, make_user, agreement):
    theirs = make_user("social_worker", team="b")
    _emergency(make_user)
    row = _call(theirs, agreement)
    login_as("social_worker")
    assert client.get(f"/activation/{row.id}").status_code == 404
    assert "Mr Chan, 5550 2001" not in client.get("/activation").get_data(as_text=True)
    response = form_post(client, f"/activation/{row.id}/outcome", {"status": "arrived", "version": row.version},
                         page="/activation")
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(Activation, row.id).status == "promised"


def test_an_account_held_for_a_supervisor_is_refused_the_board(client, db, login_as, make_user, agreement):
    _emergency(make_user)
    login_as("social_worker", access_pending=True)
    assert client.get("/activation").status_code == 403
    assert client.get(f"/activation/call?agreement_id={agreement.id}&commitment=0").status_code == 403


def test_the_demo_replays_a_past_emergencys_calls_for_its_review(client, db):
    from carecycle.accounts.models import User
    from carecycle.demo import DEMO_PASSWORD, load_demo
    from supervision.models import AfterActionReview
    said: list[str] = []
    load_demo(said.append)
    load_demo(said.append)
    assert said.count("referrals demo: 3 activations of partner agreements in the past emergency") == 1
    [period] = service.periods()
    assert period.ended_at is not None and service.current_period() is None
    worker = db.session.scalar(select(User).where(User.username == "socialworker"))
    review = service.review(worker, period)
    assert len(review.activations) == 3 and len(review.failed) == 2 and len(review.arrived) == 1
    assert all(period.started_at <= a.called_at <= period.ended_at for a in review.activations)
    assert [(item.name, out) for item, out in review.reserves] == [("Camp beds", 6)]
    # the supervisor's written review of the period shows the team's activations and links to them
    supervisor = db.session.scalar(select(User).where(User.username == "supervisor"))
    written = db.session.scalar(select(AfterActionReview))
    from tests.conftest import sign_in
    assert sign_in(client, supervisor.username, DEMO_PASSWORD).status_code == 302
    page = client.get(f"/supervision/reviews/{written.id}").get_data(as_text=True)
    assert "Activations by your team: 3; failed to arrive in full: 2." in page
    assert f"/activation/reviews/{period.id}" in page and "Did not arrive" in page


# ------------------------------------------------------------------ API
def _api(client, bearer, user, method, path, **kwargs):
    return client.open("/api/v1" + path, method=method, headers=bearer(user), **kwargs)


def test_the_api_records_a_call_and_its_outcome_and_lists_the_periods(client, db, make_user, bearer, agreement):
    worker = make_user("social_worker")
    body = {"agreement_id": str(agreement.id), "commitment": 0, "contact": "Mr Chan", "promised": 10}
    refused = _api(client, bearer, worker, "POST", "/activations", json=body)
    assert refused.status_code == 422 and "normal operation" in refused.get_json()["error"]["fields"]["agreement_id"]
    assert _api(client, bearer, worker, "GET", "/activations").get_json() == {"period": None, "activations": [],
                                                                               "failed": []}
    supervisor = _emergency(make_user, team=worker.team)
    created = _api(client, bearer, worker, "POST", "/activations", json=body)
    assert created.status_code == 201, created.get_json()
    row = created.get_json()
    assert (row["status"], row["promised"], row["what"], row["contact"]) == ("promised", 10, "10 beds shelter",
                                                                             "Mr Chan")
    bad = _api(client, bearer, worker, "POST", "/activations", json={**body, "commitment": 1, "promised": -2})
    assert bad.status_code == 422 and {"commitment", "promised"} <= set(bad.get_json()["error"]["fields"])
    unknown = _api(client, bearer, worker, "POST", "/activations", json={**body, "surprise": 1})
    assert unknown.status_code == 422
    path = f"/activations/{row['id']}/outcome"
    stale = _api(client, bearer, worker, "POST", path, json={"status": "arrived", "version": row["version"] + 5})
    assert stale.status_code == 409
    partly = _api(client, bearer, worker, "POST", path, json={"status": "partly", "arrived": 4,
                                                             "version": row["version"]})
    assert partly.status_code == 200 and (partly.get_json()["status"], partly.get_json()["arrived"]) == ("partly", 4)
    listing = _api(client, bearer, worker, "GET", "/activations").get_json()
    assert [a["id"] for a in listing["activations"]] == [row["id"]] and listing["failed"] == [row["id"]]
    assert listing["period"]["ended_at"] is None
    switch_mode("normal", supervisor, "Over")
    db.session.commit()
    periods = _api(client, bearer, worker, "GET", "/activations/periods").get_json()["periods"]
    assert [(p["id"], p["activations"], p["failed"]) for p in periods] == [(listing["period"]["id"], 1, 1)]
    assert periods[0]["ended_at"] is not None
    assert _api(client, bearer, worker, "GET", f"/activations?period_id={periods[0]['id']}").status_code == 200
    assert _api(client, bearer, worker, "GET", "/activations?period_id=nope").status_code == 404
    assert _api(client, bearer, worker, "GET", f"/activations/{row['id']}").get_json()["arrived"] == 4


@pytest.mark.parametrize("role", ["counsellor", "admin"])
def test_the_api_refuses_other_roles_and_other_teams(client, db, make_user, bearer, agreement, role):
    worker = make_user("social_worker")
    _emergency(make_user)
    row = _call(worker, agreement)
    other = make_user(role)
    assert _api(client, bearer, other, "GET", "/activations").status_code == 403
    assert _api(client, bearer, other, "POST", f"/activations/{row.id}/outcome",
                json={"status": "arrived"}).status_code == 403
    stranger = make_user("social_worker", team="elsewhere")
    assert _api(client, bearer, stranger, "GET", f"/activations/{row.id}").status_code == 404
    assert _api(client, bearer, stranger, "POST", f"/activations/{row.id}/outcome",
                json={"status": "arrived"}).status_code == 404
    held = make_user("social_worker", access_pending=True)
    assert _api(client, bearer, held, "GET", "/activations").status_code == 403
    assert _api(client, bearer, held, "POST", "/activations", json={
        "agreement_id": str(agreement.id), "commitment": 0, "contact": "Mr Chan", "promised": 1}).status_code == 403
    db.session.expire_all()
    assert db.session.get(Activation, row.id).status == "promised"
    assert db.session.scalar(select(Activation.id).where(Activation.id != row.id)) is None
