"""Outcome pages: scores over time, screenings recorded with the client or linked from their own,
and the re-screening schedule."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from carecycle.audit import record_event
from carecycle.forms import ConfirmForm
from carecycle.lifecycle import keep_refusal, load_visible, undone_on_error
from carecycle.permissions import Permission, requires
from carecycle.validation import Conflict, Invalid
from casework.forms_recovery import (
    RescreenScheduleForm,
    ScreeningMetaForm,
)
from casework.service import careplans, outcomes
from casework.views import bp
from casework.views.common import change_and_return, conflict_page, flash_errors, form_messages
from casework.views.recovery import case_url, outcomes_url
from screening.service import get_instrument, item_language


# ------------------------------------------------------------------ outcomes
@bp.route("/cases/<case_id>/outcomes")
@requires(Permission.CASES_VIEW)
def case_outcomes(case_id):
    case = load_visible("case", case_id, current_user)
    found = outcomes.outcomes_of(case)
    record_event("view", "case_outcomes", case.id)
    schedule_form = RescreenScheduleForm()
    schedule_form.instrument.choices = [(i.id, i.name) for i in outcomes.recordable_instruments()]
    context = {"case": case, "outcomes": found, "rescreens": outcomes.due_rescreens(case),
               "instruments": outcomes.recordable_instruments(), "schedule_form": schedule_form,
               "confirm": ConfirmForm(), "self_screenings": len(outcomes.resident_screenings(case)),
               "mcid": outcomes.MCID}
    return render_template("casework/recovery/outcomes.html", **context)


def answers_from(form, instrument) -> list:
    answers = []
    for item in instrument.items:
        raw = form.get(f"item-{item.number}")
        if raw in (None, ""):
            answers.append(None)
            continue
        try:
            answers.append(int(raw))
        except ValueError:
            answers.append(raw)
    return answers


def item_errors(error: Invalid) -> tuple[dict, list]:
    items, other = {}, []
    for key, message in error.fields.items():
        if key.startswith("answers[") and key.endswith("]"):
            try:
                items[int(key[8:-1]) + 1] = message
                continue
            except ValueError:
                pass
        other.append(message)
    return items, other


@bp.route("/cases/<case_id>/screenings/new/<instrument_id>", methods=["GET", "POST"])
@requires(Permission.CASES_EDIT)
def case_screening_new(case_id, instrument_id):
    case = load_visible("case", case_id, current_user, audit=request.method == "GET")
    instrument = get_instrument(instrument_id)
    if instrument is None or instrument.method != "sum":
        abort(404)
    try:
        careplans.require_open(case)
    except Conflict as error:
        return conflict_page(error, case_url(case))
    form = ScreeningMetaForm()
    given = {item.number: request.form.get(f"item-{item.number}", "") for item in instrument.items}
    errors, general = {}, []
    sex = request.form.get("sex") or None
    if form.validate_on_submit():
        try:
            with undone_on_error():
                link, outcome, alert = outcomes.record_screening(current_user, case, instrument.id,
                                                                 answers_from(request.form, instrument), sex=sex,
                                                                 taken_at=form.taken_on.data or None)
        except Invalid as error:
            errors, general = item_errors(error)
        except Conflict as error:
            return conflict_page(error, case_url(case))
        else:
            flash(_("%(name)s recorded: %(score)s (%(band)s).", name=instrument.name,
                    score=outcomes.show_score(outcome.score, instrument.percentage_factor), band=outcome.band),
                  "success")
            if alert is not None:
                flash(_("The result raised a triage alert on this case."), "warning")
            return redirect(outcomes_url(case))
    else:
        general = form_messages(form)
    return render_template("casework/recovery/screening_form.html", case=case, instrument=instrument, form=form,
                           given=given, errors=errors, general=general, sex=sex,
                           language=item_language(instrument, str(get_locale() or "en"))), \
        400 if (errors or general) else 200


@bp.route("/cases/<case_id>/screenings/link", methods=["GET", "POST"])
@requires(Permission.CASES_EDIT)
def case_screening_link(case_id):
    case = load_visible("case", case_id, current_user, audit=request.method == "GET")
    form = ConfirmForm()
    status = 200
    if request.method == "POST" and form.validate_on_submit():
        try:
            with undone_on_error():
                _link, alert = outcomes.link_self_screening(current_user, case, request.form.get("result_id"))
        except Invalid as error:
            flash_errors(error.fields.values())
            status = 400
        except Conflict as error:
            return conflict_page(error, outcomes_url(case))
        else:
            flash(_("The client's screening is now counted on the case."), "success")
            if alert is not None:
                flash(_("The result raised a triage alert on this case."), "warning")
            return redirect(outcomes_url(case))
    available = outcomes.resident_screenings(case)
    if available:
        record_event("view", "resident_screenings", case.client_id)
    if status >= 400:
        keep_refusal()  # the resident's screenings shown again stay audited (the refused link was undone)
    return render_template("casework/recovery/link_screening.html", case=case, available=available, form=form), status


@bp.route("/cases/<case_id>/rescreen-schedule", methods=["POST"])
@requires(Permission.CASES_EDIT)
def case_rescreen_schedule(case_id):
    case = load_visible("case", case_id, current_user, audit=False)
    form = RescreenScheduleForm()
    form.instrument.choices = [(i.id, i.name) for i in outcomes.recordable_instruments()]
    if not form.validate_on_submit():
        flash_errors(form_messages(form))
        return redirect(outcomes_url(case))
    return change_and_return(outcomes_url(case), lambda: outcomes.set_schedule(
        current_user, case, form.instrument.data, form.weeks.data), _("Re-screening scheduled."))


@bp.route("/cases/<case_id>/rescreen-schedule/<instrument_id>/stop", methods=["POST"])
@requires(Permission.CASES_EDIT)
def case_rescreen_stop(case_id, instrument_id):
    case = load_visible("case", case_id, current_user, audit=False)
    if not ConfirmForm().validate_on_submit():
        return redirect(outcomes_url(case))
    return change_and_return(outcomes_url(case), lambda: outcomes.stop_schedule(current_user, case, instrument_id),
                              _("Re-screening stopped."))
