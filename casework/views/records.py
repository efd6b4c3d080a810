"""`/my/records`: a linked resident's own records on one printable page: the safety plan, the
care plan and the household emergency plan their workers shared with them, and their own
screenings. Only what is shared with them (the same rules as "My safety plan", "My plan",
"My household plan" and "My screenings"); each part viewed is audited."""
from __future__ import annotations

from flask import render_template
from flask_login import current_user

from carecycle.audit import record_event
from carecycle.database import utcnow
from carecycle.permissions import Permission, requires
from casework.service import careplans, household, safety
from casework.service.safety import SECTIONS
from casework.views import bp
from screening.service import results


@bp.route("/my/records")
@requires(Permission.OWN_CARE_PLAN)
def my_records():
    safety_plan = safety.shared_plan_for(current_user)
    care_plan = careplans.shared_plan_for(current_user)
    summary = careplans.client_summary(care_plan, care_plan.case) if care_plan else None
    if safety_plan is not None:
        record_event("view", "safety_plan", safety_plan.id, reason="resident records")
    if care_plan is not None:
        record_event("view", "care_plan", care_plan.id, reason="resident records")
    household_plan = household.shared_plan_for(current_user)
    if household_plan is not None:
        record_event("view", "household_plan", household_plan.id, reason="resident records")
    screenings = results.history(current_user)
    linked = safety_plan is not None or care_plan is not None or household_plan is not None \
        or safety.resident_linked(current_user)
    return render_template("casework/my/records.html", safety_plan=safety_plan, sections=SECTIONS,
                           summary=summary, household_plan=household_plan, screenings=screenings, linked=linked,
                           printed_at=utcnow())
