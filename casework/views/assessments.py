"""Risk assessment pages: a new assessment (C-SSRS, factors, judgement, level), the history of a
case's assessments, one assessment, and the supervisor's acknowledgement list."""
from __future__ import annotations

from datetime import timedelta

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from carecycle.audit import record_event
from carecycle.database import utcnow
from carecycle.extensions import db
from carecycle.lifecycle import load_visible, undone_on_error
from carecycle.localtime import format_when
from carecycle.permissions import Permission, can, requires
from carecycle.urls import page_arg
from carecycle.validation import Conflict, Invalid
from casework.enums import RiskLevel
from casework.forms import CSSRS_QUESTIONS, AcknowledgeForm, AssessmentForm
from casework.models import RiskAssessment
from casework.models.assessments import PROTECTIVE_FACTORS, RISK_FACTORS
from casework.service import assessments as service
from casework.views import EVENT_LABELS, SummaryRow, bp, register_case_section
from casework.views.common import conflict_page, place_errors

EVENT_LABELS.update(
    {"risk_assessed": _l("Risk assessed"), "risk_acknowledged": _l("High risk acknowledged by supervisor")}
)
ANSWER_VALUES = {"yes": True, "no": False, "": None, None: None}
RECENT_ACKNOWLEDGED = timedelta(days=30)


def assessment_section(case):
    """The case page: the latest assessment (level and date for everyone on the case; details for
    those who assess risk)."""
    latest = service.latest(case)
    level = RiskLevel(case.risk_level).label if case.risk_level in RiskLevel._value2member_map_ else case.risk_level
    value = (_("%(level)s · assessed %(when)s", level=level, when=format_when(latest.assessed_at)) if latest
             else _("%(level)s · no risk assessment yet", level=level))
    return {"assessment_latest": latest,
            "summary": [SummaryRow(10, _l("Current risk"), value, f"risk-{case.risk_level}",
                                   "case-assessment-heading")]}


register_case_section("casework/assessments/_section.html", assessment_section, anchor="case-assessment-heading",
                      label=_l("Risk assessment"), order=30)


def _answers(form: AssessmentForm) -> tuple[list, dict]:
    answers, errors = [], {}
    for name in form.CSSRS_FIELDS:
        raw = form[name].data
        if raw not in ANSWER_VALUES:
            errors[name] = _("Choose yes, no or not asked.")
            answers.append(None)
        else:
            answers.append(ANSWER_VALUES[raw])
    return answers, errors


def _suggestion(answers):
    try:
        return service.cssrs_suggestion(answers), {}
    except Invalid as error:
        return None, error.fields


@bp.route("/cases/<case_id>/assessments/new", methods=["GET", "POST"])
@requires(Permission.RISK_ASSESS)
def assessment_new(case_id):
    case = load_visible("case", case_id, current_user, audit=request.method == "GET")
    form = AssessmentForm()
    suggestion = None
    if form.validate_on_submit():
        answers, errors = _answers(form)
        if request.form.get("action") == "check":  # show the C-SSRS suggestion; save nothing
            suggestion, fields = _suggestion(answers) if not errors else (None, errors)
            if fields:
                place_errors(form, Invalid(fields))
        elif errors:
            place_errors(form, Invalid(errors))
        else:
            try:
                with undone_on_error():
                    assessment = service.record_assessment(
                        current_user, case, cssrs=answers, risk_level=form.risk_level.data,
                        rationale=form.rationale.data, judgement=form.judgement.data,
                        risk_factors=form.risk_factors.data, risk_factors_other=form.risk_factors_other.data,
                        protective_factors=form.protective_factors.data,
                        protective_factors_other=form.protective_factors_other.data)
            except Invalid as error:
                place_errors(form, error)
                suggestion, _fields = _suggestion(answers)
            except Conflict as error:
                return conflict_page(error, url_for("casework.case_detail", case_id=case_id))
            else:
                if assessment.needs_acknowledgement:
                    flash(_("Assessment saved. The team supervisor will see it on the list for acknowledgement."),
                          "success")
                else:
                    flash(_("Assessment saved."), "success")
                return redirect(url_for("casework.assessment_detail", case_id=case.id,
                                        assessment_id=assessment.id))
    return render_template("casework/assessments/new.html", case=case, form=form, suggestion=suggestion,
                           questions=CSSRS_QUESTIONS), 400 if form.errors else 200


@bp.route("/cases/<case_id>/assessments")
@requires(Permission.RISK_ASSESS)
def assessments(case_id):
    case = load_visible("case", case_id, current_user, audit=False)
    record_event("view", "risk_assessments", case.id)
    history = service.history(case)
    return render_template("casework/assessments/list.html", case=case, history=history)


@bp.route("/cases/<case_id>/assessments/<assessment_id>")
@requires(Permission.RISK_ASSESS)
def assessment_detail(case_id, assessment_id):
    case = load_visible("case", case_id, current_user, audit=False)
    assessment = load_visible("risk_assessment", assessment_id, current_user,
                              where=(RiskAssessment.case_id == case.id,))
    return render_template("casework/assessments/detail.html", case=case, a=assessment, questions=CSSRS_QUESTIONS,
                           risk_factor_labels=RISK_FACTORS, protective_factor_labels=PROTECTIVE_FACTORS,
                           ack_form=AcknowledgeForm(), may_acknowledge=can(Permission.RISK_ACKNOWLEDGE)
                           and case.team_id == current_user.team_id)


@bp.route("/cases/risk-acknowledgements")
@requires(Permission.RISK_ACKNOWLEDGE)
def risk_acknowledgements():
    pending = db.paginate(service.acknowledgements(current_user), page=page_arg(), per_page=50, error_out=False)
    recent = db.session.scalars(service.acknowledged_recently(current_user, utcnow() - RECENT_ACKNOWLEDGED)
                                .limit(50)).all()
    record_event("view", "risk_acknowledgements", current_user.team_id)
    page = render_template("casework/assessments/acknowledgements.html", pagination=pending, recent=recent,
                           form=AcknowledgeForm())
    return page


@bp.route("/cases/risk-acknowledgements/<assessment_id>/acknowledge", methods=["POST"])
@requires(Permission.RISK_ACKNOWLEDGE)
def risk_acknowledge(assessment_id):
    assessment = load_visible("assessment_to_acknowledge", assessment_id, current_user)
    form = AcknowledgeForm()
    back = url_for("casework.risk_acknowledgements")
    if not form.validate_on_submit():
        for messages in form.errors.values():
            for message in messages:
                flash(message, "error")
        return redirect(back)
    try:
        with undone_on_error():
            service.acknowledge(current_user, assessment, form.comment.data)
    except Invalid as error:
        for message in error.fields.values():
            flash(message, "error")
        return redirect(back)
    except Conflict as error:
        return conflict_page(error, back)
    flash(_("Acknowledged. Your name and the time are recorded on the assessment."), "success")
    return redirect(back)
