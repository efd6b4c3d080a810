"""Volunteer emergency teams: encrypted members, certificates, readiness, mobilisation in emergency mode."""
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select, text

from carecycle.audit import AuditEvent
from carecycle.mode import switch_mode
from referrals.models import Certificate, Volunteer
from referrals.service import volunteers as service
from tests.conftest import csrf_from, form_post, sign_in


@pytest.fixture
def team(db, make_user):
    holder = make_user("supervisor").team  # the "default" staff team of login_as() holds the crew
    pfa = service.save_training(None, {"name": "Psychological first aid", "validity_months": 24,
                                       "required_for": ["crisis_response"]})
    cpr = service.save_training(None, {"name": "First aid and CPR", "validity_months": 36,
                                       "required_for": "crisis_response,medical_reserve"})
    crew = service.save_team(None, {"name": "Riverside Crisis Response", "kind": "crisis_response",
                                    "meeting_point": "Community hall", "team_id": str(holder.id)})
    today = date.today()

    def member(name, phone, certs, **extra):
        person = service.save_member(None, crew, {"full_name": name, "phone": phone, **extra})
        for training, issued_ago, expires_in in certs:
            data = {"training_id": str(training.id), "issued_on": (today - timedelta(days=issued_ago)).isoformat()}
            if expires_in is not None:
                data["expires_on"] = (today + timedelta(days=expires_in)).isoformat()
            service.add_certificate(None, person, data)
        return person

    people = {
        "ready": member("Ho Wing Sze", "5550 1001", [(pfa, 100, None), (cpr, 100, None)], role="leader"),
        "expiring": member("Daniel Chow", "5550 1002", [(pfa, 600, 30), (cpr, 100, None)]),
        "expired": member("Leung Ka Ho", "5550 1003", [(pfa, 800, -1), (cpr, 100, None)]),
        "missing": member("Maria Santos", "5550 1004", [(pfa, 10, None)]),
        "inactive": member("Tse Yuk Lan", "5550 1005", [(pfa, 10, None), (cpr, 10, None)], active=False),
    }
    db.session.commit()
    return crew, people, (pfa, cpr)


def test_member_names_and_contacts_are_stored_encrypted(db, team):
    _crew, people, _trainings = team
    row = db.session.execute(text("SELECT full_name, phone FROM volunteer WHERE id = :id"),
                             {"id": people["ready"].id.hex if db.engine.dialect.name == "sqlite"
                              else people["ready"].id}).one()
    assert row.full_name.startswith("ccv1:") and "Ho Wing Sze" not in row.full_name
    assert row.phone.startswith("ccv1:") and "5550" not in row.phone


def test_readiness_who_is_current_and_whose_certificate_expires_within_60_days(db, team):
    crew, people, (pfa, cpr) = team
    ready = service.readiness(crew)
    names = lambda rows: sorted(r.member.full_name for r in rows)  # noqa: E731
    assert names(ready.ready) == ["Daniel Chow", "Ho Wing Sze"]  # expiring in 30 days is still current
    assert names(ready.expiring) == ["Daniel Chow"]
    assert names(ready.not_ready) == ["Leung Ka Ho", "Maria Santos"]
    missing = {r.member.full_name: [t.name for t in r.missing] for r in ready.members}
    assert missing["Maria Santos"] == ["First aid and CPR"] and missing["Leung Ka Ho"] == ["Psychological first aid"]
    assert ready.members[0].member.full_name == "Ho Wing Sze"  # leaders first


def test_a_certificate_expires_after_the_trainings_validity_unless_given(db, team):
    _crew, people, (pfa, _cpr) = team
    cert = service.add_certificate(None, people["missing"], {"training_id": str(pfa.id), "issued_on": "2025-03-15"})
    assert cert.expires_on == date(2027, 3, 14)
    from carecycle.validation import Invalid
    with pytest.raises(Invalid) as refused:
        service.add_certificate(None, people["missing"], {"training_id": str(pfa.id), "issued_on": "2025-03-15",
                                                           "expires_on": "2025-01-01"})
    assert "expires_on" in refused.value.fields


def test_the_readiness_page_for_staff(client, db, login_as, team):
    login_as("counsellor")
    crew, _people, _trainings = team
    page = client.get(f"/volunteers/teams/{crew.id}").get_data(as_text=True)
    assert "Certified and current" in page and "Expires soon" in page and "Not ready" in page
    assert "5550 1001" not in page  # contacts only on the member page and the mobilisation list
    overview = client.get("/volunteers").get_data(as_text=True)
    assert "Riverside Crisis Response" in overview and "2 / 4" in overview
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.object_type == "volunteer_team",
                                                      AuditEvent.action == "view"))


def test_the_mobilisation_list_exists_only_in_emergency_mode(client, db, login_as, make_user, team):
    worker = login_as("counsellor")
    crew, _people, _trainings = team
    normal = client.get(f"/volunteers/teams/{crew.id}/mobilisation").get_data(as_text=True)
    assert "only in emergency operation" in normal and "5550 1001" not in normal
    switch_mode("emergency", make_user("supervisor", team=worker.team), "Flooding in the district")
    db.session.commit()
    page = client.get(f"/volunteers/teams/{crew.id}/mobilisation").get_data(as_text=True)
    assert "5550 1001" in page and "5550 1002" in page  # ready members with their phones
    assert "5550 1003" not in page and "5550 1004" not in page and "5550 1005" not in page
    assert page.index("Ho Wing Sze") < page.index("Daniel Chow")  # leader first
    assert "Community hall" in page
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.reason == "mobilisation"))


def test_managing_members_and_certificates(client, db, login_as, team):
    login_as("supervisor")
    crew, _people, (pfa, _cpr) = team
    response = form_post(client, f"/volunteers/teams/{crew.id}/members/new", {
        "full_name": "Ahmed Khan", "phone": "5550 2002", "email": "", "role": "member", "skills": "Speaks Urdu",
        "joined_on": "2025-01-01", "active": "y"})
    assert response.status_code == 302
    member = next(m for m in db.session.scalars(select(Volunteer)) if m.full_name == "Ahmed Khan")
    page = client.get(f"/volunteers/members/{member.id}").get_data(as_text=True)
    assert "5550 2002" in page
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.object_type == "volunteer",
                                                      AuditEvent.object_id == str(member.id),
                                                      AuditEvent.action == "view"))
    response = form_post(client, f"/volunteers/members/{member.id}/certificates", {
        "training_id": str(pfa.id), "issued_on": date.today().isoformat(), "expires_on": "", "reference": "PFA-9"},
        page=f"/volunteers/members/{member.id}")
    assert response.status_code == 302
    assert db.session.scalar(select(Certificate).where(Certificate.volunteer_id == member.id)).reference == "PFA-9"
    bad = form_post(client, f"/volunteers/teams/{crew.id}/members/new", {"full_name": "", "phone": "abc",
                                                                          "role": "member"})
    assert bad.status_code == 400 and "Enter the volunteer&#39;s name." in bad.get_data(as_text=True)


@pytest.mark.parametrize("role", ["counsellor", "social_worker"])
def test_staff_see_readiness_but_do_not_manage_volunteers(client, db, login_as, team, role):
    login_as(role)
    crew, people, _trainings = team
    assert client.get("/volunteers").status_code == 200
    assert client.get(f"/volunteers/members/{people['ready'].id}").status_code == 403
    assert client.get(f"/volunteers/teams/{crew.id}/members/new").status_code == 403
    assert client.get("/volunteers/trainings").status_code == 403


def test_residents_see_nothing_of_volunteers(client, db, login_as, team):
    login_as("resident")
    crew, _people, _trainings = team
    assert client.get("/volunteers").status_code == 403
    assert client.get(f"/volunteers/teams/{crew.id}").status_code == 403


def test_a_stale_edit_of_a_team_or_a_volunteer_is_refused_not_saved_over(client, db, login_as, team):
    login_as("supervisor")
    crew, people, _trainings = team
    member = people["missing"]
    stale = form_post(client, f"/volunteers/members/{member.id}", {
        "full_name": "Renamed", "phone": "5550 1004", "role": "member", "joined_on": "2025-01-01", "active": "y",
        "version": member.version + 1})
    assert stale.status_code == 409 and "Someone else changed this volunteer" in stale.get_data(as_text=True)
    stale = form_post(client, f"/volunteers/teams/{crew.id}/edit", {
        "name": "Renamed crew", "kind": "crisis_response", "team_id": "", "version": crew.version + 1})
    assert stale.status_code == 409 and "Someone else changed this team" in stale.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Volunteer, member.id).full_name == "Maria Santos"
    assert db.session.get(type(crew), crew.id).name == "Riverside Crisis Response"


def test_trainings_are_added_and_edited_and_a_bad_one_is_shown_again(client, db, login_as, team):
    from referrals.models import Training
    login_as("supervisor")
    _crew, _people, (pfa, _cpr) = team
    added = form_post(client, "/volunteers/trainings", {"name": "Radio operation", "description": "",
                                                        "validity_months": "12", "required_for": ["crisis_response"]})
    assert added.status_code == 302
    radio = db.session.scalar(select(Training).where(Training.name == "Radio operation"))
    assert radio.validity_months == 12 and radio.required_kinds == ["crisis_response"]
    bad = form_post(client, f"/volunteers/trainings/{pfa.id}", {"name": "PFA, renewed", "validity_months": "0"})
    assert bad.status_code == 400 and "PFA, renewed" in bad.get_data(as_text=True)
    saved = form_post(client, f"/volunteers/trainings/{pfa.id}", {"name": "PFA", "validity_months": "36",
                                                                   "required_for": ["medical_reserve"]})
    assert saved.status_code == 302
    db.session.expire_all()
    assert db.session.get(Training, pfa.id).validity_months == 36
    assert client.get("/volunteers/trainings/not-a-training").status_code == 404


# ------------------------------------------------------------------ contact details: the holding team only
PHONES = ("5550 1001", "5550 1002", "5550 1003", "5550 1004", "5550 1005")


def _emergency(db, make_user):
    switch_mode("emergency", make_user("supervisor"), "Flooding in the district")
    db.session.commit()


def test_another_teams_supervisor_sees_no_volunteer_phones(client, db, login_as, make_user, make_team, team):
    crew, people, _trainings = team
    _emergency(db, make_user)
    login_as("supervisor", team=make_team("Hillside"))
    page = client.get(f"/volunteers/teams/{crew.id}/mobilisation").get_data(as_text=True)
    assert "Ho Wing Sze" in page and "Contact details are shown only to" in page
    assert not any(phone in page for phone in PHONES)
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.object_id == str(crew.id),
                                                      AuditEvent.reason == "mobilisation, without contacts"))
    readiness = client.get(f"/volunteers/teams/{crew.id}").get_data(as_text=True)
    assert f"/volunteers/members/{people['ready'].id}" not in readiness  # no link to the member's page
    member = client.get(f"/volunteers/members/{people['ready'].id}")
    assert member.status_code == 403 and "5550 1001" not in member.get_data(as_text=True)
    denied = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "permission_denied",
                                                        AuditEvent.object_id == str(people["ready"].id)))
    assert denied.reason == "volunteer contacts of another team"
    assert not db.session.scalar(select(AuditEvent).where(AuditEvent.action == "view",
                                                          AuditEvent.object_type == "volunteer"))
    certificate = client.post(f"/volunteers/members/{people['ready'].id}/certificates",
                              data={"csrf_token": csrf_from(client.get("/volunteers")), "training_id": "",
                                    "issued_on": ""})
    assert certificate.status_code == 403 and "5550 1001" not in certificate.get_data(as_text=True)


def test_a_team_mobilised_for_another_team_shows_that_teams_supervisors_the_phones(client, db, login_as,
                                                                                   make_user, make_team, team):
    from referrals.models import Mobilisation
    from tests.htmlform import submit

    crew, _people, _trainings = team
    _emergency(db, make_user)
    hillside = make_team("Hillside")
    hillside_supervisor = make_user("supervisor", team=hillside)
    hillside_counsellor = make_user("counsellor", team=hillside)
    login_as("supervisor")  # of the staff team that holds the crew
    page = client.get(f"/volunteers/teams/{crew.id}/mobilisation")
    assert "5550 1001" in page.get_data(as_text=True)
    response = submit(client, page, "Mobilise", {"Mobilise for staff team": str(hillside.id)})
    assert response.status_code == 302
    row = db.session.scalar(select(Mobilisation))
    assert (row.volunteer_team_id, row.team_id, row.ended_at) == (crew.id, hillside.id, None)
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.object_type == "volunteer_mobilisation",
                                                      AuditEvent.action == "create"))

    client.post("/logout", data={"csrf_token": csrf_from(client.get("/"))})
    sign_in(client, hillside_supervisor.username)
    page = client.get(f"/volunteers/teams/{crew.id}/mobilisation").get_data(as_text=True)
    assert "5550 1001" in page and "5550 1002" in page
    read = db.session.scalar(select(AuditEvent).where(AuditEvent.object_id == str(crew.id),
                                                      AuditEvent.actor_id == hillside_supervisor.id,
                                                      AuditEvent.reason.like("mobilisation, contacts as supervisor%")))
    assert read is not None
    assert "Mobilise" not in [b.strip() for b in re.findall(r"<button[^>]*>([^<]*)</button>", page)]
    refused = client.post(f"/volunteers/teams/{crew.id}/mobilisation/teams",
                          data={"csrf_token": csrf_from(client.get("/")), "team_id": str(make_team().id)})
    assert refused.status_code == 403
    assert len(db.session.scalars(select(Mobilisation)).all()) == 1

    client.post("/logout", data={"csrf_token": csrf_from(client.get("/"))})
    sign_in(client, hillside_counsellor.username)  # a counsellor of that team: not a supervisor
    page = client.get(f"/volunteers/teams/{crew.id}/mobilisation").get_data(as_text=True)
    assert not any(phone in page for phone in PHONES)


def test_ending_the_mobilisation_or_the_emergency_hides_the_phones_again(client, db, login_as, make_user,
                                                                         make_team, team):
    from referrals.models import Mobilisation
    from tests.htmlform import submit

    crew, _people, _trainings = team
    _emergency(db, make_user)
    hillside = make_team("Hillside")
    hillside_supervisor = make_user("supervisor", team=hillside)
    holder = login_as("supervisor")
    page = client.get(f"/volunteers/teams/{crew.id}/mobilisation")
    submit(client, page, "Mobilise", {"Mobilise for staff team": str(hillside.id)})
    page = client.get(f"/volunteers/teams/{crew.id}/mobilisation")
    response = submit(client, page, "End the mobilisation for Hillside")
    assert response.status_code == 302
    assert db.session.scalar(select(Mobilisation)).ended_at is not None

    submit(client, client.get(f"/volunteers/teams/{crew.id}/mobilisation"), "Mobilise",
           {"Mobilise for staff team": str(hillside.id)})
    switch_mode("normal", holder, "Water receding")
    db.session.commit()
    switch_mode("emergency", holder, "Second flood")  # a new emergency: the old mobilisation no longer counts
    db.session.commit()
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/"))})
    sign_in(client, hillside_supervisor.username)
    page = client.get(f"/volunteers/teams/{crew.id}/mobilisation").get_data(as_text=True)
    assert "Ho Wing Sze" in page and not any(phone in page for phone in PHONES)


def test_mobilising_is_refused_in_normal_operation_and_for_the_own_team(client, db, login_as, make_user, team):
    from referrals.models import Mobilisation

    crew, _people, _trainings = team
    holder = login_as("supervisor")
    token = csrf_from(client.get("/volunteers"))
    normal = client.post(f"/volunteers/teams/{crew.id}/mobilisation/teams",
                         data={"csrf_token": token, "team_id": str(holder.team_id)})
    assert normal.status_code == 400
    _emergency(db, make_user)
    own = client.post(f"/volunteers/teams/{crew.id}/mobilisation/teams",
                      data={"csrf_token": token, "team_id": str(holder.team_id)})
    assert own.status_code == 400 and "Your own team already sees this list" in own.get_data(as_text=True)
    assert db.session.scalar(select(Mobilisation)) is None
