"""One queue for what needs a supervisor: high and imminent risk assessments to acknowledge, case
closures to approve, break-glass accesses to review, articles to publish, and consent overrides on
referrals to review, and administrators' account changes that grant case access (separation of
duties: the rule is the shell's, carecycle.accounts.separation). Each decision goes through the
owning area's service (so its rules hold) and is recorded here with the supervisor's comment. A supervisor
never decides their own request."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from carecycle import breakglass
from carecycle.accounts import separation
from carecycle.accounts.models import Team, User
from carecycle.audit import in_words, record_event, record_view
from carecycle.breakglass import BreakGlassGrant
from carecycle.database import utcnow
from carecycle.extensions import db
from carecycle.i18n import language_name
from carecycle.lifecycle import Forbidden, NotFound, load_visible
from carecycle.localtime import format_when
from carecycle.permissions import Permission, role_has
from carecycle.roles import Role
from carecycle.validation import Conflict, Invalid
from casework.enums import ClosureReason, Phase, RiskLevel
from casework.models import Case, RiskAssessment
from casework.service import assessments, phases
from casework.service.triage import users_by_id
from referrals.service import referrals as referral_service
from screening.models import Article, ArticleStatus
from screening.service import articles as article_service
from screening.service import get_instrument, translations
from supervision.models import Decision
from supervision.service.common import as_uuid

COMMENT_MAX = 2000
QUEUE_LIMIT = 200  # items per kind on the page (oldest first); the count says when there are more

KINDS = {
    "risk": _l("Risk assessment to acknowledge"),
    "closure": _l("Case closure to approve"),
    "break_glass": _l("Break-glass access to review"),
    "article": _l("Article to publish"),
    "override": _l("Referral sent without consent"),
    "account": _l("Account change to confirm"),
    "translation": _l("Questionnaire translation to check"),
}

# decision code -> (label, comment required)
DECISIONS = {
    "risk": {"acknowledge": (_l("Acknowledge"), False)},
    "closure": {"approve": (_l("Approve closure"), False), "reject": (_l("Do not approve"), True)},
    "break_glass": {"reviewed": (_l("Mark reviewed"), False)},
    "article": {"publish": (_l("Approve and publish"), False), "return": (_l("Send back for changes"), True)},
    "override": {"reviewed": (_l("Mark reviewed"), False)},
    "account": {"confirm": (_l("Confirm the change"), False), "decline": (_l("Decline the change"), False)},
    "translation": {},  # compared row by row and approved on its own review page (screening), never from here
}

DECISION_LABELS = {
    "acknowledge": _l("Acknowledged"), "approve": _l("Approved"), "reject": _l("Not approved"),
    "reviewed": _l("Reviewed"), "publish": _l("Published"), "return": _l("Sent back"),
    "confirm": _l("Confirmed"), "decline": _l("Declined"),
}


@dataclass
class Item:
    kind: str
    id: str
    at: datetime                 # when it started waiting
    requested_by: User | None
    link: str                    # the record
    urgent: bool = False
    own: bool = False            # the supervisor's own request: shown, never decided by them
    facts: list = field(default_factory=list)  # (label, value) pairs: enough to decide
    risk: str | None = None      # the risk level at stake (a case's), for the queue's row
    viewed: tuple | None = None  # (object type, id): opening the item shows that record's content (audited)

    @property
    def kind_label(self):
        return KINDS[self.kind]

    @property
    def risk_label(self):
        return RiskLevel(self.risk).label if self.risk in RiskLevel._value2member_map_ else None

    @property
    def choices(self) -> dict:
        return DECISIONS[self.kind]


def _risk_items(supervisor) -> list[Item]:
    rows = db.session.scalars(assessments.acknowledgements(supervisor).limit(QUEUE_LIMIT)
                              .options(selectinload(RiskAssessment.assessed_by)))  # the cases come with the select
    items = []
    for a in rows:
        items.append(
            Item(
                "risk",
                str(a.id),
                a.assessed_at,
                a.assessed_by,
                url_for("casework.assessment_detail", case_id=a.case_id, assessment_id=a.id),
                urgent=a.risk_level == RiskLevel.IMMINENT.value,
                own=a.assessed_by_id == supervisor.id,
                risk=a.risk_level,
                viewed=("risk_assessment", a.id),
                facts=[
                    (_l("Risk level"), RiskLevel(a.risk_level).label),
                    (
                        _l("Screener suggested"),
                        RiskLevel(a.suggested_level).label
                        if a.suggested_level in RiskLevel._value2member_map_
                        else "—",
                    ),
                    (_l("Case phase"), Phase(a.case.phase).label),
                    (_l("Rationale"), a.rationale),
                ],
            )
        )
    return items


def _closure_items(supervisor) -> list[Item]:
    rows = phases.closure_requests_for(supervisor, QUEUE_LIMIT)
    # the cases and the requesters of these requests in one statement each, not one per request
    cases = {c.id: c for c in db.session.scalars(select(Case).where(Case.id.in_({r.case_id for r in rows})))} \
        if rows else {}
    requesters = users_by_id(r.requested_by_id for r in rows)
    items = []
    for r in rows:
        items.append(Item("closure", str(r.id), r.requested_at, requesters.get(r.requested_by_id),
                          url_for("casework.case_detail", case_id=r.case_id),
                          own=r.requested_by_id == supervisor.id, risk=cases[r.case_id].risk_level,
                          viewed=("closure_request", r.id),
                          facts=[(_l("Reason"), ClosureReason(r.reason).label),
                                 (_l("Current risk"), RiskLevel(cases[r.case_id].risk_level).label),
                                 (_l("Closure summary"), r.summary)]))
    return items


def _break_glass_items(supervisor) -> list[Item]:
    rows: list[BreakGlassGrant] = list(db.session.scalars(select(BreakGlassGrant).where(
        BreakGlassGrant.team_id == supervisor.team_id, BreakGlassGrant.reviewed_at.is_(None))
        .order_by(BreakGlassGrant.granted_at).limit(QUEUE_LIMIT)
        .options(selectinload(BreakGlassGrant.user)))) if supervisor.team_id else []
    writes = breakglass.writes_under(rows)
    items = []
    for g in rows:
        target = breakglass.resolve_target(g.object_type, g.object_id)
        done = "\n".join(f"{in_words(e)} · {format_when(e.at)}"
                         for e in writes[g.id]) or _l("Nothing written under this grant.")
        items.append(Item("break_glass", str(g.id), g.granted_at, g.user,
                          target.url if target else url_for("web.break_glass_review"),
                          own=g.user_id == supervisor.id,
                          facts=[(_l("Record"), g.object_label), (_l("Reason given"), g.reason),
                                 (_l("Access until"), format_when(g.expires_at)),
                                 (_l("Written under it"), done)]))
    return items


def _article_items(supervisor) -> list[Item]:
    if not role_has(supervisor.role, Permission.ARTICLES_REVIEW):
        return []
    rows = db.session.scalars(select(Article).where(Article.status == ArticleStatus.IN_REVIEW.value)
                              .order_by(Article.submitted_at).limit(QUEUE_LIMIT)
                              .options(selectinload(Article.author)))
    items = []
    for a in rows:
        items.append(Item("article", str(a.id), a.submitted_at or a.updated_at, a.author,
                          url_for("library.detail", article_id=a.id),
                          own=a.author_id == supervisor.id,
                          facts=[(_l("Title"), a.title), (_l("Language"), language_name(a.language)),
                                 (_l("Summary"), a.summary)]))
    return items


def _override_items(supervisor) -> list[Item]:
    if supervisor.team_id is None:
        return []
    rows = db.session.scalars(referral_service.overrides_to_review(supervisor).limit(QUEUE_LIMIT))
    items = []
    for r in rows:
        items.append(Item("override", str(r.id), r.override_at or r.created_at, r.override_by,
                          url_for("referrals.referral_detail", referral_id=r.id),
                          own=r.override_by_id == supervisor.id,
                          facts=[(_l("Partner"), r.service.organisation.name if r.service else "—"),
                                 (_l("Tier"), r.tier), (_l("Reason for sending without consent"), r.override_reason)]))
    return items


def _account_items(supervisor) -> list[Item]:
    """Administrators' account changes that wait for a supervisor (the rule is the shell's)."""
    items = []
    for c in separation.to_decide(supervisor, QUEUE_LIMIT):
        user = c.user
        previous = None
        if c.previous_role is not None:
            team = db.session.get(Team, c.previous_team_id) if c.previous_team_id else None
            previous = Role(c.previous_role).label if team is None else f"{Role(c.previous_role).label} · {team.name}"
        items.append(Item("account", str(c.id), c.requested_at, c.requested_by,
                          url_for("supervision.approvals") + f"#item-{c.id}",
                          own=c.requested_by_id == supervisor.id,
                          facts=[(_l("Change"), separation.KINDS[c.kind]),
                                 (_l("Account"), f"{user.name} ({user.username})"),
                                 (_l("Role"), Role(user.role).label),
                                 (_l("Team"), user.team.name if user.team else "—"),
                                 (_l("Before the change"), previous)]))
    return items


def _translation_items(supervisor) -> list[Item]:
    """Translation packs in review (service-wide): the item leads to the side-by-side review page."""
    if not role_has(supervisor.role, Permission.TRANSLATIONS_APPROVE):
        return []
    items = []
    for row in translations.in_review(QUEUE_LIMIT):
        instrument = get_instrument(row.instrument)
        items.append(Item("translation", str(row.id), row.entered_at, row.entered_by,
                          url_for("screening.translation_review", pack_id=row.id),
                          own=row.entered_by_id == supervisor.id,
                          facts=[(_l("Questionnaire"), instrument.name if instrument else row.instrument),
                                 (_l("Language"), language_name(row.language)), (_l("File"), row.file_name)]))
    return items


_BUILDERS = {"risk": _risk_items, "closure": _closure_items, "break_glass": _break_glass_items,
             "article": _article_items, "override": _override_items, "account": _account_items,
             "translation": _translation_items}


def queue(supervisor) -> list[Item]:
    """Everything waiting for the supervisor, most urgent first, then the longest waiting: one compact
    row each (the facts are read on the item's own page, where opening a rationale or a closure
    summary is audited as a view of the case record)."""
    items = [item for build in _BUILDERS.values() for item in build(supervisor)]
    items.sort(key=lambda i: (not i.urgent, i.at))
    record_event("view", "approvals_queue", supervisor.team_id, reason=f"items:{len(items)}")
    return items


def find(supervisor, kind: str, item_id) -> Item | None:
    """One waiting item the supervisor may see (None: unknown, another team's, or already decided);
    showing it is a view of the record it is about, audited."""
    if kind not in _BUILDERS or as_uuid(item_id) is None:
        return None
    wanted = str(as_uuid(item_id))
    item = next((i for i in _BUILDERS[kind](supervisor) if i.id == wanted), None)
    if item is not None and item.viewed is not None:
        record_view(*item.viewed)
    return item


# ------------------------------------------------------------------ deciding
def _clean_comment(comment, required: bool) -> str | None:
    comment = comment.strip() if isinstance(comment, str) else ""
    if len(comment) > COMMENT_MAX:
        raise Invalid({"comment": _("Keep the comment under %(n)d characters.", n=COMMENT_MAX)})
    if required and not comment:
        raise Invalid({"comment": _("Say why, so that the worker knows what to do next.")})
    return comment or None


def _refuse_own(kind: str, item_id, supervisor) -> None:
    raise Forbidden(_("This is your own request: another supervisor must decide it."), kind, item_id,
                    reason=f"own {kind}")


def decide(supervisor, kind: str, item_id, decision: str, comment=None) -> Decision:
    """Record a decision on one queue item (the caller commits). Unknown or invisible items answer 404;
    one's own request is refused (Forbidden, 403); an item already decided is a Conflict (409)."""
    if kind not in DECISIONS:
        raise NotFound("approval item")
    if decision not in DECISIONS[kind]:
        raise Invalid({"decision": _("Choose one of the offered decisions.")})
    comment = _clean_comment(comment, DECISIONS[kind][decision][1])
    iid = as_uuid(item_id)
    if iid is None:
        raise NotFound("approval item")
    team_id = supervisor.team_id
    if kind == "risk":
        assessment = load_visible("assessment_to_acknowledge", iid, supervisor)
        if assessment.assessed_by_id == supervisor.id:
            _refuse_own("risk_assessment", iid, supervisor)
        assessments.acknowledge(supervisor, assessment, comment)
    elif kind == "closure":
        phases.decide_closure(supervisor, load_visible("closure_request", iid, supervisor), decision == "approve",
                              comment)
    elif kind == "break_glass":
        grant = db.session.get(BreakGlassGrant, iid)
        if grant is None or grant.team_id is None or grant.team_id != supervisor.team_id:
            raise NotFound("approval item")
        if grant.user_id == supervisor.id:
            _refuse_own("break_glass_grant", iid, supervisor)
        if grant.reviewed_at is not None:
            raise Conflict(_("This access has already been reviewed."))
        breakglass.mark_reviewed(supervisor, iid)
    elif kind == "article":
        article = article_service.get(iid)
        if article is None:
            raise NotFound("approval item")
        if article.status != ArticleStatus.IN_REVIEW.value:
            raise Conflict(_("This article is no longer waiting for review."))
        if article.author_id == supervisor.id:
            _refuse_own("article", iid, supervisor)
        try:
            article_service.transition(supervisor, article, decision, note=comment)
        except article_service.ArticleError as error:
            raise Invalid({"comment" if k == "note" else k: str(v) for k, v in error.fields.items()}) from error
        except article_service.TransitionRefused:
            raise Forbidden(_("Your role cannot decide this article."), "article", iid,
                            reason="article review") from None
        team_id = None
    elif kind == "override":
        referral = load_visible("consent_override", iid, supervisor)
        if referral.override_by_id == supervisor.id:
            _refuse_own("referral", iid, supervisor)
        if referral.override_reviewed_at is not None:
            raise Conflict(_("This override has already been reviewed."))
        referral_service.review_override(supervisor, referral)
    elif kind == "account":
        change = separation.load(iid)
        if change is None or not (change.team_id == supervisor.team_id
                                  or supervisor.id in {u.id for u in separation.confirmers(change)}):
            raise NotFound("approval item")
        try:
            (separation.confirm if decision == "confirm" else separation.decline)(change, supervisor)
        except separation.ConfirmationRefused as refused:
            if refused.status == 409:
                raise Conflict(refused.message) from refused
            raise Forbidden(refused.message, "account_change", iid,
                            reason="account change not theirs to decide") from refused
        team_id = change.team_id
    row = Decision(item_kind=kind, item_id=str(iid), decision=decision, team_id=team_id,
                   decided_by_id=supervisor.id, decided_at=utcnow())
    row.comment = comment
    db.session.add(row)
    db.session.flush()
    record_event("update", "supervision_decision", row.id, reason=f"{kind}:{decision}")
    return row


def recent_decisions(supervisor, limit: int = 25) -> list[Decision]:
    """Decisions taken in the supervisor's team (and on articles, which belong to no team)."""
    return list(db.session.scalars(select(Decision).where(
        or_(Decision.team_id == supervisor.team_id, Decision.decided_by_id == supervisor.id))
        .order_by(Decision.decided_at.desc()).limit(limit).options(selectinload(Decision.decided_by))))


__all__ = ["queue", "find", "decide", "recent_decisions", "Item", "KINDS", "DECISIONS", "DECISION_LABELS"]
