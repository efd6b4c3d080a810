"""Ask to be contacted, crisis resources (admin), and resident sign-up."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select, text

from carecycle.accounts.models import User
from carecycle.alerts import Alert
from carecycle.audit import AuditEvent
from screening.models import ContactRequest, CrisisResource, ScreeningResult
from tests.conftest import PASSWORD, csrf_from, form_post, sign_in
from tests.screening_helpers import statements_run
from tests.test_screening_pages import take_phq9


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def ask(client, location, **fields):
    data = {"name": "Ann", "phone": "+852 5550 1234", "preferred_time": "evening", "consent": "y", **fields}
    return form_post(client, location + "/contact", data, page=location)


# ------------------------------------------------------------------ contact requests
def test_crisis_contact_request_raises_a_crisis_alert(client, db):
    location = take_phq9(client, [0] * 8 + [2]).headers["Location"]
    response = ask(client, location)
    assert response.status_code == 302
    request = db.session.scalar(select(ContactRequest))
    alert = db.session.scalar(select(Alert))
    assert (alert.kind, alert.urgency, alert.subject_type, alert.subject_id) == \
        ("screening", "crisis", "contact_request", str(request.id))
    assert request.alert_id == alert.id and request.urgency == "crisis"
    assert request.name == "Ann" and request.phone == "+852 5550 1234" and request.preferred_time == "evening"
    raw = db.session.execute(text("SELECT name, phone FROM contact_request")).one()
    assert all(value.startswith("ccv1:") for value in raw) and raw[0] != "Ann" and "+852 5550 1234" not in raw[1]
    assert "Ann" not in alert.summary and "5550" not in alert.summary
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "We have your request" in page


def test_audit_events_never_hold_names_phones_or_answers(client, db):
    location = take_phq9(client, [0] * 8 + [2]).headers["Location"]
    ask(client, location)
    for event in db.session.scalars(select(AuditEvent)):
        blob = " ".join(str(v) for v in (event.reason, event.object_id, event.object_type, event.outcome))
        assert "Ann" not in blob and "5550" not in blob and "[0," not in blob


def test_non_crisis_request_is_a_contact_request_alert(client, db):
    location = take_phq9(client, [1] * 8 + [0]).headers["Location"]
    ask(client, location)
    assert db.session.scalar(select(Alert.urgency)) == "contact_request"


def test_bad_contact_input_changes_nothing(client, db):
    location = take_phq9(client, [0] * 9).headers["Location"]
    for fields, field in ((dict(consent=""), "consent"), (dict(phone="call me"), "phone"),
                          (dict(phone="12"), "phone"), (dict(name="  "), "name"),
                          (dict(preferred_time="midnight"), "preferred_time")):
        response = ask(client, location, **fields)
        assert response.status_code == 400, fields
        assert f'id="{field}-error"' in response.get_data(as_text=True), fields
    assert count(db, ContactRequest) == 0 and count(db, Alert) == 0


def test_a_second_request_for_the_same_result_raises_no_second_alert(client, db):
    location = take_phq9(client, [0] * 9).headers["Location"]
    ask(client, location)
    ask(client, location, name="Bea")
    assert count(db, ContactRequest) == 1 and count(db, Alert) == 1


def test_contact_needs_a_result_of_this_session(app, client, db):
    location = take_phq9(client, [0] * 9).headers["Location"]
    stranger = app.test_client()
    token = csrf_from(stranger.get("/screening/"))
    response = stranger.post(location + "/contact", data={"csrf_token": token, "name": "X", "phone": "5550100",
                                                          "preferred_time": "asap", "consent": "y"})
    assert response.status_code == 404
    assert count(db, ContactRequest) == 0


def test_contact_requests_are_rate_limited(app, client, db):
    app.config["SCREENING_CONTACT_RATE_LIMIT"] = 1
    try:
        first = take_phq9(client, [0] * 9).headers["Location"]
        second = take_phq9(client, [1] * 9).headers["Location"]
        assert ask(client, first).status_code == 302
        assert ask(client, second).status_code == 429
    finally:
        app.config["SCREENING_CONTACT_RATE_LIMIT"] = 5
    assert count(db, Alert) == 1


def test_counsellor_sees_the_alert_and_the_request_and_the_read_is_audited(app, client, db, make_user):
    location = take_phq9(client, [0] * 8 + [1]).headers["Location"]
    ask(client, location)
    counsellor = make_user("counsellor")
    staff = app.test_client()
    sign_in(staff, counsellor.username)
    alerts = staff.get("/alerts").get_data(as_text=True)
    assert "Crisis" in alerts and "screening" in alerts
    listing = staff.get("/screening/contact-requests").get_data(as_text=True)
    request = db.session.scalar(select(ContactRequest))
    assert f"/screening/contact-requests/{request.id}" in listing and "Ann" not in listing
    detail = staff.get(f"/screening/contact-requests/{request.id}").get_data(as_text=True)
    assert "Ann" in detail and "+852 5550 1234" in detail and "Thoughts that you would be better off dead" in detail
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "view",
                                                      AuditEvent.object_id == str(request.id))).actor_id == \
        counsellor.id


def test_a_result_of_an_older_questionnaire_version_says_so(app, client, db, make_user):
    """The answers table shows the current questions: a result scored on another version of the
    definition (the K6 changed its item order) is marked, so no one reads an answer against the
    wrong question."""
    location = take_phq9(client, [0] * 8 + [1]).headers["Location"]
    ask(client, location)
    staff = app.test_client()
    sign_in(staff, make_user("counsellor").username)
    request = db.session.scalar(select(ContactRequest))
    current = staff.get(f"/screening/contact-requests/{request.id}").get_data(as_text=True)
    assert "Answered on version" not in current
    result = db.session.get(ScreeningResult, request.result_id)
    result.instrument_version = "0.9"
    db.session.commit()
    older = staff.get(f"/screening/contact-requests/{request.id}").get_data(as_text=True)
    assert "Answered on version 0.9 of this questionnaire" in older


def test_contact_requests_are_not_for_residents_or_the_public(app, client, db, login_as):
    location = take_phq9(client, [0] * 9).headers["Location"]
    ask(client, location)
    request_id = db.session.scalar(select(ContactRequest.id))
    anonymous = app.test_client()
    assert anonymous.get(f"/screening/contact-requests/{request_id}").status_code == 302
    login_as("resident")
    assert client.get(f"/screening/contact-requests/{request_id}").status_code == 403
    assert client.get("/screening/contact-requests").status_code == 403


def test_contact_requests_are_not_for_admins(app, client, db, make_user):
    """Separation of duties: an admin manages accounts and crisis lines, never who asked to be called."""
    location = take_phq9(client, [0] * 8 + [2]).headers["Location"]
    ask(client, location)
    request_id = db.session.scalar(select(ContactRequest.id))
    admin = app.test_client()
    sign_in(admin, make_user("admin").username)
    assert admin.get("/screening/contact-requests").status_code == 403
    detail = admin.get(f"/screening/contact-requests/{request_id}")
    assert detail.status_code == 403 and "Ann" not in detail.get_data(as_text=True)
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "view",
                                                      AuditEvent.object_type == "contact_request")) is None


def test_contact_request_without_csrf_token_stores_nothing(client, db):
    location = take_phq9(client, [0] * 8 + [2]).headers["Location"]
    response = client.post(location + "/contact", data={"name": "Ann", "phone": "+852 5550 1234",
                                                         "preferred_time": "asap", "consent": "y"})
    assert response.status_code == 400
    assert count(db, ContactRequest) == 0 and count(db, Alert) == 0


def test_contact_request_list_reads_the_results_in_one_query(app, client, db, make_user):
    """The list shows each request's questionnaire without a query per row."""
    counsellor = make_user("counsellor")
    staff = app.test_client()
    sign_in(staff, counsellor.username)

    def queries_of_the_list() -> int:
        with statements_run(db) as seen:
            assert staff.get("/screening/contact-requests").status_code == 200
        return sum(1 for statement in seen if "screening_result" in statement)

    ask(client, take_phq9(client, [0] * 9).headers["Location"])
    one = queries_of_the_list()
    for values in ([1] * 9, [2] * 9, [3] * 9):
        ask(client, take_phq9(client, values).headers["Location"])
    assert count(db, ContactRequest) == 4
    assert queries_of_the_list() == one == 1


# ------------------------------------------------------------------ crisis resources
def test_admin_manages_crisis_resources(client, db, login_as):
    login_as("admin")
    response = form_post(client, "/screening/crisis-resources/new",
                         {"language": "zh_Hant", "name": "社區熱線", "phone": "555 0123", "hours": "24 小時",
                          "position": "1", "is_example": "y"})
    assert response.status_code == 302
    resource = db.session.scalar(select(CrisisResource))
    assert (resource.language, resource.name, resource.is_example) == ("zh_Hant", "社區熱線", True)
    response = form_post(client, f"/screening/crisis-resources/{resource.id}",
                         {"language": "zh_Hant", "name": "社區熱線", "phone": "555 0124", "hours": "每日 24 小時",
                          "position": "1"})
    assert response.status_code == 302
    db.session.refresh(resource)
    assert resource.phone == "555 0124" and resource.is_example is False
    confirm = client.get(f"/screening/crisis-resources/{resource.id}/delete")
    assert confirm.status_code == 200 and "cannot be undone" in confirm.get_data(as_text=True)
    assert count(db, CrisisResource) == 1  # the confirmation page removes nothing
    form_post(client, f"/screening/crisis-resources/{resource.id}/delete", {},
              page=f"/screening/crisis-resources/{resource.id}/delete")
    assert count(db, CrisisResource) == 0
    actions = [e.action for e in db.session.scalars(select(AuditEvent).where(
        AuditEvent.object_type == "crisis_resource").order_by(AuditEvent.seq))]
    assert actions == ["create", "update", "delete"]


def test_bad_crisis_resource_is_refused(client, db, login_as):
    login_as("admin")
    response = form_post(client, "/screening/crisis-resources/new",
                         {"language": "en", "name": "Line", "phone": "call us", "hours": "24h"})
    assert response.status_code == 400 and 'id="phone-error"' in response.get_data(as_text=True)
    response = form_post(client, "/screening/crisis-resources/new",
                         {"language": "xx", "name": "Line", "phone": "555", "hours": "24h"})
    assert response.status_code == 400
    assert count(db, CrisisResource) == 0


def test_only_admins_edit_crisis_resources(client, db, login_as, make_crisis_resource):
    resource = make_crisis_resource()
    login_as("counsellor")
    assert client.get("/screening/crisis-resources").status_code == 403
    token = csrf_from(client.get("/"))
    response = client.post(f"/screening/crisis-resources/{resource.id}/delete", data={"csrf_token": token})
    assert response.status_code == 403
    assert count(db, CrisisResource) == 1


def test_crisis_resources_follow_the_reader_language(client, make_crisis_resource):
    make_crisis_resource(language="en", name="English Line")
    make_crisis_resource(language="zh_Hant", name="中文熱線", is_example=True)
    token = csrf_from(client.get("/"))
    client.post("/language", data={"csrf_token": token, "language": "zh_Hant", "next": "/"})
    location = take_phq9(client, [0] * 8 + [1]).headers["Location"]
    page = client.get(location).get_data(as_text=True)
    assert "中文熱線" in page and "English Line" not in page and 'class="tag example"' in page


# ------------------------------------------------------------------ resident sign-up
def register(client, **fields):
    data = {"username": "river.walker", "password": PASSWORD, "confirm": PASSWORD, "phone": "", **fields}
    return form_post(client, "/register", data)


def test_resident_registers_is_signed_in_and_keeps_this_visits_results(client, db):
    take_phq9(client, [1] * 9)
    response = register(client, keep_results="y", phone="5550 1000")
    assert response.status_code == 302 and response.headers["Location"].endswith("/screening/history")
    user = db.session.scalar(select(User).where(User.username == "river.walker"))
    assert user.role == "resident" and user.phone == "5550 1000"
    assert db.session.scalar(select(ScreeningResult.user_id)) == user.id
    history = client.get("/screening/history").get_data(as_text=True)
    assert "9 / 27" in history
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "login")).actor_id == user.id


def test_registering_keeps_the_language_chosen_before(client, db):
    form_post(client, "/language", {"language": "zh_Hant", "next": "/register"}, page="/")
    assert register(client).status_code == 302
    assert db.session.scalar(select(User.locale).where(User.username == "river.walker")) == "zh_Hant"


def test_registering_without_keeping_leaves_results_anonymous(client, db):
    take_phq9(client, [1] * 9)
    register(client)
    assert db.session.scalar(select(ScreeningResult.user_id)) is None


def test_register_applies_the_password_rules(client, db):
    for fields, field in ((dict(password="password1234", confirm="password1234"), "password"),
                          (dict(password="short", confirm="short"), "password"),
                          (dict(confirm="something else entirely"), "confirm"),
                          (dict(username="a"), "username"),
                          (dict(phone="not a phone"), "phone")):
        response = register(client, **fields)
        assert response.status_code == 400, fields
        assert f'id="{field}-error"' in response.get_data(as_text=True), fields
    assert count(db, User) == 0


def test_register_refuses_a_taken_username(client, db, make_user):
    make_user("resident", username="river.walker")
    response = register(client)
    assert response.status_code == 400 and "This username is taken." in response.get_data(as_text=True)
    assert count(db, User) == 1


def test_register_is_rate_limited(app, client, db):
    app.config["SCREENING_REGISTER_RATE_LIMIT"] = 1
    try:
        assert register(client, username="first.one").status_code == 302
        client.post("/logout", data={"csrf_token": csrf_from(client.get("/"))})
        assert register(client, username="second.one").status_code == 429
    finally:
        app.config["SCREENING_REGISTER_RATE_LIMIT"] = 5
    assert count(db, User) == 1


def test_register_is_only_for_visitors(client, login_as):
    login_as("resident")
    assert client.get("/register").status_code == 302


def _thank_you_page(client, answers) -> str:
    from tests.htmlform import submit

    result = client.get(take_phq9(client, answers).headers["Location"])
    button = "Please call me" if "Please call me" in result.get_data(as_text=True) else None
    if button is None:  # not a crisis: the offer links to the request form
        result = client.get(result.request.path + "/contact")
        button = "Please call me"
    response = submit(client, result, button, {"Your name": "Ann", "Phone number": "+852 5550 1234",
                                               "consent": True})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client.get(response.headers["Location"]).get_data(as_text=True)


def _after_thanks(page: str) -> str:
    start = page.index("We have your request")
    return " ".join(re.sub(r"<[^>]+>", " ", page[start:page.index("Back to your result")]).split())


def test_thank_you_page_without_crisis_lines_gives_the_emergency_number(app, client, db):
    assert count(db, CrisisResource) == 0
    app.config["SCREENING_EMERGENCY_NUMBER"] = "999"
    try:
        calm = _after_thanks(_thank_you_page(client, [1] * 8 + [0]))
        assert "call one of these numbers" not in calm and "call the emergency number: 999" in calm
        crisis = _thank_you_page(client, [0] * 8 + [1])  # the number is under "Help now", above the thanks
        assert crisis.index("call the emergency number:") < crisis.index("We have your request")
        assert 'href="tel:999"' in crisis and "call one of these numbers" not in crisis
    finally:
        app.config["SCREENING_EMERGENCY_NUMBER"] = ""
    assert count(db, ContactRequest) == 2
    text = _after_thanks(_thank_you_page(client, [2] * 8 + [0]))  # no number set: the general advice
    assert "call your local emergency number" in text and "these numbers" not in text


def test_an_invalid_emergency_number_stops_start_up(tmp_path, monkeypatch):
    from tests.conftest import make_app

    monkeypatch.setenv("CARECYCLE_SCREENING_EMERGENCY_NUMBER", "call 999<script>")
    with pytest.raises(SystemExit) as stop:
        make_app(tmp_path)
    assert "CARECYCLE_SCREENING_EMERGENCY_NUMBER must be a phone number" in str(stop.value)
    monkeypatch.setenv("CARECYCLE_SCREENING_EMERGENCY_NUMBER", " 112 ")
    assert make_app(tmp_path / "ok").config["SCREENING_EMERGENCY_NUMBER"] == "112"


def test_thank_you_page_lists_the_crisis_lines_once(client, db, make_crisis_resource):
    make_crisis_resource(name="Night Line", phone="555-0199")
    calm = _after_thanks(_thank_you_page(client, [1] * 8 + [0]))
    assert "call one of these numbers: Night Line 555-0199" in calm
    crisis = _thank_you_page(client, [0] * 8 + [1])
    assert crisis.index("Night Line") < crisis.index("We have your request")
    assert "call one of the numbers above" in _after_thanks(crisis)
