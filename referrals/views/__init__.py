"""Referral pages. One Blueprint; one module per topic adds its routes."""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint
from flask_babel import format_timedelta
from flask_babel import gettext as _

from carecycle.database import utcnow
from carecycle.forms import place_errors_in_rows as place_errors  # noqa: F401  (rows too)
from carecycle.i18n import language_name
from carecycle.localtime import format_day
from casework.views.common import conflict_page  # noqa: F401  (the same "changed by someone else" page)
from referrals.enums import (
    ActivationStatus,
    AgreementSide,
    AgreementState,
    Capacity,
    CloseReason,
    MovementKind,
    PhoneType,
    ReferralStatus,
    ReferralUrgency,
    ReferrerRelation,
    ReserveKind,
    ReserveLevel,
    ServiceStatus,
    ServiceType,
    Tier,
    VolunteerRole,
    VolunteerTeamKind,
    Weekdays,
)

bp = Blueprint("referrals", __name__)


def _label(enum):
    def label(code):
        try:
            return enum(str(code)).label
        except ValueError:
            return code
    return label


def days_label(byday: str):
    try:
        return Weekdays(byday).label
    except ValueError:
        return ", ".join(str(_label(Weekdays)(d)) for d in byday.split(",") if d)


def hours_text(closes: str) -> str:
    return "24:00" if closes == "23:59" else closes


class Labels:
    """Translated labels for referral codes, for every template (the case page's section too)."""

    tier = staticmethod(_label(Tier))
    capacity = staticmethod(_label(Capacity))
    service_status = staticmethod(_label(ServiceStatus))
    service_type = staticmethod(_label(ServiceType))
    phone_type = staticmethod(_label(PhoneType))
    status = staticmethod(_label(ReferralStatus))
    urgency = staticmethod(_label(ReferralUrgency))
    close_reason = staticmethod(_label(CloseReason))
    team_kind = staticmethod(_label(VolunteerTeamKind))
    volunteer_role = staticmethod(_label(VolunteerRole))
    relation = staticmethod(_label(ReferrerRelation))
    agreement_side = staticmethod(_label(AgreementSide))
    agreement_state = staticmethod(_label(AgreementState))
    reserve_level = staticmethod(_label(ReserveLevel))
    reserve_kind = staticmethod(_label(ReserveKind))
    movement_kind = staticmethod(_label(MovementKind))
    activation_status = staticmethod(_label(ActivationStatus))
    days = staticmethod(days_label)
    closes = staticmethod(hours_text)

    @staticmethod
    def language(code: str, fallback: str | None = None) -> str:
        return language_name(code, fallback)

    @staticmethod
    def date(value) -> str:
        return format_day(value)

    @staticmethod
    def since(value: datetime) -> str:
        return format_timedelta(utcnow() - value, threshold=1.1)

    @staticmethod
    def until(value: datetime) -> str:
        delta = value - utcnow()
        if delta.total_seconds() < 0:
            return _("%(time)s overdue", time=format_timedelta(-delta, threshold=1.1))
        return _("%(time)s left", time=format_timedelta(delta, threshold=1.1))


from referrals.views import (  # noqa: E402,F401  (routes)
    activations,
    agreements,
    directory,
    findhelp,
    inbound,
    partner,
    referrals,
    reserves,
    volunteers,
)
