"""Outbound referrals: from a case to a partner service, and their closed-loop lifecycle.

    draft -> sent -> acknowledged -> accepted | declined (reason) -> in_service -> completed (outcome)
                                                                    ...        -> closed (reason)

A referral is closed with a reason: `withdrawn` (any time before it ends), `expired` (sent or
acknowledged but never decided) or `no_show` (accepted or in service, the client did not come).
Any other move is refused (409 `invalid_transition`).

Sending needs the client's current consent to share with referral partners, else it is refused
(409 `consent_required`); only a tier-1 referral for a case at `high` or `imminent` risk may
override, with a written reason, audited and listed for the team's supervisor.

Who sees a referral: whoever sees its case (casework.service.access). The partner answers by a
partner link (referrals.service.links), without an account."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import and_, func, select
from sqlalchemy import case as sql_case
from sqlalchemy.orm import selectinload

from carecycle.audit import record_event
from carecycle.database import utcnow
from carecycle.extensions import db
from carecycle.mode import ModeState, bring_deadlines_forward, scaled
from carecycle.validation import Invalid
from casework.enums import ConsentScope, Phase, RiskLevel
from casework.models import CarePlanGoal, Case
from casework.service.access import visible_cases
from casework.service.cases import add_event
from casework.service.clients import has_consent
from referrals.enums import RESPONSE_DEADLINES, CloseReason, ReferralStatus, ReferralUrgency, ServiceStatus, Tier
from referrals.models import Referral, ReferralEvent, Service
from referrals.models.referrals import WAITING_FOR_ANSWER
from referrals.service import directory, sharing
from referrals.service.common import ConsentRequired, Errors, TransitionRefused, as_uuid, check_version, text

S = ReferralStatus

TRANSITIONS: dict[ReferralStatus, tuple[ReferralStatus, ...]] = {
    S.DRAFT: (S.SENT, S.CLOSED),
    S.SENT: (S.ACKNOWLEDGED, S.CLOSED),
    S.ACKNOWLEDGED: (S.ACCEPTED, S.DECLINED, S.CLOSED),
    S.ACCEPTED: (S.IN_SERVICE, S.CLOSED),
    S.IN_SERVICE: (S.COMPLETED, S.CLOSED),
    S.DECLINED: (),
    S.COMPLETED: (),
    S.CLOSED: (),
}

# Which closing reason fits which state.
CLOSE_REASONS: dict[CloseReason, tuple[ReferralStatus, ...]] = {
    CloseReason.WITHDRAWN: (S.DRAFT, S.SENT, S.ACKNOWLEDGED, S.ACCEPTED, S.IN_SERVICE),
    CloseReason.EXPIRED: (S.SENT, S.ACKNOWLEDGED),
    CloseReason.NO_SHOW: (S.ACCEPTED, S.IN_SERVICE),
}

# What the partner may do through the link (never send or close).
PARTNER_MOVES = (S.ACKNOWLEDGED, S.ACCEPTED, S.DECLINED, S.IN_SERVICE, S.COMPLETED)

OVERRIDE_TIER = Tier.EMERGENCY.number
OVERRIDE_RISKS = (RiskLevel.HIGH.value, RiskLevel.IMMINENT.value)
OVERRIDE_MIN_REASON = 20
REASON_MAX = 4000
NOTE_MAX = 4000


def allowed_moves(referral: Referral) -> list[ReferralStatus]:
    return list(TRANSITIONS[referral.status_enum])


def partner_moves(referral: Referral) -> list[ReferralStatus]:
    """What the partner may do next through the link: the allowed moves that are theirs to make."""
    return [move for move in TRANSITIONS[referral.status_enum] if move in PARTNER_MOVES]


def close_reasons_for(referral: Referral) -> list[CloseReason]:
    return [reason for reason, states in CLOSE_REASONS.items() if referral.status_enum in states]


# ------------------------------------------------------------------ who sees what
def visible_referrals(user):
    """A WHERE clause: referrals on cases the user may see (a supervisor: the team's)."""
    return Referral.case_id.in_(select(Case.id).where(visible_cases(user)))


def overdue_clause():
    """A WHERE clause: referrals waiting for the partner's answer past their deadline (`Referral.overdue`)."""
    return and_(Referral.status.in_(WAITING_FOR_ANSWER), Referral.respond_by < utcnow())


def list_statement(user, *, status: str = "", overdue: bool = False, open_only: bool = False):
    stmt = (select(Referral).where(visible_referrals(user))
            .options(selectinload(Referral.service).selectinload(Service.organisation),
                     selectinload(Referral.client), selectinload(Referral.created_by))
            .order_by(sql_case((Referral.status == S.SENT.value, 0), else_=1), Referral.respond_by,
                      Referral.updated_at.desc()))
    if status in [s.value for s in ReferralStatus]:
        stmt = stmt.where(Referral.status == status)
    if open_only:
        stmt = stmt.where(Referral.status.notin_([s.value for s in ReferralStatus if s.final]))
    if overdue:
        stmt = stmt.where(overdue_clause())
    return stmt


def overdue_count(user) -> int:
    return db.session.scalar(select(func.count()).select_from(Referral).where(
        visible_referrals(user), overdue_clause())) or 0


def goal_choices(case: Case, current=None) -> list[CarePlanGoal]:
    """The case's care-plan goals a referral may serve: the open ones, and the one it already serves."""
    goals = db.session.scalars(select(CarePlanGoal).where(CarePlanGoal.case_id == case.id)
                               .order_by(CarePlanGoal.position, CarePlanGoal.created_at)).all()
    return [g for g in goals if g.open or g.id == current]


def goal_links(case: Case, goals) -> dict:
    """For the care plan (the `goal_links` hook, see casework.service.careplans.goal_links): the referrals
    serving each goal."""
    ids = [g.id for g in goals]
    if not ids:
        return {}
    links: dict = {}
    rows = db.session.scalars(select(Referral).where(Referral.case_id == case.id, Referral.goal_id.in_(ids))
                              .options(selectinload(Referral.service)).order_by(Referral.created_at))
    for referral in rows:
        label = _("Referral to %(service)s: %(status)s", service=referral.service.name,
                  status=referral.status_enum.label)
        links.setdefault(referral.goal_id, []).append(
            (label, url_for("referrals.referral_detail", referral_id=referral.id)))
    return links


def for_case(case: Case) -> Sequence[Referral]:
    return db.session.scalars(select(Referral).where(Referral.case_id == case.id)
                              .options(selectinload(Referral.service).selectinload(Service.organisation))
                              .order_by(Referral.created_at.desc())).all()


# ------------------------------------------------------------------ creating and editing a draft
def _clean(data: dict, case: Case, *, partial: bool = False) -> dict:
    errors = Errors()
    clean: dict = {}
    if not partial or "service_id" in data:
        service = directory.get_service(data.get("service_id")) if data.get("service_id") else None
        if service is None or service.status != ServiceStatus.ACTIVE:
            errors["service_id"] = _("Choose an active service from the directory.")
        clean["service"] = service
    if not partial or "reason" in data:
        clean["reason"] = text(data, "reason", errors, limit=REASON_MAX, required=True,
                               message=_("Say why you refer the client: what they need from this service."))
    if not partial or "urgency" in data:
        urgency = data.get("urgency") or ""
        if urgency not in [u.value for u in ReferralUrgency]:
            errors["urgency"] = _("Choose routine, urgent or emergency.")
        clean["urgency"] = urgency
    if "goal_id" in data:
        clean["goal_id"] = None
        if data.get("goal_id"):
            goal_id = as_uuid(data.get("goal_id"))
            goal = db.session.scalar(select(CarePlanGoal).where(CarePlanGoal.id == goal_id,
                                                                CarePlanGoal.case_id == case.id)) if goal_id else None
            if goal is None:
                errors["goal_id"] = _("Choose a goal of this case's care plan.")
            clean["goal_id"] = goal.id if goal else None
    if not partial or "share" in data:
        try:
            clean["share"] = sharing.clean_share(data.get("share"))
        except Invalid as error:
            errors.update(error.fields)
    errors.check()
    return clean


def create_referral(user, case: Case, data: dict) -> Referral:
    """A draft referral from a case to a service (the caller loaded the case for `user`)."""
    if case.phase == Phase.CLOSED.value:
        raise TransitionRefused(_("This case is closed; reopen it before referring the client."))
    clean = _clean(data, case)
    service = clean["service"]
    referral = Referral(case_id=case.id, client_id=case.client_id, team_id=case.team_id, service_id=service.id,
                        tier=service.organisation.tier, urgency=clean["urgency"], share=clean["share"],
                        goal_id=clean.get("goal_id"), created_by_id=user.id, status=S.DRAFT.value)
    referral.reason = clean["reason"]
    db.session.add(referral)
    db.session.flush()
    db.session.add(ReferralEvent(referral_id=referral.id, actor_id=user.id, to_status=S.DRAFT.value, at=utcnow()))
    add_event(case, "referral_draft", user, service.name)
    record_event("create", "referral", referral.id, reason=f"tier:{referral.tier}")
    return referral


def update_draft(user, referral: Referral, data: dict, version=None) -> Referral:
    if referral.status != S.DRAFT.value:
        raise TransitionRefused(_("Only a draft can be changed; this referral was already sent."))
    check_version(referral, version, _("Someone else changed this referral since you opened it."))
    clean = _clean(data, referral.case, partial=True)
    if "service" in clean:
        referral.service_id, referral.tier = clean["service"].id, clean["service"].organisation.tier
        referral.service = clean["service"]
    for name in ("urgency", "share", "goal_id"):
        if name in clean:
            setattr(referral, name, clean[name])
    if "reason" in clean:
        referral.reason = clean["reason"]
    referral.updated_at = utcnow()
    db.session.flush()
    record_event("update", "referral", referral.id, reason="draft")
    return referral


# ------------------------------------------------------------------ the lifecycle
def override_allowed(referral: Referral) -> bool:
    """Only a tier-1 referral for a case at high or imminent risk may go without consent."""
    return referral.tier == OVERRIDE_TIER and referral.case.risk_level in OVERRIDE_RISKS


def consent_given(referral: Referral) -> bool:
    return has_consent(referral.client, ConsentScope.REFERRAL_SHARING)


def response_deadline(tier: int, sent_at: datetime, state: ModeState | None = None) -> datetime:
    return sent_at + scaled(RESPONSE_DEADLINES[Tier(str(tier))], state)


def tighten_unanswered(state: ModeState, _change=None) -> int:
    """The mode-switch hook (carecycle.areas.add_mode_switch_hook): on the switch to emergency, each
    referral still waiting for the partner's answer is due by the earlier of its deadline and its
    emergency deadline, counted from when it was sent. Going back to normal moves nothing later.
    Returns how many moved."""
    if not state.emergency:
        return 0
    rows = db.session.execute(select(Referral.id, Referral.tier, Referral.sent_at, Referral.respond_by)
                              .where(Referral.status.in_(WAITING_FOR_ANSWER), Referral.sent_at.is_not(None),
                                     Referral.respond_by.is_not(None))).all()

    def emergency_deadline(tier, sent_at):
        try:
            return response_deadline(tier, sent_at, state)
        except (ValueError, KeyError):
            return None

    return bring_deadlines_forward(
        Referral.respond_by, ((row_id, respond_by, emergency_deadline(tier, sent_at))
                              for row_id, tier, sent_at, respond_by in rows),
        Referral.status.in_(WAITING_FOR_ANSWER), "referral")


def change_status(actor, referral: Referral, to_status: str, *, note: str | None = None,
                  close_reason: str | None = None, override_reason: str | None = None,
                  via_partner_link: bool = False) -> Referral:
    """Move a referral along its lifecycle; refuses a move the lifecycle does not allow (the caller commits).

    `actor` is the worker, or None for the partner acting through the link."""
    try:
        target = ReferralStatus(to_status)
    except (ValueError, TypeError):
        raise Invalid(
            {"status": _("Choose one of: %(options)s.", options=", ".join(s.value for s in ReferralStatus))}
        ) from None
    current = referral.status_enum
    if target not in TRANSITIONS[current] or (via_partner_link and target not in PARTNER_MOVES):
        raise TransitionRefused(_("A referral that is %(current)s cannot become %(target)s.",
                                  current=current.label, target=target.label))
    errors = Errors()
    note = text({"note": note}, "note", errors, limit=NOTE_MAX)
    if target is S.DECLINED and not note:
        errors["note"] = _("Say why the referral is declined.")
    if target is S.COMPLETED and not note:
        errors["note"] = _("Describe the outcome: what the service did for the client.")
    reason = None
    if target is S.CLOSED:
        try:
            reason = CloseReason(close_reason or "")
        except ValueError:
            errors["close_reason"] = _("Choose why it is closed: no-show, withdrawn or expired.")
    errors.check()
    if reason is not None and current not in CLOSE_REASONS[reason]:
        raise TransitionRefused(_("A referral that is %(current)s cannot be closed as '%(reason)s'.",
                                  current=current.label, reason=reason.label))
    if target is S.SENT:
        _send(actor, referral, override_reason)
    now = utcnow()
    referral.status = target.value
    referral.updated_at = now
    if target in (S.ACKNOWLEDGED, S.ACCEPTED, S.DECLINED) and referral.answered_at is None:
        referral.answered_at = now
    if target in (S.DECLINED, S.COMPLETED):
        referral.outcome = note
    if target is S.CLOSED and reason is not None:
        referral.close_reason = reason.value
        referral.outcome = note
    if target.final:
        referral.finished_at = now
    db.session.flush()  # bumps the version: a concurrent change of the same referral fails here
    db.session.add(ReferralEvent(referral_id=referral.id, actor_id=actor.id if actor else None,
                                 via_partner_link=via_partner_link, from_status=current.value,
                                 to_status=target.value, at=now, note=note))
    add_event(referral.case, f"referral_{target.value}", actor, referral.service.name)
    record_event("update", "referral", referral.id,
                 reason=f"{'partner_link:' if via_partner_link else ''}status:{current.value}->{target.value}")
    if target.final:
        from referrals.service import links
        links.revoke_all(referral, actor, reason="finished")
    return referral


def _send(user, referral: Referral, override_reason: str | None) -> None:
    service = referral.service
    if (service.archived_at is not None or service.organisation.archived_at is not None
            or service.status != ServiceStatus.ACTIVE):
        raise Invalid({"service_id": _("This service is no longer active in the directory; choose another.")})
    if referral.case.phase == Phase.CLOSED.value:
        raise TransitionRefused(_("This case is closed; reopen it before sending a referral."))
    override_reason = (override_reason or "").strip()
    if not consent_given(referral):
        if not override_reason:
            if override_allowed(referral):
                message = _("The client has not given consent to share with referral partners. Record the consent "
                            "on the client's page, or, because this is a tier-1 referral at %(risk)s, override with "
                            "a written reason (it is recorded and shown to your supervisor).",
                            risk=referral.case.risk.label)
            else:
                message = _("The client has not given consent to share with referral partners. Record the consent "
                            "on the client's page first. Without it only a tier-1 referral for a case at high or "
                            "imminent risk may be sent, with a written reason.")
            raise ConsentRequired(message)
        if not override_allowed(referral):
            raise ConsentRequired(_("Consent can only be overridden for a tier-1 referral of a case at high or "
                                    "imminent risk. Record the client's consent first."))
        if len(override_reason) < OVERRIDE_MIN_REASON:
            raise Invalid({"override_reason": _("Write at least %(n)d characters: why the referral cannot wait for "
                                                "consent.", n=OVERRIDE_MIN_REASON)})
        if len(override_reason) > 2000:
            raise Invalid({"override_reason": _("Use at most %(n)d characters.", n=2000)})
        referral.consent_override = True
        referral.override_reason = override_reason
        referral.override_by_id = user.id
        referral.override_at = utcnow()
        record_event("consent_override", "referral", referral.id,
                     reason=f"tier:{referral.tier} risk:{referral.case.risk_level}")
    now = utcnow()
    referral.shared = sharing.snapshot(referral.case, referral.client, referral.share or [])
    referral.sent_at, referral.sent_by_id = now, user.id
    referral.respond_by = response_deadline(referral.tier, now)


def send(user, referral: Referral, *, override_reason: str | None = None, note: str | None = None):
    """Send a draft: the consent gate, the frozen shared fields, the deadline, and a new partner link.
    Returns (referral, raw token of the partner link): the token is shown once and stored hashed."""
    change_status(user, referral, S.SENT.value, note=note, override_reason=override_reason)
    from referrals.service import links
    _link, token = links.issue(user, referral)
    return referral, token


# ------------------------------------------------------------------ consent overrides for the supervisor
def overrides_to_review(user, *, include_reviewed: bool = False):
    stmt = (select(Referral).where(Referral.consent_override.is_(True), Referral.team_id == user.team_id)
            .options(selectinload(Referral.service).selectinload(Service.organisation),
                     selectinload(Referral.override_by), selectinload(Referral.case))
            .order_by(Referral.override_at.desc()))
    if not include_reviewed:
        stmt = stmt.where(Referral.override_reviewed_at.is_(None))
    return stmt


def review_override(user, referral: Referral) -> Referral:
    if referral.override_reviewed_at is None:
        referral.override_reviewed_at, referral.override_reviewed_by_id = utcnow(), user.id
        record_event("review", "referral", referral.id, reason="consent_override")
    return referral


def count_overdue(now) -> dict[str, int]:
    """For /metrics: referrals sent and still unanswered past their deadline."""
    return {"referrals": db.session.scalar(select(func.count()).select_from(Referral).where(
        Referral.status.in_(WAITING_FOR_ANSWER), Referral.respond_by < now)) or 0}
