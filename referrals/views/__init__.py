"""Referral pages. One Blueprint; one module per topic adds its routes."""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint, flash, render_template
from flask_babel import format_date, format_timedelta, gettext as _

from carecycle.database import utcnow
from carecycle.validation import Conflict, Invalid
from referrals.enums import (LANGUAGE_NAMES, Capacity, CloseReason, PhoneType, ReferralStatus, ReferralUrgency,
                             ReferrerRelation, ServiceStatus, ServiceType, Tier, VolunteerRole, VolunteerTeamKind,
                             Weekdays)

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
    days = staticmethod(days_label)
    closes = staticmethod(hours_text)

    @staticmethod
    def language(code: str, fallback: str | None = None) -> str:
        return LANGUAGE_NAMES.get(code, fallback or code)

    @staticmethod
    def date(value) -> str:
        return format_date(value, "medium") if value else ""

    @staticmethod
    def since(value: datetime) -> str:
        return format_timedelta(utcnow() - value, threshold=1.1)

    @staticmethod
    def until(value: datetime) -> str:
        delta = value - utcnow()
        if delta.total_seconds() < 0:
            return _("%(time)s overdue", time=format_timedelta(-delta, threshold=1.1))
        return _("%(time)s left", time=format_timedelta(delta, threshold=1.1))


def place_errors(form, error: Invalid) -> None:
    """Put a service's field messages on the form's fields; the rest become flash messages."""
    for name, message in error.fields.items():
        head = name.split(".")[0].split("[")[0]
        if name in form:
            form[name].errors = list(form[name].errors) + [message]
        elif head in form:
            target = form[head]
            if hasattr(target, "entries"):
                index = name.split("[")[1].split("]")[0] if "[" in name else None
                sub = name.split(".")[-1]
                if index is not None and index.isdigit() and int(index) < len(target.entries):
                    entry = target.entries[int(index)]
                    if hasattr(entry, "form") and sub in entry.form:
                        entry.form[sub].errors = list(entry.form[sub].errors) + [message]
                        continue
                flash(message, "error")
            else:
                target.errors = list(target.errors) + [message]
        else:
            flash(message, "error")


def conflict_page(error: Conflict, back_url: str):
    return render_template("referrals/conflict.html", error=error, back_url=back_url), 409


from referrals.views import directory, findhelp, volunteers, referrals, partner, inbound  # noqa: E402,F401  (routes)
