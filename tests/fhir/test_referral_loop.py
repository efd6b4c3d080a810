"""Outbound referrals as FHIR ServiceRequest and Task: valid resources, the referral pages' visibility,
partner tokens (made with the CLI) that see only their organisation's referrals, and Task updates
under the partner link's lifecycle rules, each on the timeline and audited."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from carecycle.audit import AuditEvent
from carecycle.database import utcnow
from referrals.models import PartnerToken, Referral, ReferralEvent
from tests.fhir.helpers import FHIR_JSON, bearer, entries, get, validate

CLIENT = {"full_name": "Wong Siu Ming", "preferred_name": "Ming", "phone": "5123 4567",
          "address": "12 Harbour View Lane", "id_number": "A1234567"}


@pytest.fixture
def loop(db, make_user, make_client, make_case, make_referral, make_service, make_org):
    worker = make_user("counsellor")
    case = make_case(worker, client=make_client(worker.team, worker, **CLIENT))
    org = make_org(3, name="Harbour Home Visits")
    service = make_service(org, name="Home visits")
    referral = make_referral(worker, "sent", case=case, service=service, share=("preferred_name", "phone"),
                             reason="Weekly home visits; she is lonely.")
    other_org = make_org(3, name="Other Trust")
    other = make_referral(worker, "sent", case=case, service=make_service(other_org, name="Other service"))
    draft = make_referral(worker, "draft", case=case, service=service)
    return {"worker": worker, "case": case, "org": org, "other_org": other_org, "referral": referral,
            "other": other, "draft": draft}


def _partner_token(runner, org) -> str:
    result = runner.invoke(args=["tokens", "create", "--partner", str(org.id)])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert token.startswith("ccp_")
    return token


def _headers(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _send(client, method, path, headers, body, status):
    response = client.open(f"/fhir/R4/{path}", method=method, headers=headers, json=body)
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    assert response.mimetype == FHIR_JSON
    resource = validate(response.get_json(force=True))
    if status >= 400:
        assert resource["resourceType"] == "OperationOutcome"
    return resource


def test_staff_read_valid_service_request_and_task_with_only_the_shared_fields(client, db, loop):
    referral, headers = loop["referral"], bearer(loop["worker"], db)
    request = get(client, f"ServiceRequest/{referral.id}", headers=headers)
    assert request["status"] == "active" and request["intent"] == "order"
    assert request["subject"]["reference"] == f"Patient/{loop['case'].client_id}"
    assert request["performer"][0]["reference"] == f"Organization/{loop['org'].id}"
    assert request["reasonCode"][0]["text"].startswith("Weekly home visits")
    text = str(request)
    assert "Ming" in text and "5123 4567" in text
    for hidden in ("Wong Siu Ming", "Harbour View", "A1234567"):
        assert hidden not in text
    task = get(client, f"Task/{referral.id}", headers=headers)
    assert task["status"] == "requested" and task["intent"] == "order"
    assert task["focus"]["reference"] == f"ServiceRequest/{referral.id}"
    assert task["for"]["reference"] == f"Patient/{loop['case'].client_id}"
    assert task["owner"]["reference"] == f"Organization/{loop['org'].id}"
    draft = get(client, f"Task/{loop['draft'].id}", headers=headers)
    assert draft["status"] == "draft"
    views = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "view",
                                                        AuditEvent.object_type == "referral",
                                                        AuditEvent.object_id == str(referral.id))).all()
    assert len(views) == 2


def test_searches(client, db, loop):
    headers = bearer(loop["worker"], db)
    patient = f"Patient/{loop['case'].client_id}"
    assert len(entries(get(client, "ServiceRequest", headers=headers, patient=patient))) == 3
    ids = {r["id"] for r in entries(get(client, f"ServiceRequest?performer=Organization/{loop['org'].id}",
                                        headers=headers))}
    assert ids == {str(loop["referral"].id), str(loop["draft"].id)}
    assert {r["id"] for r in entries(get(client, "ServiceRequest?status=draft", headers=headers))} == {
        str(loop["draft"].id)}
    assert {r["id"] for r in entries(get(client, "Task?status=requested", headers=headers))} == {
        str(loop["referral"].id), str(loop["other"].id)}
    assert {r["id"] for r in entries(get(client, f"Task?owner={loop['other_org'].id}", headers=headers))} == {
        str(loop["other"].id)}
    assert [r["id"] for r in entries(get(client, f"Task?focus=ServiceRequest/{loop['other'].id}",
                                         headers=headers))] == [str(loop["other"].id)]
    assert len(entries(get(client, "Task", headers=headers, patient=patient))) == 3
    get(client, "Task?status=nonsense", headers=headers, status=400)
    get(client, "Task?owner=Patient/x", headers=headers, status=400)


def test_everything_holds_the_referrals(client, db, loop):
    headers = bearer(loop["worker"], db)
    bundle = get(client, f"Patient/{loop['case'].client_id}/$everything", headers=headers)
    kinds = [r["resourceType"] for r in entries(bundle)]
    assert kinds.count("ServiceRequest") == 3 and kinds.count("Task") == 3


def test_staff_of_another_team_and_other_roles_are_refused(client, db, loop, make_user, make_team):
    referral = loop["referral"]
    stranger = make_user("counsellor", team=make_team("Elsewhere"))
    get(client, f"Task/{referral.id}", headers=bearer(stranger, db), status=404)
    get(client, f"ServiceRequest/{referral.id}", headers=bearer(stranger, db), status=404)
    assert entries(get(client, "Task", headers=bearer(stranger, db))) == []
    admin = make_user("admin", team=None)
    get(client, f"Task/{referral.id}", headers=bearer(admin, db), status=403)
    social = make_user("social_worker")
    loop["case"].assigned_social_worker_id = social.id
    db.session.commit()
    assert get(client, f"Task/{referral.id}", headers=bearer(social, db))["id"] == str(referral.id)


def test_a_partner_sees_only_its_own_sent_referrals_and_nothing_else(client, db, runner, loop):
    headers = _headers(_partner_token(runner, loop["org"]))
    referral = loop["referral"]
    task = get(client, f"Task/{referral.id}", headers=headers)
    assert task["owner"]["reference"] == f"Organization/{loop['org'].id}"
    assert get(client, f"ServiceRequest/{referral.id}", headers=headers)["note"]
    get(client, f"Task/{loop['other'].id}", headers=headers, status=404)
    get(client, f"ServiceRequest/{loop['other'].id}", headers=headers, status=404)
    get(client, f"Task/{loop['draft'].id}", headers=headers, status=404)  # not sent: not the partner's yet
    assert [r["id"] for r in entries(get(client, "Task", headers=headers))] == [str(referral.id)]
    assert [r["id"] for r in entries(get(client, "ServiceRequest", headers=headers))] == [str(referral.id)]
    get(client, f"Patient/{loop['case'].client_id}", headers=headers, status=403)
    get(client, f"Patient/{loop['case'].client_id}/$everything", headers=headers, status=403)
    get(client, "Organization", headers=headers, status=403)
    _send(client, "PATCH", f"Task/{loop['other'].id}", headers, {"status": "received"}, 404)
    views = db.session.scalars(select(AuditEvent).where(AuditEvent.object_id == str(referral.id),
                                                        AuditEvent.action == "view")).all()
    assert views and all(v.reason and v.reason.startswith("fhir_partner_token:") for v in views)


def test_revoked_and_expired_partner_tokens_are_refused(client, db, runner, loop):
    token = _partner_token(runner, loop["org"])
    path = f"/fhir/R4/Task/{loop['referral'].id}"
    assert client.get(path, headers=_headers(token)).status_code == 200
    listed = runner.invoke(args=["tokens", "list", "--partner", str(loop["org"].id)])
    assert listed.exit_code == 0 and token[:12] in listed.output and "active" in listed.output
    revoked = runner.invoke(args=["tokens", "revoke", "--partner", str(loop["org"].id), "--token", token[:10]])
    assert revoked.exit_code == 0 and "revoked 1" in revoked.output
    refused = client.get(path, headers=_headers(token))
    assert refused.status_code == 401 and refused.get_json(force=True)["resourceType"] == "OperationOutcome"
    second = _partner_token(runner, loop["org"])
    row = db.session.scalar(select(PartnerToken).where(PartnerToken.revoked_at.is_(None)))
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.get(path, headers=_headers(second)).status_code == 401


def test_the_cli_refuses_an_unknown_organisation_and_two_owners(runner, db, loop):
    assert runner.invoke(args=["tokens", "create", "--partner", "not-an-id"]).exit_code != 0
    assert runner.invoke(args=["tokens", "create", loop["worker"].username, "--partner",
                               str(loop["org"].id)]).exit_code != 0
    assert db.session.scalar(select(PartnerToken)) is None


def test_the_partner_moves_the_task_through_every_step(client, db, runner, loop):
    headers = _headers(_partner_token(runner, loop["org"]))
    rid = loop["referral"].id
    for status, extra in (("received", {}), ("accepted", {}), ("in-progress", {}),
                          ("completed", {"output": [{"type": {"text": "Outcome"},
                                                     "valueString": "Four visits; joins the Tuesday group."}]})):
        task = _send(client, "PATCH", f"Task/{rid}", headers, {"status": status, **extra}, 200)
        assert task["status"] == status
    assert task["output"][0]["valueString"].startswith("Four visits")
    db.session.expire_all()
    stored = db.session.get(Referral, rid)
    assert stored.status == "completed" and stored.outcome.startswith("Four visits")
    events = db.session.scalars(select(ReferralEvent).where(ReferralEvent.referral_id == rid,
                                                            ReferralEvent.via_partner_link.is_(True))).all()
    assert sorted(e.to_status for e in events) == sorted(["acknowledged", "accepted", "in_service", "completed"])
    audits = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "partner_action",
                                                         AuditEvent.object_id == str(rid))).all()
    assert len(audits) == 4 and all("fhir_task:partner_token:" in a.reason for a in audits)
    # finished: the partner still reads the Task, without the client's details
    after = get(client, f"ServiceRequest/{rid}", headers=headers)
    assert "note" not in after and "Ming" not in str(after)


def test_rejected_needs_a_reason_and_an_invalid_move_changes_nothing(client, db, runner, loop):
    headers = _headers(_partner_token(runner, loop["org"]))
    rid = loop["referral"].id
    _send(client, "PATCH", f"Task/{rid}", headers, {"status": "accepted"}, 409)  # skips received
    _send(client, "PATCH", f"Task/{rid}", headers, {"status": "cancelled"}, 409)  # not a partner's move
    _send(client, "PATCH", f"Task/{rid}", headers, {"status": "received"}, 200)
    _send(client, "PATCH", f"Task/{rid}", headers, {"status": "rejected"}, 422)
    _send(client, "PATCH", f"Task/{rid}", headers, {"status": "rejected", "statusReason": {"text": " "}}, 422)
    _send(client, "PATCH", f"Task/{rid}", headers, {"status": "rejected", "priority": "stat"}, 422)
    _send(client, "PATCH", f"Task/{rid}", headers, {"status": "nonsense"}, 422)
    db.session.expire_all()
    assert db.session.get(Referral, rid).status == "acknowledged"
    assert [e.to_status for e in db.session.scalars(select(ReferralEvent).where(
        ReferralEvent.referral_id == rid, ReferralEvent.via_partner_link.is_(True)))] == ["acknowledged"]
    task = _send(client, "PATCH", f"Task/{rid}", headers,
                 {"status": "rejected", "statusReason": {"text": "No places this month."}}, 200)
    assert task["status"] == "rejected" and task["statusReason"]["text"] == "No places this month."
    _send(client, "PATCH", f"Task/{rid}", headers, {"status": "in-progress"}, 409)


def test_put_changes_only_status_and_staff_may_cancel(client, db, loop):
    headers = bearer(loop["worker"], db)
    rid = loop["referral"].id
    task = get(client, f"Task/{rid}", headers=headers)
    _send(client, "PUT", f"Task/{rid}", headers, {**task, "status": "received", "priority": "stat"}, 422)
    _send(client, "PUT", f"Task/{rid}", headers, {**task, "status": "received", "id": "other"}, 400)
    done = _send(client, "PUT", f"Task/{rid}", headers, {**task, "status": "received"}, 200)
    assert done["status"] == "received"
    stale = client.put(f"/fhir/R4/Task/{rid}", headers={**headers, "If-Match": f'W/"{task["meta"]["versionId"]}"'},
                       json={**done, "status": "cancelled"})
    assert stale.status_code == 412
    cancelled = _send(client, "PUT", f"Task/{rid}", headers,
                      {**done, "status": "cancelled", "statusReason": {"text": "The client moved away."}}, 200)
    assert cancelled["status"] == "cancelled"
    db.session.expire_all()
    stored = db.session.get(Referral, rid)
    assert stored.status == "closed" and stored.close_reason == "withdrawn"
    event = db.session.scalar(select(ReferralEvent).where(ReferralEvent.referral_id == rid,
                                                          ReferralEvent.to_status == "closed"))
    assert event.actor_id == loop["worker"].id and event.note == "The client moved away."
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "update",
                                                      AuditEvent.reason.like("fhir_task status:%")))


def test_staff_without_sight_of_the_referral_cannot_update(client, db, loop, make_user, make_team):
    stranger = make_user("counsellor", team=make_team("Elsewhere"))
    _send(client, "PATCH", f"Task/{loop['referral'].id}", bearer(stranger, db), {"status": "received"}, 404)
    assert _send(client, "PATCH", f"ServiceRequest/{loop['referral'].id}", bearer(loop["worker"], db),
                 {"status": "active"}, 405)
