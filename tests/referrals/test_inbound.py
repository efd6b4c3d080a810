"""The public inbound referral form: CSRF, validation, rate limit, encryption, the triage alert."""
from sqlalchemy import select, text

from carecycle.alerts import Alert
from carecycle.audit import AuditEvent
from referrals.models import InboundReferral
from tests.conftest import csrf_from, form_post

FORM = {"relation": "partner", "referrer_name": "Ms Lee", "referrer_organisation": "Hillside Elderly Centre",
        "referrer_contact": "555-0400", "person_name": "Mr Cheung", "person_phone": "5222 3333",
        "person_area": "Hillside", "concern": "Stopped coming to the centre; neighbours say he does not eat.",
        "person_knows": "y"}


def test_a_referral_from_the_public_form_lands_on_the_triage_queue(client, db):
    response = form_post(client, "/refer", FORM)
    assert response.status_code == 302 and "/refer/thanks" in response.headers["Location"]
    inbound = db.session.scalar(select(InboundReferral))
    assert inbound.person_name == "Mr Cheung" and inbound.person_knows and not inbound.danger_now
    alert = db.session.get(Alert, inbound.alert_id)
    assert alert.kind == "inbound_referral" and alert.urgency == "urgent" and alert.team_id is None
    assert alert.subject_type == "inbound_referral" and alert.subject_id == str(inbound.id)
    assert "Mr Cheung" in alert.summary and "Hillside Elderly Centre" in alert.summary
    raw = db.session.execute(text("SELECT person_name, concern FROM inbound_referral")).one()
    assert "Cheung" not in raw.person_name and "does not eat" not in raw.concern  # encrypted at rest


def test_danger_now_raises_a_crisis_alert(client, db):
    response = form_post(client, "/refer", dict(FORM, person_knows="", danger_now="y"))
    assert response.status_code == 302
    assert db.session.scalar(select(Alert)).urgency == "crisis"
    assert "emergency number" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_missing_fields_are_named_and_nothing_is_stored(client, db):
    response = form_post(client, "/refer", dict(FORM, person_name="", concern="", person_knows=""))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "name of the person who needs help" in page and "what is happening" in page.lower()
    assert "knows about this referral" in page
    assert db.session.scalar(select(InboundReferral)) is None and db.session.scalar(select(Alert)) is None


def test_someone_asking_for_themselves_needs_only_their_own_details(client, db):
    response = form_post(client, "/refer", {"relation": "self", "person_name": "Kim", "person_phone": "5333 4444",
                                            "concern": "I cannot sleep and feel hopeless."})
    assert response.status_code == 302


def test_without_a_csrf_token_it_is_refused(client, db):
    client.get("/refer")
    response = client.post("/refer", data=FORM)
    assert response.status_code == 400
    assert db.session.scalar(select(InboundReferral)) is None


def test_the_form_is_rate_limited_per_address(app, client, db):
    limit = app.config["REFERRALS_INBOUND_RATE_LIMIT"]
    app.config["REFERRALS_INBOUND_RATE_LIMIT"] = 2
    try:
        codes = [form_post(client, "/refer", FORM).status_code for _ in range(3)]
    finally:
        app.config["REFERRALS_INBOUND_RATE_LIMIT"] = limit
    assert codes == [302, 302, 429]
    assert len(db.session.scalars(select(InboundReferral)).all()) == 2


def test_duty_workers_read_it_and_the_read_is_audited(client, db, login_as):
    form_post(client, "/refer", FORM)
    inbound = db.session.scalar(select(InboundReferral))
    login_as("counsellor")
    listing = client.get("/inbound-referrals").get_data(as_text=True)
    assert f"/inbound-referrals/{inbound.id}" in listing and "Mr Cheung" not in listing
    page = client.get(f"/inbound-referrals/{inbound.id}").get_data(as_text=True)
    assert "Mr Cheung" in page and "5222 3333" in page
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "view",
                                                      AuditEvent.object_id == str(inbound.id)))


def test_others_cannot_read_inbound_referrals(client, db, login_as):
    form_post(client, "/refer", FORM)
    inbound = db.session.scalar(select(InboundReferral))
    assert client.get(f"/inbound-referrals/{inbound.id}").status_code == 302  # anonymous: sign in first
    login_as("social_worker")
    assert client.get(f"/inbound-referrals/{inbound.id}").status_code == 403
    assert client.get("/inbound-referrals").status_code == 403


def test_the_form_page_works_without_an_account(client, db):
    page = client.get("/refer")
    assert page.status_code == 200 and csrf_from(page)


# ------------------------------------------------------------------ the API
def test_the_api_lists_and_reads_inbound_referrals_for_duty_workers_only(client, app, db, make_user):
    from carecycle.accounts.service import create_token
    form_post(client, "/refer", FORM)
    form_post(client, "/refer", dict(FORM, person_name="Mrs Ho", danger_now="y"))
    worker, social, admin = make_user("counsellor"), make_user("social_worker"), make_user("admin")
    tokens = {u.role: create_token(u) for u in (worker, social, admin)}
    db.session.commit()

    def get(path, role):
        return client.get(path, headers={"Authorization": f"Bearer {tokens[role]}"})

    listed = get("/api/v1/inbound-referrals", "counsellor").get_json()
    assert listed["total"] == 2 and [r["danger_now"] for r in listed["inbound_referrals"]] == [True, False]
    assert "Cheung" not in str(listed) and "Ho" not in str(listed)  # the list names nobody
    newest = db.session.scalars(select(InboundReferral).order_by(InboundReferral.received_at.desc())).first()
    assert listed["inbound_referrals"][0]["alert_id"] == str(newest.alert_id)
    one = get(f"/api/v1/inbound-referrals/{newest.id}", "counsellor")
    assert one.status_code == 200
    body = one.get_json()
    assert body["person_name"] == "Mrs Ho" and body["referrer_organisation"] == "Hillside Elderly Centre"
    assert body["concern"] == FORM["concern"] and body["danger_now"] is True
    assert str(newest.id) in db.session.scalars(select(AuditEvent.object_id).where(
        AuditEvent.action == "view", AuditEvent.object_type == "inbound_referral")).all()
    # those who do not work the queue are refused, and a record that is not there is 404
    for role in ("social_worker", "admin"):
        assert get("/api/v1/inbound-referrals", role).status_code == 403
        assert get(f"/api/v1/inbound-referrals/{newest.id}", role).status_code == 403
    assert get("/api/v1/inbound-referrals/not-an-id", "counsellor").status_code == 404
    assert client.get("/api/v1/inbound-referrals").status_code == 401
