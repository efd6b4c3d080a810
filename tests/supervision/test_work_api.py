"""The approvals queue and reassignment through the API: the pages' rules, bearer tokens."""
from __future__ import annotations

from sqlalchemy import func, select

from carecycle.accounts.service import create_token
from casework.models import Case, ClosureRequest, RiskAssessment
from supervision.models import Decision

REASON = "Alice is on leave for three weeks."


def _h(db, user) -> dict:
    token = create_token(user)
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def test_the_queue_lists_an_item_shows_its_facts_and_takes_a_decision(db, client, crew, items):
    c = crew()
    risk = items.risk(c.counsellor)
    closure = items.closure(c.counsellor)
    sup = _h(db, c.supervisor)
    queue = client.get("/api/v1/approvals", headers=sup).get_json()
    assert queue["total"] == 2 and queue["counts"]["risk"] == 1 and queue["counts"]["closure"] == 1
    assert queue["items"][0]["kind"] == "risk" and queue["items"][0]["urgent"] is True  # imminent first
    assert queue["items"][0]["decisions"] == ["acknowledge"]
    only = client.get("/api/v1/approvals?kind=closure", headers=sup).get_json()
    assert [i["id"] for i in only["items"]] == [str(closure.id)]
    bad = client.get("/api/v1/approvals?kind=holiday", headers=sup)
    assert bad.status_code == 422 and "kind" in bad.get_json()["error"]["fields"]

    item = client.get(f"/api/v1/approvals/risk/{risk.id}", headers=sup).get_json()
    assert {"label": "Rationale", "value": "Plan and intent this week."} in item["facts"]
    # a rejection needs a reason; an unknown decision is refused; neither changes anything
    assert client.post(f"/api/v1/approvals/closure/{closure.id}/decision", headers=sup,
                       json={"decision": "reject"}).status_code == 422
    assert client.post(f"/api/v1/approvals/risk/{risk.id}/decision", headers=sup,
                       json={"decision": "approve"}).status_code == 422
    assert client.post(f"/api/v1/approvals/risk/{risk.id}/decision", headers=sup,
                       json={"decision": "acknowledge", "why": "x"}).status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Decision)) == 0
    done = client.post(f"/api/v1/approvals/risk/{risk.id}/decision", headers=sup,
                       json={"decision": "acknowledge", "comment": "Daily calls."})
    assert done.status_code == 200 and done.get_json()["decision"] == "acknowledge"
    db.session.expire_all()
    assert db.session.get(RiskAssessment, risk.id).acknowledged_by_id == c.supervisor.id
    assert client.post(f"/api/v1/approvals/risk/{risk.id}/decision", headers=sup,
                       json={"decision": "acknowledge"}).status_code in (404, 409)
    approved = client.post(f"/api/v1/approvals/closure/{closure.id}/decision", headers=sup,
                           json={"decision": "approve"})
    assert approved.status_code == 200
    db.session.expire_all()
    assert db.session.get(ClosureRequest, closure.id).decided_at is not None


def test_the_queue_is_the_supervisors_own_team_only(db, client, crew, items):
    mine, theirs = crew(), crew()
    risk = items.risk(theirs.counsellor)
    sup = _h(db, mine.supervisor)
    assert client.get("/api/v1/approvals", headers=sup).get_json()["total"] == 0
    assert client.get(f"/api/v1/approvals/risk/{risk.id}", headers=sup).status_code == 404
    assert client.post(f"/api/v1/approvals/risk/{risk.id}/decision", headers=sup,
                       json={"decision": "acknowledge"}).status_code == 404
    assert client.get("/api/v1/approvals", headers=_h(db, mine.counsellor)).status_code == 403
    assert client.get("/api/v1/approvals").status_code == 401
    db.session.expire_all()
    assert db.session.get(RiskAssessment, risk.id).acknowledged_at is None


def test_reassigning_cases_through_the_api(db, client, crew, make_case):
    c = crew()
    case, other = make_case(c.counsellor, risk_level="high"), make_case(c.counsellor, risk_level="low")
    sup = _h(db, c.supervisor)
    url = f"/api/v1/team/workers/{c.counsellor.id}/reassign"
    moved = client.post(url, headers=sup, json={"cases": [str(case.id)], "to_worker": str(c.counsellor2.id),
                                                "reason": REASON})
    assert moved.status_code == 200, moved.get_data(as_text=True)
    assert moved.get_json() == {"moved": [str(case.id)], "skipped": 0, "from_worker": c.counsellor.username,
                                "to_worker": c.counsellor2.username}
    db.session.expire_all()
    assert db.session.get(Case, case.id).assigned_counsellor_id == c.counsellor2.id
    assert db.session.get(Case, other.id).assigned_counsellor_id == c.counsellor.id
    everything = client.post(url, headers=sup, json={"everything": True, "to_worker": str(c.counsellor2.id),
                                                     "reason": REASON}).get_json()
    assert everything["moved"] == [str(other.id)]


def test_reassignment_is_checked_and_refused_to_others(db, client, crew, make_case):
    c, elsewhere = crew(), crew()
    case = make_case(c.counsellor)
    sup = _h(db, c.supervisor)
    url = f"/api/v1/team/workers/{c.counsellor.id}/reassign"
    good = {"cases": [str(case.id)], "to_worker": str(c.counsellor2.id), "reason": REASON}
    for body, field in (({**good, "reason": "x"}, "reason"), ({**good, "to_worker": str(c.social_worker.id)},
                                                             "to_worker"),
                        ({**good, "cases": []}, "cases"), ({**good, "cases": "all"}, "cases"),
                        ({**good, "urgent": True}, "urgent")):
        refused = client.post(url, headers=sup, json=body)
        assert refused.status_code == 422 and field in refused.get_json()["error"]["fields"], (field, refused.json)
    assert client.post(f"/api/v1/team/workers/{elsewhere.counsellor.id}/reassign", headers=sup,
                       json=good).status_code == 404
    assert client.post(url, headers=_h(db, c.counsellor), json=good).status_code == 403
    assert client.post(url, headers=_h(db, elsewhere.supervisor), json=good).status_code == 404
    db.session.expire_all()
    assert db.session.get(Case, case.id).assigned_counsellor_id == c.counsellor.id
