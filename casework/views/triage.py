"""Triage pages: the queue, recording a walk-in or hotline call, claiming, releasing, turning an
alert into a crisis case, closing it with a reason."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import format_timedelta
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from carecycle.alerts import KIND_LABELS, AlertState, Urgency, subject_of
from carecycle.audit import record_view
from carecycle.database import utcnow
from carecycle.lifecycle import keep_refusal, load_visible, undone_on_error
from carecycle.permissions import Permission, requires
from carecycle.urls import page_arg
from carecycle.validation import Conflict, Invalid
from casework.enums import ProcedureStep
from casework.forms import CloseAlertForm, ConvertAlertForm, RecordAlertForm, SearchForm
from casework.service import access, triage
from casework.service import clients as client_service
from casework.views import EVENT_LABELS, bp
from casework.views.common import personal_data_in_url, place_errors, refused_back_to, url_search_refused
from casework.views.procedures import checklist_context

EVENT_LABELS.update({"from_alert": _l("Opened from a triage alert")})

NEW_CLIENT_FIELDS = ("full_name", "preferred_name", "phone", "date_of_birth", "id_number", "preferred_language")


def _time_helpers():
    now = utcnow()
    return {"now": now, "since": lambda dt: format_timedelta(now - dt, threshold=1.1),
            "until": lambda dt: format_timedelta(dt - now, threshold=1.1, add_direction=True)}


@bp.route("/triage")
@requires(Permission.TRIAGE_WORK)
def triage_queue():
    flt = triage.QueueFilter.from_args(request.args)
    pagination = triage.queue(current_user, flt, page=page_arg())
    people = triage.users_by_id(a.claimed_by_id for a in pagination.items)
    return render_template("casework/triage/queue.html", pagination=pagination, flt=flt, people=people,
                           kinds=list(KIND_LABELS.items()), urgencies=list(Urgency),
                           state_filters=STATE_FILTER_LABELS, **_time_helpers())


STATE_FILTER_LABELS = {
    "active": _l("Open and claimed"), "open": _l("Open (unclaimed)"), "claimed": _l("Claimed"),
    "mine": _l("Claimed by me"), "converted": _l("Turned into a case"), "closed": _l("Closed"),
}


@bp.route("/triage/new", methods=["GET", "POST"])
@requires(Permission.TRIAGE_WORK)
def triage_new():
    form = RecordAlertForm()
    if form.validate_on_submit():
        try:
            with undone_on_error():
                alert = triage.record_alert(current_user, form.kind.data, form.urgency.data, form.summary.data)
        except Invalid as error:
            place_errors(form, error)
        else:
            flash(_("Recorded on your team's triage queue. Claim it to work on it."), "success")
            return redirect(url_for("casework.triage_detail", alert_id=alert.id))
    return render_template("casework/triage/new.html", form=form), 400 if form.errors else 200


def _render_detail(alert, *, close_form=None, status=200):
    """The alert page; showing it is a view of its summary, so it is audited."""
    record_view("alert", alert.id)
    subject = subject_of(alert)
    claimer = triage.claimer_of(alert)
    case = triage.converted_case(alert)
    case_visible = case is not None and access.may_see_case(current_user, case)
    closer = triage.users_by_id([alert.closed_by_id]).get(alert.closed_by_id)
    may_act = alert.state == AlertState.CLAIMED and triage.may_act(current_user, alert)
    here = url_for("casework.triage_detail", alert_id=alert.id)
    return render_template("casework/triage/detail.html", alert=alert, subject=subject, claimer=claimer,
                           case=case, case_visible=case_visible, closer=closer, may_act=may_act,
                           close_form=close_form or CloseAlertForm(), **_time_helpers(),
                           **checklist_context(ProcedureStep.TRIAGE_KIND, alert, here)), status


@bp.route("/triage/<alert_id>")
@requires(Permission.TRIAGE_WORK)
def triage_detail(alert_id):
    return _render_detail(load_visible("alert", alert_id, current_user, audit=False))


@bp.route("/triage/<alert_id>/claim", methods=["POST"])
@requires(Permission.TRIAGE_WORK)
def triage_claim(alert_id):
    alert = load_visible("alert", alert_id, current_user, audit=False)
    try:
        with undone_on_error():
            triage.claim(current_user, alert)
    except Conflict as error:  # AlreadyClaimed names who has it
        flash(error.message, "error")
        return _render_detail(load_visible("alert", alert_id, current_user, audit=False), status=409)
    flash(_("You have claimed this alert. Turn it into a crisis case, or close it with a reason."), "success")
    return redirect(url_for("casework.triage_detail", alert_id=alert.id))


@bp.route("/triage/<alert_id>/release", methods=["POST"])
@requires(Permission.TRIAGE_WORK)
def triage_release(alert_id):
    alert = load_visible("alert", alert_id, current_user, audit=False)
    try:
        with undone_on_error():
            triage.release(current_user, alert)
    except Conflict as error:
        return refused_back_to(error, url_for("casework.triage_detail", alert_id=alert_id))
    flash(_("The alert is back on the queue for someone else to claim."), "success")
    return redirect(url_for("casework.triage_queue"))


@bp.route("/triage/<alert_id>/close", methods=["POST"])
@requires(Permission.TRIAGE_WORK)
def triage_close(alert_id):
    alert = load_visible("alert", alert_id, current_user, audit=False)
    form = CloseAlertForm()
    if form.validate_on_submit():
        try:
            with undone_on_error():
                triage.close(current_user, alert, form.reason.data)
        except Invalid as error:
            place_errors(form, error)
        except Conflict as error:
            return refused_back_to(error, url_for("casework.triage_detail", alert_id=alert_id))
        else:
            flash(_("Alert closed. The reason is recorded."), "success")
            return redirect(url_for("casework.triage_queue"))
    return _render_detail(load_visible("alert", alert_id, current_user, audit=False), close_form=form, status=400)


@bp.route("/triage/<alert_id>/convert", methods=["GET", "POST"])
@requires(Permission.TRIAGE_WORK)
def triage_convert(alert_id):
    alert = load_visible("alert", alert_id, current_user, audit=False)
    finding = request.method == "POST" and request.form.get("find") == "1"
    if (request.method == "GET" or finding) and (
        alert.state != AlertState.CLAIMED or not triage.may_act(current_user, alert)
    ):
        flash(_("Claim this alert first; only the worker who claimed it, or a supervisor of the team, "
                "may turn it into a case.") if alert.state in (AlertState.OPEN, AlertState.CLAIMED)
              else _("This alert has already left the queue."), "error")
        return redirect(url_for("casework.triage_detail", alert_id=alert.id))
    # The "is the person already a client?" search is POSTed (prefix find-: its fields beside the new
    # client's); the criteria ride along in the case form as hidden fields, never in the URL.
    form = ConvertAlertForm(formdata=None) if finding else ConvertAlertForm()
    search = SearchForm(prefix="find") if request.method == "POST" else SearchForm(formdata=None, prefix="find")
    subject = subject_of(alert)
    duplicate = None
    refused_url = request.method == "GET" and personal_data_in_url()
    if (request.method == "GET" or finding) and subject is not None and not form.full_name.data:
        form.full_name.data, form.phone.data = subject.name, subject.phone
    if not finding and form.validate_on_submit():
        choice = (form.client_choice.data or "new").strip()
        new_client = {name: form[name].data for name in NEW_CLIENT_FIELDS} if choice == "new" else None
        try:
            with undone_on_error():
                case = triage.convert(current_user, alert, risk_level=form.risk_level.data,
                                      priority=form.priority.data, client_id=None if choice == "new" else choice,
                                      new_client=new_client, confirm_duplicate=form.confirm_different.data)
        except Invalid as error:
            place_errors(form, error)
        except client_service.DuplicateFound as found:
            client_service.note_duplicate_matches(current_user, found)
            keep_refusal()  # the audit of the match stays
            duplicate = found
        except Conflict as error:
            return refused_back_to(error, url_for("casework.triage_detail", alert_id=alert_id))
        else:
            flash(_("Crisis case opened from the alert. A first-contact task is due."), "success")
            return redirect(url_for("casework.case_detail", case_id=case.id))
    # Candidates: what the worker searched for, else the phone the person gave.
    if any((search.phone.data, search.id_number.data, search.name.data)):
        candidates = client_service.search_clients(current_user, phone=search.phone.data,
                                                   id_number=search.id_number.data, name=search.name.data)
        searched = True
    else:
        phone = form.phone.data or (subject.phone if subject else None)
        candidates = client_service.search_clients(current_user, phone=phone) if phone else []
        searched = False
    if duplicate is not None:
        known = {c.id for c in candidates}
        candidates = candidates + [c for c in duplicate.visible if c.id not in known]
    status = 400 if form.errors or refused_url else (429 if duplicate and duplicate.refused else 409 if duplicate
                                                     else 200)
    if status >= 400:
        keep_refusal()  # the searches and matches shown stay audited (a refused conversion was undone)
    message = url_search_refused() if refused_url else None
    return render_template("casework/triage/convert.html", alert=alert, form=form, search=search,
                           candidates=candidates, searched=searched, duplicate=duplicate, subject=subject,
                           message=message, **_time_helpers()), status

