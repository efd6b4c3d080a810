"""Outbound referrals: creating from a case, explicit sharing with a preview, clinical notes never
shared, the letter, who sees what, and the API."""
import uuid

import pytest
from sqlalchemy import func, select

from carecycle.audit import AuditEvent
from referrals.models import Referral
from tests.conftest import form_post

PERSON = {"full_name": "Chan Tai Man", "preferred_name": "Tai", "phone": "5111 2222",
          "address": "8 Station Road, Flat 2A", "date_of_birth": "1948-02-03", "household": "Lives alone"}


def test_create_through_the_api_answers_201_with_id_and_draft(client, db, make_user, make_case, make_service,
                                                               bearer):
    worker = make_user("counsellor")
    case = make_case(worker)
    svc = make_service()
    response = client.post(f"/api/v1/cases/{case.id}/referrals", headers=bearer(worker), json={
        "service_id": str(svc.id), "reason": "Needs home visits.", "urgency": "urgent",
        "share": ["phone", "preferred_name"]})
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "draft"
    referral = db.session.get(Referral, uuid.UUID(body["id"]))
    assert referral.share == ["preferred_name", "phone"] and referral.reason == "Needs home visits."
    assert referral.team_id == case.team_id and referral.tier == 3 and referral.created_by_id == worker.id
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "create",
                                                      AuditEvent.object_id == str(referral.id)))


@pytest.mark.parametrize("share", [["clinical_notes"], ["phone", "clinical_notes"], ["notes"], ["safety_plan"]])
def test_clinical_notes_can_never_be_shared(client, db, make_user, make_case, make_service, bearer, share):
    worker = make_user("counsellor")
    case = make_case(worker)
    response = client.post(f"/api/v1/cases/{case.id}/referrals", headers=bearer(worker), json={
        "service_id": str(make_service().id), "reason": "x", "urgency": "routine", "share": share})
    assert response.status_code == 422
    assert "never be shared" in response.get_json()["error"]["fields"]["share"]
    assert db.session.scalar(select(Referral)) is None


def test_bad_requests_name_their_fields(client, db, make_user, make_case, make_service, bearer):
    worker = make_user("counsellor")
    case = make_case(worker)
    headers = bearer(worker)
    missing = client.post(f"/api/v1/cases/{case.id}/referrals", headers=headers, json={})
    assert missing.status_code == 422
    assert set(missing.get_json()["error"]["fields"]) == {"service_id", "reason", "urgency", "share"}
    bad = client.post(f"/api/v1/cases/{case.id}/referrals", headers=headers, json={
        "service_id": "nope", "reason": "x", "urgency": "soon", "share": ["shoe_size"]})
    assert bad.status_code == 422 and set(bad.get_json()["error"]["fields"]) == {"service_id", "urgency", "share"}
    inactive = make_service(status="inactive")
    closed = client.post(f"/api/v1/cases/{case.id}/referrals", headers=headers, json={
        "service_id": str(inactive.id), "reason": "x", "urgency": "routine", "share": []})
    assert closed.status_code == 422 and "service_id" in closed.get_json()["error"]["fields"]


def test_the_page_previews_exactly_what_the_partner_will_see(client, db, login_as, make_client, make_case,
                                                            make_service, make_goal):
    worker = login_as("counsellor")
    case = make_case(worker, client=make_client(worker.team, worker, **PERSON))
    goal = make_goal(case, "Less isolated")
    svc = make_service()
    page = f"/cases/{case.id}/referrals/new"
    assert "Less isolated" in client.get(page).get_data(as_text=True)  # the case's goals to choose from
    form = {"service_id": str(svc.id), "urgency": "urgent", "reason": "Needs weekly visits.", "goal_id": str(goal.id),
            "share": ["preferred_name", "phone"], "action": "preview"}
    preview = form_post(client, page, form).get_data(as_text=True)
    section = preview.split("What the partner will see", 1)[1]
    assert "Tai" in section and "5111 2222" in section and "Needs weekly visits." in section
    assert "Chan Tai Man" not in section and "Station Road" not in section and "1948" not in section
    assert "Less isolated" not in section  # the goal is internal
    assert db.session.scalar(select(Referral)) is None  # a preview saves nothing
    saved = form_post(client, page, dict(form, action="save"))
    assert saved.status_code == 302
    referral = db.session.scalar(select(Referral))
    assert referral.goal_id == goal.id
    detail = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert "5111 2222" in detail and "Station Road" not in detail


def test_the_letter_shows_only_the_shared_fields_and_is_audited(client, db, login_as, make_client, make_case,
                                                               make_referral):
    worker = login_as("counsellor")
    case = make_case(worker, client=make_client(worker.team, worker, **PERSON))
    referral = make_referral(worker, "sent", case=case, share=("preferred_name", "date_of_birth"))
    letter = client.get(f"/referrals/{referral.id}/letter")
    assert letter.status_code == 200
    text = letter.get_data(as_text=True)
    assert "Tai" in text and "1948-02-03" in text and referral.service.name in text
    for hidden in ("Chan Tai Man", "5111 2222", "Station Road", "Lives alone"):
        assert hidden not in text
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "export",
                                                      AuditEvent.object_id == str(referral.id)))


def test_sending_from_the_page_shows_the_partner_link_once(client, db, login_as, make_referral):
    worker = login_as("counsellor")
    referral = make_referral(worker, "draft")
    response = form_post(client, f"/referrals/{referral.id}/send", {}, page=f"/referrals/{referral.id}")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "/p/" in text and "shown only now" in text
    detail = client.get(f"/referrals/{referral.id}").get_data(as_text=True)
    assert "/p/" not in detail  # only its hash is kept


def test_a_draft_can_be_edited_a_sent_one_cannot(client, db, login_as, make_referral):
    worker = login_as("counsellor")
    draft = make_referral(worker, "draft")
    page = f"/referrals/{draft.id}/edit"
    response = form_post(client, page, {"service_id": str(draft.service_id), "urgency": "routine",
                                        "reason": "Changed reason.", "share": ["phone"], "version": draft.version})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Referral, draft.id).reason == "Changed reason."
    sent = make_referral(worker, "sent")
    assert client.get(f"/referrals/{sent.id}/edit").status_code == 302


def test_who_sees_a_referral(app, client, db, make_user, make_referral, bearer):
    worker = make_user("counsellor")
    referral = make_referral(worker, "sent")
    teammate = make_user("counsellor", team=worker.team)
    supervisor = make_user("supervisor", team=worker.team)
    stranger_supervisor = make_user("supervisor", team="elsewhere")
    admin = make_user("admin")
    social = make_user("social_worker", team=worker.team)
    assert client.get(f"/api/v1/referrals/{referral.id}", headers=bearer(worker)).status_code == 200
    assert client.get(f"/api/v1/referrals/{referral.id}", headers=bearer(supervisor)).status_code == 200
    for outsider in (teammate, stranger_supervisor, social):  # not assigned: does not exist for them
        assert client.get(f"/api/v1/referrals/{referral.id}", headers=bearer(outsider)).status_code == 404
        response = client.post(f"/api/v1/referrals/{referral.id}/status", json={"status": "acknowledged"},
                               headers=bearer(outsider))
        assert response.status_code == 404
        assert client.post(f"/api/v1/cases/{referral.case_id}/referrals", json={},
                           headers=bearer(outsider)).status_code == 404
    assert client.get(f"/api/v1/referrals/{referral.id}", headers=bearer(admin)).status_code == 403
    assert client.get("/api/v1/referrals", headers=bearer(admin)).status_code == 403
    mine = client.get("/api/v1/referrals", headers=bearer(worker)).get_json()["referrals"]
    team = client.get("/api/v1/referrals", headers=bearer(supervisor)).get_json()["referrals"]
    other = client.get("/api/v1/referrals", headers=bearer(stranger_supervisor)).get_json()["referrals"]
    assert [r["id"] for r in mine] == [str(referral.id)] == [r["id"] for r in team] and other == []


def test_an_assigned_social_worker_refers_but_never_sees_clinical_notes(client, db, make_user, make_case,
                                                                         make_service, consent, bearer):
    counsellor = make_user("counsellor")
    social = make_user("social_worker", team=counsellor.team)
    case = make_case(counsellor, social_worker=social)
    consent(case.client, counsellor)
    headers = bearer(social)
    created = client.post(f"/api/v1/cases/{case.id}/referrals", headers=headers, json={
        "service_id": str(make_service().id), "reason": "Housing advice.", "urgency": "routine",
        "share": ["preferred_name"]})
    assert created.status_code == 201
    sent = client.post(f"/api/v1/referrals/{created.get_json()['id']}/status", json={"status": "sent"},
                       headers=headers)
    assert sent.status_code == 200
    body = client.get(f"/api/v1/referrals/{created.get_json()['id']}", headers=headers).get_json()
    assert set(body["shared"]) == {"preferred_name"} and "clinical" not in str(body).lower()


def test_the_api_detail_and_list(client, db, make_user, make_referral, bearer):
    worker = make_user("counsellor")
    referral = make_referral(worker, "acknowledged", share=("phone",))
    headers = bearer(worker)
    body = client.get(f"/api/v1/referrals/{referral.id}", headers=headers).get_json()
    assert body["status"] == "acknowledged" and body["tier"] == 3 and body["shared"] == {"phone": referral.client.phone}
    assert [e["to"] for e in body["events"]] == ["draft", "sent", "acknowledged"]
    assert body["respond_by"] and body["sent_at"] and body["overdue"] is False
    listed = client.get("/api/v1/referrals?status=acknowledged", headers=headers).get_json()["referrals"]
    assert [r["id"] for r in listed] == [str(referral.id)]
    assert client.get("/api/v1/referrals?status=sent", headers=headers).get_json()["referrals"] == []


def test_the_case_page_shows_its_referrals(client, db, login_as, make_referral):
    worker = login_as("counsellor")
    referral = make_referral(worker, "sent")
    page = client.get(f"/cases/{referral.case_id}").get_data(as_text=True)
    assert "Referrals" in page and f"/referrals/{referral.id}" in page and "Refer to a partner service" in page
    assert "Referral sent" in page  # on the case timeline too


def test_a_referral_serves_a_goal_of_its_own_case_only(client, db, make_user, make_case, make_service, make_goal,
                                                       bearer):
    worker = make_user("counsellor")
    case, other = make_case(worker), make_case(worker)
    mine, foreign = make_goal(case), make_goal(other, "Someone else's goal")
    body = {"service_id": str(make_service().id), "reason": "x", "urgency": "routine", "share": []}
    refused = client.post(f"/api/v1/cases/{case.id}/referrals", headers=bearer(worker),
                          json=dict(body, goal_id=str(foreign.id)))
    assert refused.status_code == 422 and "goal_id" in refused.get_json()["error"]["fields"]
    created = client.post(f"/api/v1/cases/{case.id}/referrals", headers=bearer(worker),
                          json=dict(body, goal_id=str(mine.id)))
    assert created.status_code == 201
    detail = client.get(f"/api/v1/referrals/{created.get_json()['id']}", headers=bearer(worker)).get_json()
    assert detail["goal"] == {"id": str(mine.id), "title": mine.title}


def test_the_care_plan_lists_the_referrals_serving_each_goal(db, make_user, make_referral, make_goal, make_case):
    from casework.service import careplans
    worker = make_user("counsellor")
    case = make_case(worker)
    goal = make_goal(case)
    referral = make_referral(worker, "sent", case=case, goal_id=str(goal.id))
    from flask import current_app
    with current_app.test_request_context():
        links = careplans.goal_links(case, [goal])
    assert [url for _label, url in links[str(goal.id)]] == [f"/referrals/{referral.id}"]
    assert referral.service.name in str(links[str(goal.id)][0][0])


def test_the_pages_of_a_referral_do_not_exist_for_those_who_may_not_see_its_case(client, db, make_user, login_as,
                                                                                 make_referral):
    from referrals.service import links
    worker = make_user("counsellor")
    draft = make_referral(worker, "draft")
    sent = make_referral(worker, "sent")
    login_as("counsellor", team=worker.team)  # a teammate, not assigned to the cases
    for path in (f"/referrals/{draft.id}", f"/referrals/{sent.id}/letter", f"/referrals/{draft.id}/edit",
                 f"/cases/{draft.case_id}/referrals/new"):
        assert client.get(path).status_code == 404, path
    for path, data in ((f"/referrals/{draft.id}/send", {}),
                       (f"/referrals/{draft.id}/edit", {"service_id": str(draft.service_id), "urgency": "routine",
                                                        "reason": "Taken over.", "version": draft.version}),
                       (f"/referrals/{sent.id}/status", {"status": "acknowledged"}),
                       (f"/referrals/{sent.id}/link", {}), (f"/referrals/{sent.id}/link/revoke", {}),
                       (f"/cases/{draft.case_id}/referrals/new", {"service_id": str(draft.service_id),
                                                                  "urgency": "routine", "reason": "Mine now."})):
        assert form_post(client, path, data, page="/referrals").status_code == 404, path
    assert "Needs weekly support" not in client.get("/referrals").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Referral, draft.id).status == "draft"
    assert db.session.get(Referral, draft.id).reason == "Needs weekly support at home."
    assert db.session.get(Referral, sent.id).status == "sent" and links.current_link(sent).usable
    assert db.session.scalar(select(func.count()).select_from(Referral)) == 2


def test_an_admin_reads_no_referral_page(client, db, make_user, login_as, make_referral):
    referral = make_referral(make_user("counsellor"), "sent")
    login_as("admin")
    for path in ("/referrals", f"/referrals/{referral.id}", f"/referrals/{referral.id}/letter"):
        assert client.get(path).status_code == 403, path


def test_referral_actions_without_a_csrf_token_change_nothing(client, db, login_as, make_referral):
    from referrals.service import links
    worker = login_as("counsellor")
    draft = make_referral(worker, "draft")
    sent = make_referral(worker, "sent")
    link_id = links.current_link(sent).id
    for path, data in (
        (f"/referrals/{draft.id}/send", {}),
        (f"/referrals/{sent.id}/status", {"status": "acknowledged"}),
        (f"/referrals/{sent.id}/link", {}),
        (f"/referrals/{sent.id}/link/revoke", {}),
        (
            f"/referrals/{draft.id}/edit",
            {"service_id": str(draft.service_id), "urgency": "routine", "reason": "Forged.", "version": draft.version},
        ),
    ):
        assert client.post(path, data=data).status_code == 400, path
    db.session.expire_all()
    assert db.session.get(Referral, draft.id).status == "draft"
    assert db.session.get(Referral, draft.id).reason == "Needs weekly support at home."
    link = links.current_link(db.session.get(Referral, sent.id))
    assert db.session.get(Referral, sent.id).status == "sent" and link.usable and link.id == link_id


def test_the_list_page_reads_its_rows_in_a_fixed_number_of_queries(client, db, login_as, make_referral):
    from tests.screening_helpers import statements_run
    worker = login_as("counsellor")
    make_referral(worker, "sent")
    with statements_run(db) as one:
        assert client.get("/referrals").status_code == 200
    for _ in range(3):
        make_referral(worker, "sent")
    with statements_run(db) as four:
        page = client.get("/referrals")
    assert page.get_data(as_text=True).count("/referrals/") >= 4
    assert len(four) == len(one), "one query per row"
