"""Clients: encrypted fields, blind-index search, who sees whom, duplicate warning, consents."""
from sqlalchemy import select, text

from carecycle.audit import AuditEvent
from casework.models import Client, Consent
from tests.conftest import form_post, sign_in


def test_register_client_encrypts_identifying_fields(client, login_as, db):
    worker = login_as("counsellor")
    response = form_post(client, "/clients/new", {
        "full_name": "Chan Tai Man", "preferred_name": "Tai", "date_of_birth": "1980-02-03", "sex": "male",
        "phone": "+852 9123 4567", "id_number": "A123456(7)", "address": "1 Harbour Road",
        "household": "Lives alone", "emergency_contact": "Sister 9876 5432", "preferred_language": "zh_Hant"})
    assert response.status_code == 302
    row = db.session.scalar(select(Client))
    assert row.team_id == worker.team_id and row.full_name == "Chan Tai Man"
    raw = db.session.execute(text("SELECT full_name, phone, id_number, address FROM client")).one()
    assert all(value.startswith("ccv1:") for value in raw)
    assert "Chan" not in "".join(raw)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Chan Tai Man" in page and "Lives alone" in page


def test_register_validation_shows_messages_and_stores_nothing(client, login_as, db):
    login_as("counsellor")
    response = form_post(client, "/clients/new", {"full_name": "", "phone": "12", "date_of_birth": "2999-01-01"})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "full name" in body and "6 digits" in body and "real date" in body
    assert db.session.scalar(select(Client)) is None


def test_search_is_exact_through_blind_indexes_and_limited_to_visible(client, login_as, make_user, make_client, db):
    worker = login_as("counsellor")
    mine = make_client(worker.team, worker, full_name="Lee Siu Ming", phone="9123 4567", id_number="Z9988776")
    outsider = make_user("counsellor", team="elsewhere")
    make_client(outsider.team, outsider, full_name="Other Person", phone="9111 2222")
    assert mine.full_name in client.get("/clients?phone=91234567").get_data(as_text=True)
    assert mine.full_name in client.get("/clients?id_number=z99-88776").get_data(as_text=True)
    assert mine.full_name in client.get("/clients?name=lee  siu ming").get_data(as_text=True)
    assert "No client you can see" in client.get("/clients?name=Lee Siu").get_data(as_text=True)
    assert "Other Person" not in client.get("/clients?phone=91112222").get_data(as_text=True)


def test_other_teams_client_does_not_exist_for_me(client, login_as, make_user, make_client):
    login_as("counsellor")
    outsider = make_user("counsellor", team="elsewhere")
    theirs = make_client(outsider.team, outsider, full_name="Hidden Person")
    for path in (f"/clients/{theirs.id}", f"/clients/{theirs.id}/edit"):
        assert client.get(path).status_code == 404
    assert form_post(client, f"/clients/{theirs.id}/consents", {"scope": "contact"}, page="/clients").status_code == 404
    assert client.get("/clients/not-a-uuid").status_code == 404


def test_duplicate_warning_offers_my_record(client, login_as, make_client, db):
    worker = login_as("counsellor")
    existing = make_client(worker.team, worker, full_name="Wong Mei", phone="9000 1111")
    response = form_post(client, "/clients/new", {"full_name": "Mei Wong", "phone": "90001111"})
    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert f"/clients/{existing.id}" in body
    assert db.session.query(Client).count() == 1
    confirmed = form_post(client, "/clients/new", {"full_name": "Mei Wong", "phone": "90001111",
                                                   "confirm_different": "y"})
    assert confirmed.status_code == 302
    assert db.session.query(Client).count() == 2


def test_duplicate_warning_names_no_details_of_another_teams_record(client, login_as, make_user, make_client, db):
    login_as("counsellor")
    outsider = make_user("counsellor", team="Hillside-like")
    make_user("supervisor", team=outsider.team, display_name="Hana Boss")
    theirs = make_client(outsider.team, outsider, full_name="Secret Name", phone="9333 4444",
                         address="Secret Street 9")
    response = form_post(client, "/clients/new", {"full_name": "Someone", "id_number": "", "phone": "93334444"})
    body = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Secret Name" not in body and "Secret Street" not in body and str(theirs.id) not in body
    assert outsider.team.name in body and "Hana Boss" in body


def test_consent_record_and_one_click_withdraw_are_audited(client, login_as, make_client, db):
    worker = login_as("social_worker")
    person = make_client(worker.team, worker)
    assert form_post(client, f"/clients/{person.id}/consents", {"scope": "referral_sharing"},
                     page=f"/clients/{person.id}").status_code == 302
    consent = db.session.scalar(select(Consent))
    assert consent.recorded_by_id == worker.id and consent.current
    assert form_post(client, f"/clients/{person.id}/consents/{consent.id}/withdraw", {},
                     page=f"/clients/{person.id}").status_code == 302
    db.session.expire_all()
    consent = db.session.get(Consent, consent.id)
    assert consent.withdrawn_at is not None and consent.withdrawn_by_id == worker.id
    reasons = [e.reason for e in db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "consent").order_by(AuditEvent.seq))]
    assert reasons == ["referral_sharing", "withdrawn:referral_sharing"]


def test_viewing_a_client_is_audited(client, login_as, make_client, db):
    worker = login_as("counsellor")
    person = make_client(worker.team, worker)
    client.get(f"/clients/{person.id}")
    views = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "view",
                                                        AuditEvent.object_id == str(person.id))).all()
    assert len(views) == 1 and views[0].actor_id == worker.id


def test_admin_cannot_read_clients(client, login_as, make_user, make_client):
    login_as("admin")
    worker = make_user("counsellor")
    person = make_client(worker.team, worker)
    assert client.get("/clients").status_code == 403
    assert client.get(f"/clients/{person.id}").status_code == 403


def test_stale_client_edit_is_refused_with_409(app, client, login_as, make_client, db):
    worker = login_as("counsellor")
    person = make_client(worker.team, worker, full_name="First Name")
    seen_version = str(person.version)
    page = client.get(f"/clients/{person.id}/edit")
    other = app.test_client()
    sign_in(other, worker.username)
    assert form_post(other, f"/clients/{person.id}/edit", {"full_name": "Second Name",
                                                           "version": seen_version}).status_code == 302
    from tests.conftest import csrf_from
    stale = client.post(f"/clients/{person.id}/edit", data={"full_name": "Third Name", "version": seen_version,
                                                            "csrf_token": csrf_from(page)})
    assert stale.status_code == 409
    db.session.expire_all()
    assert db.session.get(Client, person.id).full_name == "Second Name"


def test_a_tampered_version_on_the_edit_form_is_a_message_not_a_crash(client, login_as, make_client, db):
    worker = login_as("counsellor")
    person = make_client(worker.team, worker, full_name="Kept Name")
    response = form_post(client, f"/clients/{person.id}/edit", {"full_name": "Changed Name", "version": "abc"})
    assert response.status_code == 400
    assert "Changed Name" in response.get_data(as_text=True)  # the input is shown again
    db.session.expire_all()
    assert db.session.get(Client, person.id).full_name == "Kept Name"


def test_withdrawing_a_consent_i_may_not_see_is_404_and_changes_nothing(client, login_as, make_user, make_client,
                                                                        db):
    worker = login_as("counsellor")
    outsider = make_user("counsellor", team="elsewhere")
    theirs = make_client(outsider.team, outsider, full_name="Hidden Person")
    mine = make_client(worker.team, worker)
    consent = Consent(client_id=theirs.id, scope="contact", recorded_by_id=outsider.id)
    db.session.add(consent)
    db.session.commit()
    for path in (f"/clients/{theirs.id}/consents/{consent.id}/withdraw",  # another team's client
                 f"/clients/{mine.id}/consents/{consent.id}/withdraw"):  # my client, their consent
        assert form_post(client, path, {}, page=f"/clients/{mine.id}").status_code == 404
    db.session.expire_all()
    assert db.session.get(Consent, consent.id).current


def test_client_page_links_only_the_cases_i_may_open(client, login_as, make_user, make_client, make_case, db):
    worker = login_as("counsellor")
    teammate = make_user("counsellor", team=worker.team)
    person = make_client(worker.team, worker)
    mine = make_case(worker, person)
    theirs = make_case(teammate, person)
    body = client.get(f"/clients/{person.id}").get_data(as_text=True)
    assert f"/cases/{mine.id}\"" in body
    assert f"/cases/{theirs.id}\"" not in body and "A case held by another worker" in body


def test_client_page_shows_sex_gender_and_language_by_name(client, login_as, make_client):
    worker = login_as("counsellor")
    person = make_client(worker.team, worker, sex="not_stated", gender="non-binary", preferred_language="zh_Hant")
    body = client.get(f"/clients/{person.id}").get_data(as_text=True)
    assert "Prefers not to say" in body and "non-binary" in body and "繁體中文" in body


def test_one_click_withdraw_without_the_csrf_token_changes_nothing(client, login_as, make_client, db):
    worker = login_as("counsellor")
    person = make_client(worker.team, worker)
    consent = Consent(client_id=person.id, scope="contact", recorded_by_id=worker.id)
    db.session.add(consent)
    db.session.commit()
    assert client.post(f"/clients/{person.id}/consents/{consent.id}/withdraw").status_code == 400
    db.session.expire_all()
    assert db.session.get(Consent, consent.id).current
