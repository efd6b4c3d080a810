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
    def found(**criteria):  # the search is POSTed (never in a URL)
        return form_post(client, "/clients", criteria).get_data(as_text=True)
    assert mine.full_name in found(phone="91234567")
    assert mine.full_name in found(id_number="z99-88776")
    assert mine.full_name in found(name="lee  siu ming")
    assert "No client you can see" in found(name="Lee Siu")
    assert "Other Person" not in found(phone="91112222")


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
    reasons = [
        e.reason
        for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.object_type == "consent").order_by(AuditEvent.seq)
        )
    ]
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


def _matches(db, user):
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == "duplicate_match",
                                                       AuditEvent.actor_id == user.id)).all()


def test_a_phone_matching_another_teams_client_is_audited(client, login_as, make_user, make_client, db):
    """The review's probe: POST /api/v1/clients with a phone of another team's client answers 409
    naming the team. The match is now in the audit trail, with the client it matched."""
    from tests.casework.recovery_helpers import bearer
    me = login_as("counsellor")
    outsider = make_user("counsellor", team="Elsewhere")
    theirs = make_client(outsider.team, outsider, full_name="Secret Name", phone="9333 4444")
    response = client.post("/api/v1/clients", json={"full_name": "Probe", "phone": "93334444"}, headers=bearer(me))
    assert response.status_code == 409 and outsider.team.name in response.json["error"]["fields"]["contact"]
    events = _matches(db, me)
    assert [(e.object_id, e.reason, e.outcome) for e in events] == [(str(theirs.id), "matched:phone", "ok")]
    # a number that matches nobody is not a match: nothing audited, the client is registered
    assert client.post("/api/v1/clients", json={"full_name": "New", "phone": "95550000"},
                       headers=bearer(me)).status_code == 201
    assert len(_matches(db, me)) == 1


def test_matches_are_limited_per_user_and_past_the_limit_nothing_is_looked_up(app, client, login_as, make_user,
                                                                              make_client, db, monkeypatch):
    from tests.casework.recovery_helpers import bearer
    monkeypatch.setitem(app.config, "CLIENT_MATCH_LIMIT", 2)
    me = login_as("counsellor")
    headers = bearer(me)
    outsider = make_user("counsellor", team="Elsewhere")
    for n in range(3):
        make_client(outsider.team, outsider, full_name=f"Person {n}", phone=f"9333 000{n}")
    codes = [client.post("/api/v1/clients", json={"full_name": "Probe", "phone": f"9333000{n}"},
                         headers=headers) for n in range(3)]
    assert [r.status_code for r in codes] == [409, 409, 429]
    assert outsider.team.name not in codes[2].get_data(as_text=True)
    # past the limit even a number that matches nobody gets the same answer: the lookup is not made
    unknown = client.post("/api/v1/clients", json={"full_name": "Probe", "phone": "95551234"}, headers=headers)
    assert unknown.status_code == 429 and unknown.json["error"]["code"] == "match_limit"
    assert db.session.query(Client).count() == 3
    outcomes = [e.outcome for e in _matches(db, me)]
    assert outcomes.count("ok") == 2 and outcomes.count("denied") == 2
    # another worker is not limited by my probes
    other = make_user("counsellor", team=me.team)
    assert client.post("/api/v1/clients", json={"full_name": "Probe", "phone": "93330002"},
                       headers=bearer(other)).status_code == 409


def test_the_register_page_audits_a_match_and_says_when_checks_are_paused(app, client, login_as, make_user,
                                                                           make_client, db, monkeypatch):
    from tests.htmlform import submit
    monkeypatch.setitem(app.config, "CLIENT_MATCH_LIMIT", 1)
    me = login_as("counsellor")
    outsider = make_user("counsellor", team="Elsewhere")
    theirs = make_client(outsider.team, outsider, full_name="Secret Name", phone="9333 4444")
    fill = {"full_name": "Probe", "phone": "93334444"}
    first = submit(client, client.get("/clients/new"), "Register", fill)
    assert first.status_code == 409 and outsider.team.name in first.get_data(as_text=True)
    assert [e.object_id for e in _matches(db, me)] == [str(theirs.id)]
    second = submit(client, first, "Register", fill)
    body = second.get_data(as_text=True)
    assert second.status_code == 429 and "paused" in body and outsider.team.name not in body
    assert db.session.query(Client).count() == 1
