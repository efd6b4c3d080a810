"""Vulnerable-person register: intervals and emergency halving, filters and overdue, outreach
and the red-tier triage alert, who sees which entry, validation, roles, history, demo data."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from carecycle.alerts import Alert, Urgency
from carecycle.audit import AuditEvent
from carecycle.database import utcnow
from carecycle.mode import switch_mode
from carecycle.validation import Conflict, Invalid
from casework.models import RegisterChange, RegisterEntry, RegisterOutreach
from casework.service import register as service
from tests.conftest import form_post

DAYS = {"red": 7, "orange": 14, "yellow": 30, "green": 90}


def count(db, model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def rows_of(body: str) -> str:
    """The register table's body (so that filter labels and the legend do not count as hits)."""
    match = re.search(r"<tbody>(.*)</tbody>", body, re.S)
    return match.group(1) if match else ""


# Intervals, due dates, emergency mode ------------------------------------------------------------

@pytest.mark.parametrize("tier, days", DAYS.items())
def test_next_outreach_is_due_one_tier_interval_after_adding(db, make_user, make_client, put_on, tier, days):
    worker = make_user("social_worker")
    entry = put_on(worker, make_client(worker.team, worker), tier=tier)
    assert service.next_due(entry) - entry.due_from == timedelta(days=days)
    assert entry.due_from == entry.created_at
    assert not service.is_overdue(entry)


@pytest.mark.parametrize("tier, days", DAYS.items())
def test_intervals_halve_in_emergency_mode(db, make_user, make_client, put_on, tier, days):
    worker = make_user("social_worker")
    # in normal mode, an entry 60% of an interval old is not yet due
    entry = put_on(worker, make_client(worker.team, worker), tier=tier, days=days * 0.6)
    assert not service.is_overdue(entry)
    switch_mode("emergency", make_user("supervisor", team=worker.team), "Typhoon signal 8 for the district")
    db.session.commit()
    assert service.next_due(entry) - entry.due_from == timedelta(days=days) / 2
    assert service.is_overdue(entry)
    overdue = service.list_entries(worker, overdue=True)
    assert [row.entry.id for row in overdue.items] == [entry.id]
    switch_mode("normal", None, "Signal lowered")
    db.session.commit()
    assert service.next_due(entry) - entry.due_from == timedelta(days=days)
    assert service.list_entries(worker, overdue=True).total == 0


def test_emergency_halving_shows_on_the_register_page(client, login_as, make_user, make_client, put_on, db):
    worker = login_as("social_worker")
    put_on(worker, make_client(worker.team, worker), tier="red")
    assert "every 7 days" in client.get("/vulnerable-register").get_data(as_text=True)
    switch_mode("emergency", make_user("supervisor", team=worker.team), "Flooding in the district")
    db.session.commit()
    body = client.get("/vulnerable-register").get_data(as_text=True)
    assert "every 3.5 days" in body and "halved" in body


def test_intervals_come_from_the_app_config(app, db, monkeypatch, make_user, make_client, put_on):
    worker = make_user("social_worker")
    entry = put_on(worker, make_client(worker.team, worker), tier="red")
    monkeypatch.setitem(app.config, "REGISTER_OUTREACH_DAYS", {"red": 3})
    assert service.next_due(entry) - entry.due_from == timedelta(days=3)
    assert service.outreach_days()[service.Tier.GREEN] == 90  # the others keep their defaults
    monkeypatch.setitem(app.config, "REGISTER_OUTREACH_DAYS", "red=2, orange=5")
    assert service.outreach_days()[service.Tier.ORANGE] == 5
    assert service.next_due(entry) - entry.due_from == timedelta(days=2)
    for wrong in ({"purple": 3}, {"red": 0}, {"red": "soon"}, "red:7"):
        monkeypatch.setitem(app.config, "REGISTER_OUTREACH_DAYS", wrong)
        with pytest.raises(ValueError):
            service.outreach_days()


def test_reaching_the_person_restarts_the_clock_and_no_answer_does_not(db, make_user, make_client, put_on):
    worker = make_user("social_worker")
    entry = put_on(worker, make_client(worker.team, worker), tier="red", days=10)
    assert service.is_overdue(entry)
    service.log_outreach(worker, entry, "no_answer", "Tried at 10:00")
    db.session.commit()
    assert service.is_overdue(entry)  # still nobody reached
    assert entry.last_outcome == "no_answer" and entry.last_outreach_at is not None
    row = service.log_outreach(worker, entry, "contacted", "Doing fine")
    db.session.commit()
    assert entry.due_from == row.at and not service.is_overdue(entry)
    assert service.next_due(entry) - row.at == timedelta(days=7)
    # an outreach logged later for an earlier moment does not move the clock back
    service.log_outreach(worker, entry, "visited", None, at=row.at - timedelta(days=1))
    db.session.commit()
    assert entry.due_from == row.at and entry.last_outcome == "contacted"


def test_changing_the_tier_changes_the_due_date(client, login_as, make_client, put_on, db):
    worker = login_as("social_worker")
    entry = put_on(worker, make_client(worker.team, worker), tier="green", days=20)
    assert not service.is_overdue(entry)
    response = form_post(client, f"/vulnerable-register/{entry.id}/edit",
                         {"version": entry.version, "tier": "red", "flags": ["bereaved", "previous_self_harm"],
                          "note": "Found the anniversary very hard"})
    assert response.status_code == 302
    db.session.expire_all()
    entry = db.session.get(RegisterEntry, entry.id)
    assert entry.tier == "red" and entry.flags == ["bereaved", "previous_self_harm"] and entry.version == 2
    assert service.is_overdue(entry)
    change = db.session.scalar(select(RegisterChange).where(RegisterChange.kind == "updated"))
    assert change.previous_tier == "green" and change.tier == "red"
    assert change.detail["note"] == "Found the anniversary very hard"


# The register page: filters, overdue, pagination ---------------------------------------------------

def test_register_page_filters_by_tier_flag_and_overdue(client, login_as, make_client, put_on):
    worker = login_as("social_worker")
    red_overdue = put_on(worker, make_client(worker.team, worker, full_name="Red Overdue"), tier="red",
                         flags=["previous_self_harm"], days=9)
    put_on(worker, make_client(worker.team, worker, full_name="Red Fresh"), tier="red", flags=["bereaved"])
    put_on(worker, make_client(worker.team, worker, full_name="Green Carer"), tier="green",
           flags=["carer_under_strain", "other"], flag_other="Looks after twin toddlers alone")
    put_on(worker, make_client(worker.team, worker, full_name="Yellow Late"), tier="yellow",
           flags=["recent_job_loss"], days=31)

    everyone = rows_of(client.get("/vulnerable-register").get_data(as_text=True))
    assert all(name in everyone for name in ("Red Overdue", "Red Fresh", "Green Carer", "Yellow Late"))
    assert "Looks after twin toddlers alone" in everyone
    # next outreach due first: the overdue ones lead
    assert everyone.index("Red Overdue") < everyone.index("Red Fresh") < everyone.index("Green Carer")

    reds = rows_of(client.get("/vulnerable-register?tier=red").get_data(as_text=True))
    assert "Red Overdue" in reds and "Red Fresh" in reds and "Green Carer" not in reds

    carers = rows_of(client.get("/vulnerable-register?flag=carer_under_strain").get_data(as_text=True))
    assert "Green Carer" in carers and "Red" not in carers and "Yellow Late" not in carers

    late = client.get("/vulnerable-register?overdue=y").get_data(as_text=True)
    assert "Red Overdue" in rows_of(late) and "Yellow Late" in rows_of(late)
    assert "Red Fresh" not in rows_of(late) and "Green Carer" not in rows_of(late)
    assert rows_of(late).count('class="overdue"') == 2 and "Overdue" in rows_of(late)

    both = rows_of(client.get("/vulnerable-register?tier=red&overdue=y&flag=previous_self_harm")
                   .get_data(as_text=True))
    assert "Red Overdue" in both and "Yellow Late" not in both and "Red Fresh" not in both
    assert f"/vulnerable-register/{red_overdue.id}" in both

    nobody = client.get("/vulnerable-register?tier=green&overdue=y").get_data(as_text=True)
    assert "Nobody on the register matches" in nobody


def test_an_unknown_filter_value_is_a_message_not_an_error(client, login_as):
    login_as("social_worker")
    response = client.get("/vulnerable-register?tier=purple&flag=unknown")
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "Choose a tier from the list" in body and "Choose a reason from the list" in body


def test_register_page_paginates_and_keeps_filters(client, login_as, make_client, put_on):
    worker = login_as("social_worker")
    for n in range(27):
        put_on(worker, make_client(worker.team, worker, full_name=f"Person {n:02d}"), tier="orange", days=n * 0.1)
    first = client.get("/vulnerable-register?tier=orange").get_data(as_text=True)
    assert "27 people match" in first and "Page 1 of 2" in first
    pager = first.split('class="pager"')[1]
    assert "tier=orange" in pager and "None" not in pager  # the next-page link keeps the filter, only it
    second = rows_of(client.get("/vulnerable-register?tier=orange&page=2").get_data(as_text=True))
    assert second.count("<tr") == 2  # the two most recently added are due last
    assert "Person 00" in second and "Person 01" in second


def test_empty_register_says_how_to_add(client, login_as):
    login_as("counsellor")
    body = client.get("/vulnerable-register").get_data(as_text=True)
    assert "Nobody you can see is on the register yet" in body
    assert "What the tiers mean" in body and "High concern" in body  # every tier's meaning is stated


# Outreach and the triage alert --------------------------------------------------------------------

def test_one_click_outreach_from_the_register(client, login_as, make_client, put_on, db):
    worker = login_as("social_worker")
    entry = put_on(worker, make_client(worker.team, worker, full_name="Ho Tak Wah"), tier="orange", days=20)
    response = form_post(client, f"/vulnerable-register/{entry.id}/outreach",
                         {"outcome": "visited", "note": "Flat warm, fridge stocked",
                          "next": "/vulnerable-register?overdue=y"}, page="/vulnerable-register")
    assert response.status_code == 302 and response.headers["Location"] == "/vulnerable-register?overdue=y"
    row = db.session.scalar(select(RegisterOutreach))
    assert (row.outcome, row.note, row.concern, row.by_id, row.tier) == (
        "visited", "Flat warm, fridge stocked", False, worker.id, "orange")
    db.session.expire_all()
    assert not service.is_overdue(db.session.get(RegisterEntry, entry.id))
    assert count(db, Alert) == 0
    page = client.get(f"/vulnerable-register/{entry.id}").get_data(as_text=True)
    assert "Flat warm, fridge stocked" in page and "Visited" in page


def test_outreach_redirect_stays_on_this_site(client, login_as, make_client, put_on):
    worker = login_as("social_worker")
    entry = put_on(worker, make_client(worker.team, worker))
    response = form_post(client, f"/vulnerable-register/{entry.id}/outreach",
                         {"outcome": "contacted", "next": "https://evil.example/"}, page="/vulnerable-register")
    assert response.status_code == 302 and response.headers["Location"] == "/vulnerable-register"


def test_red_tier_concern_raises_exactly_one_urgent_alert(client, login_as, make_client, put_on, db):
    worker = login_as("social_worker")
    person = make_client(worker.team, worker, full_name="Lam Suk Fan")
    entry = put_on(worker, person, tier="red", flags=["lives_alone_elderly"])
    response = form_post(client, f"/vulnerable-register/{entry.id}/outreach",
                         {"outcome": "visited", "note": "Not eating, says there is no point", "concern": "y"},
                         page="/vulnerable-register")
    assert response.status_code == 302
    alerts = db.session.scalars(select(Alert)).all()
    assert len(alerts) == 1
    alert = alerts[0]
    assert (alert.kind, alert.urgency, alert.subject_type, alert.subject_id, alert.team_id) == (
        "outreach_concern", Urgency.URGENT.value, "client", str(person.id), worker.team_id)
    assert "no point" in alert.summary and "Lam Suk Fan" not in alert.summary
    assert timedelta(hours=23) < alert.deadline - alert.created_at <= timedelta(hours=24)
    row = db.session.scalar(select(RegisterOutreach))
    assert row.concern and row.alert_id == alert.id
    flashed = client.get("/vulnerable-register").get_data(as_text=True)
    assert "triage queue" in flashed


@pytest.mark.parametrize("tier, concern", [("orange", True), ("yellow", True), ("green", True), ("red", False)])
def test_no_alert_without_a_red_tier_concern(db, make_user, make_client, put_on, tier, concern):
    worker = make_user("social_worker")
    entry = put_on(worker, make_client(worker.team, worker), tier=tier)
    for outcome in ("contacted", "no_answer", "visited", "declined"):
        service.log_outreach(worker, entry, outcome, "Some worry about sleep" if concern else None, concern)
    db.session.commit()
    assert count(db, Alert) == 0
    assert count(db, RegisterOutreach) == 4


def test_emergency_mode_shortens_the_concern_alert_deadline(db, make_user, make_client, put_on):
    worker = make_user("social_worker")
    entry = put_on(worker, make_client(worker.team, worker), tier="red")
    switch_mode("emergency", make_user("supervisor", team=worker.team), "Landslide warning in force")
    row = service.log_outreach(worker, entry, "contacted", "Crying on the phone, alone", True)
    db.session.commit()
    alert = db.session.get(Alert, row.alert_id)
    assert alert.deadline - alert.created_at == timedelta(hours=12)


# Validation: a clear message and nothing stored --------------------------------------------------

@pytest.mark.parametrize("data, field_message", [
    ({"tier": "", "flags": ["bereaved"]}, "Choose a tier"),
    ({"tier": "purple", "flags": ["bereaved"]}, "Choose a tier"),
    ({"tier": "red"}, "Choose at least one reason"),
    ({"tier": "red", "flags": ["alien_abduction"]}, "Choose the reasons from the list"),
    ({"tier": "red", "flags": ["other"]}, "Describe the other reason"),
    ({"tier": "red", "flags": ["bereaved"], "flag_other": "x" * 201}, "200 characters"),
])
def test_adding_with_bad_input_shows_messages_and_stores_nothing(client, login_as, make_client, db, data,
                                                                  field_message):
    worker = login_as("social_worker")
    person = make_client(worker.team, worker)
    response = form_post(client, f"/clients/{person.id}/vulnerable-register", data)
    assert response.status_code == 400
    assert field_message in response.get_data(as_text=True)
    assert count(db, RegisterEntry) == 0 and count(db, RegisterChange) == 0


def test_other_reason_text_ticks_other(db, make_user, make_client, put_on):
    worker = make_user("social_worker")
    entry = put_on(worker, make_client(worker.team, worker), flags=["bereaved"], flag_other="Caring for a dying parent")
    assert entry.flags == ["bereaved", "other"] and entry.flag_other == "Caring for a dying parent"


@pytest.mark.parametrize("data, message", [
    ({"outcome": "phoned"}, "Choose how the outreach went"),
    ({"outcome": ""}, "Choose how the outreach went"),
    ({"outcome": "contacted", "concern": "y"}, "Describe the concern in the note"),
    ({"outcome": "contacted", "note": "x" * 2001}, "at most 2000 characters"),
])
def test_outreach_with_bad_input_is_refused_and_nothing_is_stored(client, login_as, make_client, put_on, db,
                                                                   data, message):
    worker = login_as("social_worker")
    entry = put_on(worker, make_client(worker.team, worker), tier="red", days=3)
    before = entry.due_from
    response = form_post(client, f"/vulnerable-register/{entry.id}/outreach", data, page="/vulnerable-register")
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert message in body and "Nothing was logged" in body
    assert count(db, RegisterOutreach) == 0 and count(db, Alert) == 0
    assert db.session.get(RegisterEntry, entry.id).due_from == before


def test_outreach_service_refuses_future_times_and_non_boolean_concern(db, make_user, make_client, put_on):
    worker = make_user("counsellor")
    entry = put_on(worker, make_client(worker.team, worker))
    with pytest.raises(Invalid) as error:
        service.log_outreach(worker, entry, "contacted", None, False, at=utcnow() + timedelta(days=1))
    assert "at" in error.value.fields
    with pytest.raises(Invalid) as error:
        service.log_outreach(worker, entry, "contacted", None, "yes")
    assert "concern" in error.value.fields
    assert count(db, RegisterOutreach) == 0


def test_a_client_is_on_the_register_at_most_once(client, login_as, make_client, put_on, db):
    worker = login_as("social_worker")
    person = make_client(worker.team, worker)
    entry = put_on(worker, person)
    with pytest.raises(Conflict):
        service.add_to_register(worker, person, {"tier": "red", "flags": ["bereaved"]})
    db.session.rollback()
    # the page sends an existing entry to its edit form instead of adding a second one
    response = client.get(f"/clients/{person.id}/vulnerable-register")
    assert response.status_code == 302 and response.headers["Location"] == f"/vulnerable-register/{entry.id}/edit"
    assert count(db, RegisterEntry) == 1


def test_a_concurrent_second_add_is_refused_by_the_database(db, make_user, make_client, put_on, monkeypatch):
    worker = make_user("social_worker")
    person = make_client(worker.team, worker)
    put_on(worker, person, tier="green")
    # as if another worker's add committed between our check and our insert
    monkeypatch.setattr(service, "entry_for_client", lambda client: None)
    with pytest.raises(Conflict):
        service.add_to_register(worker, person, {"tier": "red", "flags": ["bereaved"]})
    db.session.commit()  # the session is still usable: only the insert was rolled back
    assert count(db, RegisterEntry) == 1 and db.session.scalar(select(RegisterEntry.tier)) == "green"


def test_a_stale_edit_is_refused_with_409(client, login_as, make_client, put_on, db):
    worker = login_as("social_worker")
    entry = put_on(worker, make_client(worker.team, worker), tier="yellow")
    service.update_entry(worker, entry, entry.version, {"tier": "orange", "flags": ["bereaved"]})
    db.session.commit()
    response = form_post(client, f"/vulnerable-register/{entry.id}/edit",
                         {"version": 1, "tier": "green", "flags": ["bereaved"]})
    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert "changed this register entry" in body and "Orange" in body
    db.session.expire_all()
    assert db.session.get(RegisterEntry, entry.id).tier == "orange"


# Who sees what, roles ------------------------------------------------------------------------------

def test_another_teams_entries_do_not_exist_for_me(client, login_as, make_user, make_client, put_on, db):
    login_as("social_worker")
    outsider = make_user("social_worker", team="elsewhere")
    theirs_client = make_client(outsider.team, outsider, full_name="Hidden Person")
    theirs = put_on(outsider, theirs_client, tier="red", days=30)
    assert "Hidden Person" not in client.get("/vulnerable-register").get_data(as_text=True)
    assert "Hidden Person" not in client.get("/vulnerable-register?overdue=y&tier=red").get_data(as_text=True)
    for path in (f"/vulnerable-register/{theirs.id}", f"/vulnerable-register/{theirs.id}/edit",
                 f"/vulnerable-register/{theirs.id}/remove", f"/clients/{theirs_client.id}/vulnerable-register",
                 "/vulnerable-register/not-a-uuid"):
        assert client.get(path).status_code == 404, path
    response = form_post(client, f"/vulnerable-register/{theirs.id}/outreach",
                         {"outcome": "contacted", "concern": "y", "note": "probe"}, page="/vulnerable-register")
    assert response.status_code == 404
    assert count(db, RegisterOutreach) == 0 and count(db, Alert) == 0


def test_staff_assigned_to_a_clients_case_see_the_entry(client, login_as, make_user, make_client, make_case,
                                                        put_on):
    me = login_as("counsellor")
    other_team_worker = make_user("social_worker", team="elsewhere")
    person = make_client(other_team_worker.team, other_team_worker, full_name="Shared Person")
    entry = put_on(other_team_worker, person, tier="orange")
    assert client.get(f"/vulnerable-register/{entry.id}").status_code == 404
    make_case(me, client=person)
    assert client.get(f"/vulnerable-register/{entry.id}").status_code == 200
    assert "Shared Person" in client.get("/vulnerable-register").get_data(as_text=True)


@pytest.mark.parametrize("role", ["social_worker", "counsellor", "supervisor"])
def test_case_staff_can_use_the_register(client, login_as, make_client, db, role):
    worker = login_as(role)
    person = make_client(worker.team, worker, full_name="Tsang Hiu Tung")
    added = form_post(client, f"/clients/{person.id}/vulnerable-register",
                      {"tier": "yellow", "flags": ["frontline_worker", "disability"]})
    assert added.status_code == 302
    entry = db.session.scalar(select(RegisterEntry))
    assert entry.created_by_id == worker.id and entry.team_id == worker.team_id
    assert "Tsang Hiu Tung" in client.get("/vulnerable-register").get_data(as_text=True)
    assert 'href="/vulnerable-register"' in client.get("/").get_data(as_text=True)  # the nav link
    logged = form_post(client, f"/vulnerable-register/{entry.id}/outreach", {"outcome": "declined"},
                       page=f"/vulnerable-register/{entry.id}")
    assert logged.status_code == 302 and count(db, RegisterOutreach) == 1


@pytest.mark.parametrize("role", ["admin", "resident"])
def test_admin_and_resident_are_refused(client, login_as, make_user, make_client, put_on, db, role):
    worker = make_user("social_worker")
    person = make_client(worker.team, worker)
    entry = put_on(worker, person)
    login_as(role)
    for path in ("/vulnerable-register", f"/vulnerable-register/{entry.id}", f"/vulnerable-register/{entry.id}/edit",
                 f"/clients/{person.id}/vulnerable-register"):
        assert client.get(path).status_code == 403, path
    token_page = client.get("/account/password")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', token_page.get_data(as_text=True)).group(1)
    response = client.post(f"/vulnerable-register/{entry.id}/outreach",
                           data={"outcome": "contacted", "csrf_token": token})
    assert response.status_code == 403
    assert count(db, RegisterOutreach) == 0
    nav = client.get("/").get_data(as_text=True)
    assert "/vulnerable-register" not in nav


def test_signed_out_visitors_are_sent_to_sign_in(client, db):
    response = client.get("/vulnerable-register")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# Encryption, audit, client page, history ----------------------------------------------------------

def test_reasons_and_notes_are_stored_encrypted_and_audited_without_content(db, make_user, make_client, put_on):
    worker = make_user("social_worker")
    entry = put_on(worker, make_client(worker.team, worker), tier="red", flags=["previous_self_harm", "other"],
                   flag_other="Gambling debts", note="Referred by the GP")
    service.log_outreach(worker, entry, "visited", "Cuts on the forearm, new", True)
    db.session.commit()
    raw = db.session.execute(text("SELECT flags, flag_other FROM register_entry")).one()
    assert all(value.startswith("ccv1:") for value in raw)
    note = db.session.execute(text("SELECT note FROM register_outreach")).scalar_one()
    detail = db.session.execute(text("SELECT detail FROM register_change")).scalar_one()
    assert note.startswith("ccv1:") and detail.startswith("ccv1:")
    dump = " ".join(str(v) for v in db.session.execute(text("SELECT flags, flag_other FROM register_entry")).one())
    assert "self_harm" not in dump and "Gambling" not in dump
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.object_type.like("register%"))).all()
    assert {(e.action, e.object_type) for e in events} >= {("create", "register_entry"),
                                                           ("create", "register_outreach")}
    reasons = " ".join(e.reason or "" for e in events)
    assert "Cuts" not in reasons and "Gambling" not in reasons and "GP" not in reasons


def test_viewing_an_entry_and_the_register_is_audited(client, login_as, make_client, put_on, db):
    worker = login_as("social_worker")
    entry = put_on(worker, make_client(worker.team, worker))
    client.get(f"/vulnerable-register/{entry.id}")
    client.get("/vulnerable-register")
    db.session.expire_all()
    views = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "view",
                                                        AuditEvent.actor_id == worker.id)).all()
    assert ("register_entry", str(entry.id)) in {(e.object_type, e.object_id) for e in views}
    assert "register" in {e.object_type for e in views}


def test_client_page_offers_the_register_and_then_shows_the_entry(client, login_as, make_client, db):
    worker = login_as("social_worker")
    person = make_client(worker.team, worker)
    page = client.get(f"/clients/{person.id}").get_data(as_text=True)
    assert "Not on the register" in page and f"/clients/{person.id}/vulnerable-register" in page
    form = client.get(f"/clients/{person.id}/vulnerable-register").get_data(as_text=True)
    assert "Lives alone (elderly)" in form and "Carer under strain" in form and "Significant concern" in form
    form_post(client, f"/clients/{person.id}/vulnerable-register", {"tier": "orange", "flags": ["bereaved"]})
    entry = db.session.scalar(select(RegisterEntry))
    page = client.get(f"/clients/{person.id}").get_data(as_text=True)
    assert f"/vulnerable-register/{entry.id}" in page and "Orange" in page and "Next outreach due" in page


def test_taking_off_and_adding_back_keeps_the_history(client, login_as, make_client, put_on, db):
    worker = login_as("social_worker")
    person = make_client(worker.team, worker, full_name="Yuen Kin Fai")
    entry = put_on(worker, person, tier="orange")
    service.log_outreach(worker, entry, "contacted", "All well")
    db.session.commit()
    confirm = client.get(f"/vulnerable-register/{entry.id}/remove")
    assert confirm.status_code == 200 and "Take Yuen Kin Fai off the register?" in confirm.get_data(as_text=True)
    refused = form_post(client, f"/vulnerable-register/{entry.id}/remove", {"version": entry.version, "reason": ""})
    assert refused.status_code == 400 and "Say why" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(RegisterEntry, entry.id).on_register
    removed = form_post(client, f"/vulnerable-register/{entry.id}/remove",
                        {"version": entry.version, "reason": "Moved to another district"})
    assert removed.status_code == 302
    assert "Yuen Kin Fai" not in rows_of(client.get("/vulnerable-register").get_data(as_text=True))
    refused = form_post(client, f"/vulnerable-register/{entry.id}/outreach", {"outcome": "contacted"},
                        page=f"/vulnerable-register/{entry.id}")
    assert refused.status_code == 302 and count(db, RegisterOutreach) == 1
    history = client.get(f"/vulnerable-register/{entry.id}").get_data(as_text=True)
    assert "Taken off the register" in history and "Moved to another district" in history and "All well" in history
    back = form_post(client, f"/clients/{person.id}/vulnerable-register", {"tier": "red", "flags": ["bereaved"]})
    assert back.status_code == 302
    db.session.expire_all()
    assert count(db, RegisterEntry) == 1
    entry = db.session.get(RegisterEntry, entry.id)
    assert entry.on_register and entry.tier == "red"
    kinds = [c.kind for c in service.entry_changes(entry)]
    assert kinds == ["readded", "removed", "added"]


# Demo data ----------------------------------------------------------------------------------------

def test_register_demo_needs_clients_and_is_idempotent(db, make_user, make_client):
    from casework.demo_register import load_register_demo
    said = []
    load_register_demo(said.append)
    assert count(db, RegisterEntry) == 0 and "no clients" in said[-1]
    worker = make_user("social_worker")
    for n in range(12):
        make_client(worker.team, worker, full_name=f"Demo Person {n}")
    load_register_demo(said.append)
    assert count(db, RegisterEntry) == 4
    assert {e.tier for e in db.session.scalars(select(RegisterEntry))} == {"red", "orange", "yellow", "green"}
    assert count(db, Alert) == 1 and count(db, RegisterOutreach) >= 1
    load_register_demo(said.append)
    assert count(db, RegisterEntry) == 4 and "already loaded" in said[-1]
