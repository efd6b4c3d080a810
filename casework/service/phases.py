"""Phase moves: intake -> crisis -> recovery -> closed, with the rules that guard each step.

- crisis -> recovery needs a current risk of `moderate` or lower, and a signed safety plan if the
  risk was ever `moderate` or higher;
- closing needs a summary and a reason, and a supervisor's approval when the risk was `moderate`
  or higher in the last 30 days (the request waits; the supervisor never approves their own);
- reopening needs a reason."""
from __future__ import annotations

from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from carecycle.areas import run_hooks
from carecycle.audit import record_event
from carecycle.database import utcnow
from carecycle.extensions import db
from carecycle.lifecycle import Forbidden, NotFound
from carecycle.validation import Conflict, Invalid
from casework.enums import ClosureReason, Phase, RiskLevel
from casework.models import Case, ClosureRequest
from casework.service import careplans, outcomes
from casework.service.cases import add_event, parse_version
from casework.service.safety import has_signed_plan

APPROVAL_WINDOW = timedelta(days=30)


def _rank(code: str) -> int:
    return RiskLevel(code).rank


def ever_at_least(case: Case, level: RiskLevel) -> bool:
    return any(_rank(change.risk_level) >= level.rank for change in case.risk_history) or \
        _rank(case.risk_level) >= level.rank


def at_least_within(case: Case, level: RiskLevel, window: timedelta) -> bool:
    """Was the risk `level` or higher at any moment in the last `window`?"""
    since = utcnow() - window
    in_force = None
    for change in case.risk_history:
        if change.at <= since:
            in_force = change.risk_level
        elif _rank(change.risk_level) >= level.rank:
            return True
    current = _rank(case.risk_level) >= level.rank
    return current or (in_force is not None and _rank(in_force) >= level.rank)


def _check_version(case: Case, version) -> None:
    if parse_version(version) != case.version:
        raise Conflict(_("Someone else changed this case since you opened it."), current_version=case.version)


def _set_phase(user, case: Case, phase: Phase, detail: str | None = None) -> None:
    old = case.phase
    case.phase = phase.value
    db.session.flush()
    add_event(case, "phase_changed", user, detail or f"{old} -> {phase.value}").case_version = case.version
    record_event("update", "case", case.id, reason=f"phase:{old}->{phase.value}")


def start_crisis_work(user, case: Case, version) -> Case:
    _check_version(case, version)
    if case.phase not in (Phase.INTAKE.value, Phase.RECOVERY.value):
        raise Conflict(_("Only a case in intake or recovery can move to crisis intervention."))
    _set_phase(user, case, Phase.CRISIS)
    return case


def move_to_recovery(user, case: Case, version) -> Case:
    _check_version(case, version)
    if case.phase not in (Phase.INTAKE.value, Phase.CRISIS.value):
        raise Conflict(_("Only a case in intake or crisis can move to recovery."))
    if _rank(case.risk_level) > RiskLevel.MODERATE.rank:
        raise Invalid({"phase": _("The current risk is above moderate. Reassess the risk before moving to "
                                  "recovery.")})
    if ever_at_least(case, RiskLevel.MODERATE) and not has_signed_plan(case):
        raise Invalid({"phase": _("The risk has been moderate or higher: a signed safety plan is needed "
                                  "before moving to recovery.")})
    _set_phase(user, case, Phase.RECOVERY)
    return case


def pending_closure(case: Case) -> ClosureRequest | None:
    return db.session.scalar(select(ClosureRequest).where(ClosureRequest.case_id == case.id,
                                                          ClosureRequest.decision.is_(None)))


def needs_approval(case: Case) -> bool:
    return at_least_within(case, RiskLevel.MODERATE, APPROVAL_WINDOW)


def request_closure(user, case: Case, version, summary: str, reason: str,
                    outcome_snapshot: dict | str | None = None) -> ClosureRequest | None:
    """Close now, or (when approval is needed) file a request for the team supervisor.
    Returns the pending request, or None when the case closed at once. The outcome snapshot (taken
    now; a text given is kept in it as the worker's statement) is stored with the closure."""
    _check_version(case, version)
    if case.phase == Phase.CLOSED.value:
        raise Conflict(_("This case is already closed."))
    if pending_closure(case):
        raise Conflict(_("A closure request is already waiting for the supervisor."))
    errors = {}
    summary = (summary or "").strip()
    if len(summary) < 10:
        errors["summary"] = _("Write a closure summary (at least 10 characters).")
    try:
        reason = ClosureReason(reason).value
    except ValueError:
        errors["reason"] = _("Choose a reason for closing.")
    if errors:
        raise Invalid(errors)
    snapshot = outcome_snapshot if isinstance(outcome_snapshot, dict) else closure_snapshot(case)
    if isinstance(outcome_snapshot, str) and outcome_snapshot.strip():
        snapshot["statement"] = outcome_snapshot.strip()
    if needs_approval(case):
        request = ClosureRequest(case_id=case.id, requested_by_id=user.id, reason=reason)
        request.summary = summary
        request.outcome_snapshot = snapshot or None
        db.session.add(request)
        db.session.flush()
        add_event(case, "closure_requested", user, reason).case_version = case.version
        record_event("create", "closure_request", request.id)
        return request
    _close(user, case, summary, reason, snapshot or None)
    return None


def _close(user, case: Case, summary: str, reason: str, outcome_snapshot: dict | None = None) -> None:
    case.closure_summary, case.closure_reason, case.closed_at = summary, reason, utcnow()
    case.outcome_snapshot = outcome_snapshot
    _set_phase(user, case, Phase.CLOSED, reason)
    run_hooks("case_closed", user, case)  # follow-ups are scheduled (casework.service.followup)


def decide_closure(supervisor, request: ClosureRequest, approve: bool, comment: str | None = None) -> None:
    """The one rule for deciding a closure, for the case pages, the approvals queue and the API alike:
    the request is one of the supervisor's team (load it with `load_visible("closure_request", ...)`;
    another team's is NotFound here too), nobody decides their own (Forbidden, 403, audited), and a
    request is decided once (Conflict, 409)."""
    if request.case.team_id != supervisor.team_id:
        raise NotFound("closure_request")
    if request.requested_by_id == supervisor.id:
        raise Forbidden(_("This is your own request: another supervisor must decide it."), "closure_request",
                        request.id, reason="own closure_request")
    if request.decision is not None:
        raise Conflict(_("This request has already been decided."))
    request.decision = "approved" if approve else "rejected"
    request.decided_by_id, request.decided_at = supervisor.id, utcnow()
    request.comment = (comment or "").strip() or None
    record_event("update", "closure_request", request.id, reason=request.decision, actor=supervisor)
    if approve:
        _close(supervisor, request.case, request.summary, request.reason, request.outcome_snapshot)
    else:
        add_event(request.case, "closure_rejected", supervisor, request.comment)


def closure_requests_for(supervisor, limit: int | None = None) -> list[ClosureRequest]:
    """Undecided closure requests of the supervisor's team, oldest first (at most `limit`)."""
    return list(db.session.scalars(select(ClosureRequest).join(Case).where(
        Case.team_id == supervisor.team_id, ClosureRequest.decision.is_(None))
        .order_by(ClosureRequest.requested_at).limit(limit)))


def reopen(user, case: Case, version, reason: str) -> Case:
    _check_version(case, version)
    if case.phase != Phase.CLOSED.value:
        raise Conflict(_("Only a closed case can be reopened."))
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise Invalid({"reason": _("Write why the case is reopened (at least 10 characters).")})
    case.closed_at = None
    _set_phase(user, case, Phase.CRISIS if _rank(case.risk_level) >= RiskLevel.MODERATE.rank else Phase.INTAKE,
               reason)
    run_hooks("case_reopened", user, case)  # the follow-ups still due are cancelled
    return case


def closure_snapshot(case: Case) -> dict:
    """Outcomes and goals as they are now: what the closure keeps."""
    instruments = []
    for outcome in outcomes.outcomes_of(case):
        scores = [r.score for r in outcome.results]
        instruments.append({"instrument": outcome.id, "name": outcome.name, "count": len(scores),
                            "baseline": scores[0], "latest": scores[-1], "markers": outcome.markers,
                            "percentage_factor": outcome.factor,
                            "latest_at": outcome.latest.created_at.isoformat()})
    goals = careplans.goals_of(careplans.plan_of(case))
    return {"taken_at": utcnow().isoformat(), "instruments": instruments,
            "goals": careplans.status_counts(goals) if goals else {}}
