"""The one approvals queue: every kind shows up, each decision goes through its area's rules and is
recorded with the comment, one's own request is refused, another team's items do not exist."""
from __future__ import annotations

from sqlalchemy import select

from carecycle.audit import AuditEvent
from carecycle.breakglass import BreakGlassGrant
from carecycle.notifications import Notification
from casework.models import Case, ClosureRequest, RiskAssessment
from referrals.models import Referral
from screening.models import Article
from supervision.models import Decision
from supervision.service import approvals
from tests.conftest import form_post, sign_in


def _decide(client, kind, item_id, decision, comment=""):
    return form_post(client, f"/supervision/approvals/{kind}/{item_id}", {"decision": decision, "comment": comment},
                     page="/supervision/approvals")


def test_the_queue_holds_every_kind_and_each_is_decided_with_a_comment(db, client, crew, items, make_case):
    c = crew()
    risk = items.risk(c.counsellor)
    closure = items.closure(c.counsellor2)
    grant = items.break_glass(c.social_worker, make_case(c.counsellor, risk_level="low"))
    article = items.article(c.counsellor)
    override = items.override(c.counsellor)

    assert sign_in(client, c.supervisor.username).status_code == 302
    page = client.get("/supervision/approvals").get_data(as_text=True)
    for kind, item in (("risk", risk), ("closure", closure), ("break_glass", grant), ("article", article),
                       ("override", override)):
        assert f'id="item-{item.id}"' in page and f'href="/supervision/approvals/{kind}/{item.id}"' in page
    assert page.index(f'id="item-{risk.id}"') < page.index(f'id="item-{closure.id}"')  # imminent first
    # one compact row each: what the supervisor reads to decide is on the item's own page
    assert "Plan and intent this week." not in page and "Goals reached, client stable." not in page
    viewed = {(e.object_type, e.object_id) for e in db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "view", AuditEvent.actor_id == c.supervisor.id))}
    assert ("risk_assessment", str(risk.id)) not in viewed  # the list showed no rationale
    texts = {kind: client.get(f"/supervision/approvals/{kind}/{item.id}").get_data(as_text=True)
             for kind, item in (("risk", risk), ("closure", closure), ("break_glass", grant),
                                ("article", article))}
    assert "Plan and intent this week." in texts["risk"] and "Goals reached, client stable." in texts["closure"]
    assert "Covering the duty phone tonight" in texts["break_glass"] and "Sleep after a shock" in texts["article"]
    viewed = {(e.object_type, e.object_id) for e in db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "view", AuditEvent.actor_id == c.supervisor.id))}
    assert ("risk_assessment", str(risk.id)) in viewed and ("closure_request", str(closure.id)) in viewed
    only_closures = client.get("/supervision/approvals?kind=closure").get_data(as_text=True)
    assert f'id="item-{closure.id}"' in only_closures and f'id="item-{risk.id}"' not in only_closures

    risk_views = select(AuditEvent).where(AuditEvent.action == "view", AuditEvent.object_type == "risk_assessment")
    views_before = len(db.session.scalars(risk_views).all())
    assert _decide(client, "risk", risk.id, "acknowledge", "Seen; call daily.").status_code == 302
    # deciding is not a view of the record: only opening the item's page is
    assert len(db.session.scalars(risk_views).all()) == views_before
    refused = _decide(client, "closure", closure.id, "reject", "")
    assert refused.status_code == 400  # shown again on the item's page with the message
    assert "Say why, so that the worker knows what to do next." in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(ClosureRequest, closure.id).decision is None  # a refusal needs a comment
    assert _decide(client, "closure", closure.id, "reject", "One more review first.").status_code == 302
    assert _decide(client, "break_glass", grant.id, "reviewed", "Fine: duty cover.").status_code == 302
    assert _decide(client, "article", article.id, "publish").status_code == 302
    assert _decide(client, "override", override.id, "reviewed", "Justified.").status_code == 302

    db.session.expire_all()
    assert db.session.get(RiskAssessment, risk.id).acknowledged_by_id == c.supervisor.id
    assert db.session.get(RiskAssessment, risk.id).acknowledgement_comment == "Seen; call daily."
    assert db.session.get(ClosureRequest, closure.id).decision == "rejected"
    assert db.session.get(BreakGlassGrant, grant.id).reviewed_by_id == c.supervisor.id
    assert db.session.get(Article, article.id).status == "published"
    assert db.session.get(Referral, override.id).override_reviewed_by_id == c.supervisor.id
    decisions = {d.item_kind: d for d in db.session.scalars(select(Decision))}
    assert set(decisions) == {"risk", "closure", "break_glass", "article", "override"}
    assert decisions["break_glass"].comment == "Fine: duty cover." and "Fine" not in decisions["break_glass"]._comment
    assert decisions["closure"].decision == "reject" and decisions["closure"].decided_by_id == c.supervisor.id
    assert 'id="item-' not in client.get("/supervision/approvals").get_data(as_text=True)
    assert client.get(f"/supervision/approvals/closure/{closure.id}").status_code == 404  # no longer waiting
    # the people who asked are told
    told = {(n.user_id, n.kind) for n in db.session.scalars(select(Notification))}
    assert (c.counsellor.id, "decision_risk") in told and (c.counsellor2.id, "decision_closure") in told
    assert (c.counsellor.id, "decision_article") in told and (c.counsellor.id, "decision_override") in told


def test_a_supervisor_never_decides_their_own_request(db, client, crew, items, make_case):
    c = crew()
    own_closure = items.closure(c.supervisor, make_case(c.counsellor, risk_level="moderate"))
    own_risk = items.risk(c.supervisor, case=make_case(c.counsellor, risk_level="moderate"))
    own_article = items.article(c.supervisor, "Grief in the first weeks")
    assert sign_in(client, c.supervisor.username).status_code == 302
    page = client.get("/supervision/approvals").get_data(as_text=True)
    assert page.count('<span class="tag">Your own request</span>') == 3
    for kind, item in (("closure", own_closure), ("risk", own_risk), ("article", own_article)):
        own_page = client.get(f"/supervision/approvals/{kind}/{item.id}").get_data(as_text=True)
        assert "another supervisor must decide it" in own_page and 'name="decision"' not in own_page
    for kind, item, decision in (("closure", own_closure, "approve"), ("risk", own_risk, "acknowledge"),
                                 ("article", own_article, "publish")):
        assert _decide(client, kind, item.id, decision).status_code == 403
    db.session.expire_all()
    assert db.session.get(ClosureRequest, own_closure.id).decision is None
    assert db.session.get(RiskAssessment, own_risk.id).acknowledged_at is None
    assert db.session.get(Article, own_article.id).status == "in_review"
    assert db.session.scalar(select(Decision)) is None
    denied = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "permission_denied")).all()
    assert len(denied) >= 3


def test_another_teams_items_do_not_exist(db, client, crew, items):
    ours, theirs = crew("Ours"), crew("Theirs")
    risk, closure = items.risk(theirs.counsellor), items.closure(theirs.counsellor)
    override = items.override(theirs.counsellor)
    assert sign_in(client, ours.supervisor.username).status_code == 302
    page = client.get("/supervision/approvals").get_data(as_text=True)
    assert str(risk.id) not in page and str(closure.id) not in page and str(override.id) not in page
    assert client.get(f"/supervision/approvals/risk/{risk.id}").status_code == 404
    assert client.get(f"/supervision/approvals/override/{override.id}").status_code == 404
    assert client.get("/supervision/approvals/nonsense/x").status_code == 404
    for kind, item, decision in (("risk", risk, "acknowledge"), ("closure", closure, "approve"),
                                 ("override", override, "reviewed")):
        assert _decide(client, kind, item.id, decision, "x").status_code == 404
    assert _decide(client, "nonsense", risk.id, "approve").status_code == 404
    assert _decide(client, "risk", "not-a-uuid", "acknowledge").status_code == 404
    db.session.expire_all()
    assert db.session.get(RiskAssessment, risk.id).acknowledged_at is None
    assert db.session.get(Case, closure.case_id).phase != "closed"


def test_deciding_twice_is_a_conflict(db, crew, items, app):
    c = crew()
    closure = items.closure(c.counsellor)
    with app.test_request_context():
        approvals.decide(c.supervisor, "closure", closure.id, "approve", None)
        db.session.commit()
        import pytest

        from carecycle.validation import Conflict
        with pytest.raises(Conflict):
            approvals.decide(c.supervisor, "closure", closure.id, "reject", "no")


def test_workers_have_no_queue(client, login_as):
    login_as("counsellor")
    assert client.get("/supervision/approvals").status_code == 403


def test_supervisors_are_notified_of_what_waits(db, crew, items, make_case):
    c = crew()
    risk = items.risk(c.counsellor)
    grant = items.break_glass(c.social_worker, make_case(c.counsellor2, risk_level="low"))
    told = {(n.user_id, n.kind, n.object_id) for n in db.session.scalars(select(Notification))}
    assert (c.supervisor.id, "approval_risk", str(risk.id)) in told
    assert (c.supervisor.id, "break_glass", str(grant.id)) in told
    assert all(n.link.startswith("/") for n in db.session.scalars(select(Notification)))


def test_a_comment_too_long_is_refused_with_a_message(db, client, crew, items):
    c = crew()
    closure = items.closure(c.counsellor)
    assert sign_in(client, c.supervisor.username).status_code == 302
    response = _decide(client, "closure", closure.id, "reject", "x" * 2001)
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert text.count("Keep the comment under 2000 characters.") == 1 and "x" * 2001 in text  # kept to shorten
    # without the form's CSRF token nothing is decided either
    assert client.post(f"/supervision/approvals/closure/{closure.id}",
                       data={"decision": "approve", "comment": ""}).status_code == 400
    db.session.expire_all()
    assert db.session.get(ClosureRequest, closure.id).decision is None
    assert db.session.scalar(select(Decision)) is None
