"""Follow-up pages: recording the 1, 3 and 6-month contacts after a case closes."""
from __future__ import annotations

from flask import flash, redirect, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from carecycle.lifecycle import load_visible, undone_on_error
from carecycle.permissions import Permission, requires
from carecycle.validation import Conflict, Invalid
from casework.forms_recovery import FollowUpForm
from casework.models import FollowUp
from casework.service import followup, outcomes
from casework.views import bp
from casework.views.common import conflict_page, place_errors
from casework.views.outcomes import answers_from, item_errors
from casework.views.recovery import case_url
from screening.service import get_instrument, item_language


# ------------------------------------------------------------------ follow-ups
@bp.route("/cases/<case_id>/follow-ups/<follow_up_id>", methods=["GET", "POST"])
@requires(Permission.CASES_EDIT)
def case_follow_up(case_id, follow_up_id):
    case = load_visible("case", case_id, current_user, audit=request.method == "GET")
    item = load_visible("follow_up", follow_up_id, current_user, where=(FollowUp.case_id == case.id,))
    instrument = get_instrument(request.values.get("instrument") or "")
    if instrument is not None and instrument.method != "sum":
        instrument = None
    form = FollowUpForm()
    errors, general = {}, []
    given = {n.number: request.form.get(f"item-{n.number}", "") for n in instrument.items} if instrument else {}
    self_screenings = outcomes.resident_screenings(case) if not item.done else []
    if form.validate_on_submit():
        screening = None
        if request.form.get("result_id"):
            screening = {"result_id": request.form.get("result_id")}
        elif instrument is not None:
            screening = {"instrument": instrument.id, "answers": answers_from(request.form, instrument),
                         "sex": request.form.get("sex") or None}
        try:
            with undone_on_error():
                _item, alert = followup.record_follow_up(current_user, case, item, status=form.status.data,
                                                         note=form.note.data, crisis=form.crisis.data,
                                                         screening=screening)
        except Invalid as error:
            errors, general = item_errors(error)
            place_errors(form, Invalid({k: v for k, v in error.fields.items() if k in ("status", "note")}))
            general = [m for m in general if m not in (error.fields.get("status"), error.fields.get("note"))]
        except Conflict as error:
            return conflict_page(error, case_url(case))
        else:
            if alert is not None:
                flash(_("Follow-up recorded. The case is reopened and on the triage queue."), "warning")
            else:
                flash(_("Follow-up recorded."), "success")
            return redirect(case_url(case))
    failed = bool(form.errors or errors or general)
    return render_template("casework/recovery/follow_up.html", case=case, item=item, form=form,
                           instrument=instrument, instruments=outcomes.recordable_instruments(), given=given,
                           errors=errors, general=general, self_screenings=self_screenings,
                           closure_lines=followup.snapshot_statements(case.outcome_snapshot),
                           closure_goals=followup.goal_statement(case.outcome_snapshot),
                           language=item_language(instrument, str(get_locale() or "en")) if instrument else "en"), \
        400 if failed else 200
