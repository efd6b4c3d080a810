"""The operating mode: switching between normal and emergency with a reason, the after-action review
asked for when the service goes back to normal (with the emergency period's figures attached), and
the surge view that emergency mode opens (triage queue, red and orange outreach due, households
whose medicine runs out first, referrals waiting for a tier-1 answer, volunteer teams ready to mobilise).

The switch itself and the deadlines it changes live in the shell (carecycle.mode): every area reads
`current_mode()`, so a switch takes effect on the next request everywhere."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from carecycle.accounts.models import User
from carecycle.audit import record_event
from carecycle.database import utcnow
from carecycle.extensions import db
from carecycle.mode import Mode, ModeChange, current_mode, switch_mode
from carecycle.notifications import notify
from carecycle.permissions import Permission, role_has
from carecycle.roles import Role
from carecycle.validation import Invalid
from casework.service.triage import users_by_id  # noqa: F401 (the mode page and API name the switchers)
from referrals.enums import ReferralStatus, Tier
from referrals.models import Referral, Service
from supervision.models import AfterActionReview
from supervision.service.links import path_for
from supervision.service.stats import emergency_figures

REASON_MAX = 300
REVIEW_FIELDS = ("what_happened", "what_worked", "what_to_change")
REVIEW_MAX = 8000


def _clean_review(review: dict | None) -> dict:
    review = review if isinstance(review, dict) else {}
    errors, out = {}, {}
    messages = {
        "what_happened": _("Say briefly what happened."),
        "what_worked": _("Say what worked."),
        "what_to_change": _("Say what to change next time."),
    }
    for name in REVIEW_FIELDS:
        value = review.get(name)
        value = value.strip() if isinstance(value, str) else ""
        if not value:
            errors[name] = messages[name]
        elif len(value) > REVIEW_MAX:
            errors[name] = _("Keep this under %(n)d characters.", n=REVIEW_MAX)
        out[name] = value
    if errors:
        raise Invalid(errors)
    return out


def switch(supervisor, mode, reason, review: dict | None = None) -> tuple[ModeChange, AfterActionReview | None]:
    """Switch the service's mode (the caller commits). Going back to normal needs the after-action
    review; its figures cover the emergency period that ends now."""
    if not role_has(supervisor.role, Permission.MODE_SWITCH):
        raise PermissionError("only supervisors switch the operating mode")
    reason = reason.strip() if isinstance(reason, str) else ""
    if len(reason) > REASON_MAX:
        raise Invalid({"reason": _("Keep the reason under %(n)d characters.", n=REASON_MAX)})
    before = current_mode()
    wanted = mode if mode in (Mode.NORMAL.value, Mode.EMERGENCY.value) else None
    cleaned = None
    if wanted == Mode.NORMAL.value and before.emergency:
        try:
            cleaned = _clean_review(review)
        except Invalid as invalid:
            if not reason:
                invalid.fields.setdefault("reason", _("Give a reason for the switch."))
            raise
    emergency_row = None
    if before.emergency:
        emergency_row = db.session.scalar(select(ModeChange).order_by(ModeChange.switched_at.desc()).limit(1))
    change = switch_mode(mode, supervisor, reason)  # Invalid: unknown mode, no reason, already in it
    after_review = None
    if cleaned is not None:
        started = before.since
        figures = emergency_figures(started, change.switched_at) if started else {}
        after_review = AfterActionReview(started_at=started, ended_at=change.switched_at,
                                         emergency_change_id=emergency_row.id if emergency_row else None,
                                         normal_change_id=change.id, written_by_id=supervisor.id,
                                         figures=figures, created_at=utcnow())
        for name, value in cleaned.items():
            setattr(after_review, name, value)
        db.session.add(after_review)
        db.session.flush()
        record_event("create", "after_action_review", after_review.id)
    link = path_for("supervision.mode")
    for user in db.session.scalars(select(User).where(User.role == Role.SUPERVISOR.value, User.active.is_(True),
                                                      User.id != supervisor.id)):
        notify(user, "mode_switched", link, object_type="mode_change", object_id=change.id)
    return change, after_review


def history(limit: int = 20) -> list[ModeChange]:
    return list(db.session.scalars(select(ModeChange).order_by(ModeChange.switched_at.desc()).limit(limit)))


def reviews(page: int = 1, per_page: int = 20):
    stmt = (select(AfterActionReview).options(selectinload(AfterActionReview.written_by))
            .order_by(AfterActionReview.ended_at.desc()))
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False)


# ------------------------------------------------------------------ the surge view
@dataclass
class Surge:
    emergency: bool
    triage: object = None
    outreach: dict = field(default_factory=dict)   # tier -> RegisterPage
    tier1_waiting: list = field(default_factory=list)
    volunteer_teams: list = field(default_factory=list)
    households: list = field(default_factory=list)  # signed household plans, medicine running out first


SURGE_LIMIT = 25


def surge(user) -> Surge:
    """The work lists of an emergency, each limited to what the user may see."""
    from casework.service import household, register, triage
    from referrals.service import referrals as referral_service
    from referrals.service import volunteers
    view = Surge(current_mode().emergency)
    if role_has(user.role, Permission.TRIAGE_WORK):
        view.triage = triage.queue(user, page=1, per_page=SURGE_LIMIT)
    if role_has(user.role, Permission.REGISTER_MANAGE):
        for tier in ("red", "orange"):
            view.outreach[tier] = register.list_entries(user, tier=tier, overdue=True, per_page=SURGE_LIMIT)
        view.households = household.emergency_list(user, limit=SURGE_LIMIT)
    if role_has(user.role, Permission.REFERRALS_MANAGE):
        view.tier1_waiting = list(db.session.scalars(
            select(Referral).where(referral_service.visible_referrals(user), Referral.tier == Tier.EMERGENCY.number,
                                   Referral.status == ReferralStatus.SENT.value)
            .options(selectinload(Referral.service).selectinload(Service.organisation))
            .order_by(Referral.respond_by).limit(SURGE_LIMIT)))
    if role_has(user.role, Permission.VOLUNTEERS_VIEW):
        all_trainings = volunteers.trainings()
        view.volunteer_teams = [volunteers.readiness(team, all_trainings=all_trainings)
                                for team in volunteers.teams()]
    record_event("view", "surge_view", user.team_id)
    return view
