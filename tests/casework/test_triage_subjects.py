"""What an alert is about, on its triage page: each area describes its own subject type, and the
worker sees only what they may see."""
from sqlalchemy import select

from carecycle.alerts import raise_alert
from carecycle.audit import AuditEvent
from carecycle.database import utcnow
from referrals.models import InboundReferral
from screening.models import ContactRequest
from tests.conftest import form_post, sign_in


def _page(client, alert):
    response = client.get(f"/triage/{alert.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _views(db, object_type):
    return db.session.scalars(select(AuditEvent.object_id).where(AuditEvent.action == "view",
                                                                 AuditEvent.object_type == object_type)).all()


def test_a_contact_request_shows_who_asked_and_links_to_the_request(client, login_as, db):
    login_as("counsellor")
    request = ContactRequest(urgency="crisis", preferred_time="evening", consent_version="1", language="en",
                             consented_at=utcnow())
    request.name, request.phone = "Ann Lee", "+852 5550 1234"
    db.session.add(request)
    db.session.flush()
    alert = raise_alert("screening", "crisis", subject_type="contact_request", subject_id=request.id)
    db.session.commit()
    page = _page(client, alert)
    assert "Asked to be called" in page and "Ann Lee" in page and "+852 5550 1234" in page
    assert f"/screening/contact-requests/{request.id}" in page
    assert str(request.id) in _views(db, "contact_request")


def test_a_rescreen_alert_links_to_its_case_only_for_those_who_may_see_it(app, client, login_as, make_user, make_case,
                                                                         db):
    worker = login_as("counsellor")
    case = make_case(worker)
    alert = raise_alert("rescreen", "urgent", subject_type="case", subject_id=case.id, team_id=worker.team_id)
    db.session.commit()
    page = _page(client, alert)
    assert "Re-screening result" in page and f'href="/cases/{case.id}"' in page and "Open the case" in page

    colleague = make_user("counsellor", team=worker.team)  # same team: sees the alert, not the case
    other = app.test_client()
    assert sign_in(other, colleague.username).status_code == 302
    page = _page(other, alert)
    assert f"/cases/{case.id}" not in page and "Open the case" not in page


def test_an_outreach_concern_shows_the_client_and_prefills_the_case_form(client, login_as, make_client, db):
    worker = login_as("counsellor")
    person = make_client(worker.team, worker, full_name="Wong Siu Ming", phone="+852 5550 7777")
    alert = raise_alert("outreach_concern", "urgent", subject_type="client", subject_id=person.id,
                        team_id=worker.team_id)
    db.session.commit()
    page = _page(client, alert)
    assert "Wong Siu Ming" in page and f"/clients/{person.id}" in page
    assert str(person.id) in _views(db, "client")
    form_post(client, f"/triage/{alert.id}/claim", {}, page=f"/triage/{alert.id}")
    convert = client.get(f"/triage/{alert.id}/convert").get_data(as_text=True)
    assert 'value="Wong Siu Ming"' in convert


def test_an_outreach_concern_about_an_invisible_client_shows_nothing_of_them(client, login_as, make_team, make_client,
                                                                            make_user, db):
    login_as("counsellor")
    elsewhere = make_client(make_team(), make_user("counsellor"), full_name="Hidden Person")
    alert = raise_alert("outreach_concern", "urgent", subject_type="client", subject_id=elsewhere.id)
    db.session.commit()
    page = _page(client, alert)
    assert "Hidden Person" not in page and f"/clients/{elsewhere.id}" not in page
    assert _views(db, "client") == []


def test_an_inbound_referral_shows_the_person_and_links_to_the_referral(client, login_as, db):
    login_as("counsellor")
    inbound = InboundReferral(relation="neighbour")
    inbound.person_name, inbound.person_phone, inbound.concern = "Mr Cheung", "+852 5550 8888", "Not eating"
    db.session.add(inbound)
    db.session.flush()
    alert = raise_alert("inbound_referral", "urgent", subject_type="inbound_referral", subject_id=inbound.id)
    db.session.commit()
    page = _page(client, alert)
    assert "Person referred" in page and "Mr Cheung" in page and f"/inbound-referrals/{inbound.id}" in page
    assert str(inbound.id) in _views(db, "inbound_referral")


def test_an_unknown_or_missing_subject_shows_no_subject_line(client, login_as, db):
    login_as("counsellor")
    odd = raise_alert("hotline", "urgent", subject_type="something_else", subject_id="x")
    gone = raise_alert("rescreen", "urgent", subject_type="case", subject_id="not-a-uuid")
    db.session.commit()
    for alert in (odd, gone):
        page = _page(client, alert)
        assert "Open the case" not in page and "Asked to be called" not in page


def test_the_open_alerts_list_links_to_the_triage_page_for_those_who_work_it(app, client, login_as, make_user, db):
    worker = login_as("counsellor")
    alert = raise_alert("walk_in", "urgent", team_id=worker.team_id, summary="Walk-in at the front desk")
    db.session.commit()
    assert f'href="/triage/{alert.id}"' in client.get("/alerts").get_data(as_text=True)
    social = make_user("social_worker", team=worker.team)  # sees alerts, does not work the queue
    other = app.test_client()
    assert sign_in(other, social.username).status_code == 302
    page = other.get("/alerts").get_data(as_text=True)
    assert "Walk-in" in page and f"/triage/{alert.id}" not in page


# ------------------------------------------------------------------ the API's `subject`
def _api_alerts(client, runner, user) -> dict:
    token = runner.invoke(args=["tokens", "create", user.username]).output.strip()
    response = client.get("/api/v1/triage?per_page=100", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return {a["id"]: a["subject"] for a in response.get_json()["alerts"]}


def test_the_api_says_what_each_alert_is_about_when_the_caller_may_see_it(client, runner, make_user, make_case,
                                                                          make_client, db):
    worker = make_user("counsellor")
    case = make_case(worker)
    person = make_client(worker.team, worker, full_name="Wong Siu Ming")
    colleague = make_user("counsellor", team=worker.team)   # same team: the alerts, not this case
    inbound = InboundReferral(relation="neighbour")
    inbound.person_name, inbound.concern = "Mr Cheung", "Not eating"
    request = ContactRequest(urgency="crisis", preferred_time="evening", consent_version="1", language="en",
                             consented_at=utcnow())
    request.name, request.phone = "Ann Lee", "+852 5550 1234"
    db.session.add_all([inbound, request])
    db.session.flush()
    about_case = raise_alert("rescreen", "urgent", subject_type="case", subject_id=case.id, team_id=worker.team_id)
    about_client = raise_alert("outreach_concern", "urgent", subject_type="client", subject_id=person.id,
                               team_id=worker.team_id)
    about_inbound = raise_alert("inbound_referral", "urgent", subject_type="inbound_referral", subject_id=inbound.id)
    about_request = raise_alert("screening", "crisis", subject_type="contact_request", subject_id=request.id)
    walk_in = raise_alert("walk_in", "urgent", team_id=worker.team_id)
    odd = raise_alert("hotline", "urgent", subject_type="something_else", subject_id="x")
    gone = raise_alert("rescreen", "urgent", subject_type="case", subject_id="not-a-uuid", team_id=worker.team_id)
    db.session.commit()

    mine = _api_alerts(client, runner, worker)
    assert mine[str(about_case.id)] == {"type": "case", "id": str(case.id)}
    assert mine[str(about_client.id)] == {"type": "client", "id": str(person.id)}
    assert mine[str(about_inbound.id)] == {"type": "inbound_referral", "id": str(inbound.id)}
    assert mine[str(about_request.id)] == {"type": "contact_request", "id": str(request.id)}
    assert mine[str(walk_in.id)] is None and mine[str(odd.id)] is None and mine[str(gone.id)] is None
    # the subject's own rule: the colleague sees every alert but not the case they do not hold
    theirs = _api_alerts(client, runner, colleague)
    assert set(theirs) == set(mine)
    assert theirs[str(about_case.id)] is None and str(case.id) not in str(theirs)
    assert theirs[str(about_inbound.id)] == {"type": "inbound_referral", "id": str(inbound.id)}
    assert "Wong Siu Ming" not in str(theirs) and "Mr Cheung" not in str(theirs)  # ids only, no names


def test_following_an_alert_to_its_case_through_the_api(client, runner, make_user, make_case, db):
    worker = make_user("counsellor")
    case = make_case(worker)
    alert = raise_alert("rescreen", "urgent", subject_type="case", subject_id=case.id, team_id=worker.team_id)
    db.session.commit()
    token = runner.invoke(args=["tokens", "create", worker.username]).output.strip()
    headers = {"Authorization": f"Bearer {token}"}
    claimed = client.post(f"/api/v1/triage/{alert.id}/claim", headers=headers).get_json()
    assert claimed["subject"] == {"type": "case", "id": str(case.id)}
    opened = client.get(f"/api/v1/cases/{claimed['subject']['id']}", headers=headers)
    assert opened.status_code == 200 and opened.get_json()["id"] == str(case.id)
