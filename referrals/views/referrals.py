"""Outbound referral pages: from a case to a service with a preview of what the partner will see,
sending (the consent gate and the tier-1 override), status changes, the printable letter,
partner links, the worker's and supervisor's lists, and consent overrides for the supervisor."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from carecycle.audit import record_event
from carecycle.extensions import db
from carecycle.forms import ConfirmForm
from carecycle.lifecycle import attempt, load_visible
from carecycle.pages import save_form
from carecycle.permissions import Permission, can, requires
from carecycle.urls import page_arg
from carecycle.validation import Invalid
from casework.views import SummaryRow
from referrals.enums import Capacity, ReferralStatus
from referrals.forms import ReferralForm, SendForm, StatusForm
from referrals.service import directory, links, sharing
from referrals.service import referrals as service
from referrals.service.common import ConsentRequired, TransitionRefused
from referrals.views import bp, place_errors


def _service_choices():
    choices = [("", _("Choose a service"))]
    for svc in directory.referable_services():
        org = svc.organisation
        label = f"{org.name} — {svc.name} (T{org.tier}"
        if svc.capacity != Capacity.OPEN.value:
            label += f", {Capacity(svc.capacity).label}"
        choices.append((str(svc.id), label + ")"))
    return choices


def _goal_choices(case, current=None):
    return [("", _("None"))] + [(str(g.id), g.title) for g in service.goal_choices(case, current)]


def _form_data(form: ReferralForm) -> dict:
    return {"service_id": form.service_id.data, "urgency": form.urgency.data, "reason": form.reason.data,
            "goal_id": form.goal_id.data or None, "share": form.share.data or []}


@bp.route("/referrals")
@requires(Permission.REFERRALS_MANAGE)
def referral_list():
    status = request.args.get("status", "")
    overdue = request.args.get("overdue") == "1"
    open_only = request.args.get("open") == "1"
    stmt = service.list_statement(current_user, status=status, overdue=overdue, open_only=open_only)
    pagination = db.paginate(stmt, page=page_arg(), per_page=50, error_out=False)
    args = {k: v for k, v in {"status": status if status in [s.value for s in ReferralStatus] else "",
                              "overdue": "1" if overdue else "", "open": "1" if open_only else ""}.items() if v}
    return render_template("referrals/referrals/list.html", pagination=pagination, statuses=list(ReferralStatus),
                           args=args, overdue_total=service.overdue_count(current_user))


@bp.route("/cases/<case_id>/referrals/new", methods=["GET", "POST"])
@requires(Permission.REFERRALS_MANAGE)
def referral_new(case_id):
    case = load_visible("case", case_id, current_user, audit=request.method == "GET")
    form = ReferralForm()
    form.service_id.choices = _service_choices()
    form.goal_id.choices = _goal_choices(case)
    if request.method == "GET":
        if request.args.get("service_id"):
            form.service_id.data = request.args["service_id"]
    preview = None
    status = 200
    if form.validate_on_submit():
        data = _form_data(form)
        if request.form.get("action") == "preview":
            try:
                share = sharing.clean_share(data["share"])
            except Invalid as error:
                place_errors(form, error)
                status = 400
            else:
                preview = sharing.preview_lines(case, case.client, share)
                record_event("view", "case", case.id, reason="referral_preview")
        else:
            outcome = attempt(lambda: service.create_referral(current_user, case, data),
                              contain=(Invalid, TransitionRefused))
            if isinstance(outcome.error, TransitionRefused):
                flash(outcome.error.message, "error")
                return redirect(url_for("casework.case_detail", case_id=case_id))
            if outcome.error is not None:
                place_errors(form, outcome.error)
                status = 400
            else:
                referral = outcome.result
                flash(_("Draft referral saved. Check what the partner will see, then send it."), "success")
                return redirect(url_for("referrals.referral_detail", referral_id=referral.id))
        case = load_visible("case", case_id, current_user, audit=False)
    elif request.method == "POST":
        status = 400
    return render_template("referrals/referrals/new.html", form=form, case=case, preview=preview,
                           service=directory.get_service(form.service_id.data) if form.service_id.data else None), \
        status


def _detail_context(referral):
    return {
        "referral": referral,
        "lines": sharing.shared_lines(referral),
        "moves": service.allowed_moves(referral),
        "close_reasons": service.close_reasons_for(referral),
        "consent": service.consent_given(referral),
        "override_allowed": service.override_allowed(referral),
        "link": links.current_link(referral),
        "linkable": referral.status_enum in links.LINKABLE,
        "send_form": SendForm(),
        "status_form": StatusForm(),
        "confirm_form": ConfirmForm(),
    }


@bp.route("/referrals/<referral_id>")
@requires(Permission.REFERRALS_MANAGE)
def referral_detail(referral_id):
    referral = load_visible("referral", referral_id, current_user)
    return render_template("referrals/referrals/detail.html", **_detail_context(referral))


@bp.route("/referrals/<referral_id>/edit", methods=["GET", "POST"])
@requires(Permission.REFERRALS_MANAGE)
def referral_edit(referral_id):
    referral = load_visible("referral", referral_id, current_user, audit=request.method == "GET")
    if referral.status != ReferralStatus.DRAFT.value:
        flash(_("Only a draft can be changed; this referral was already sent."), "error")
        return redirect(url_for("referrals.referral_detail", referral_id=referral.id))
    form = ReferralForm(obj=None)
    form.service_id.choices = _service_choices()
    form.goal_id.choices = _goal_choices(referral.case, referral.goal_id)
    if request.method == "GET":
        form.service_id.data, form.urgency.data = str(referral.service_id), referral.urgency
        form.reason.data, form.share.data = referral.reason, referral.share
        form.goal_id.data = str(referral.goal_id) if referral.goal_id else ""
        form.version.data = referral.version
    status = 200
    if form.validate_on_submit():
        saved = save_form(form, url_for("referrals.referral_detail", referral_id=referral.id),
                          lambda: service.update_draft(current_user, referral, _form_data(form), form.version.data),
                          _("Draft saved."))
        if saved:
            return saved
        status = 400
        referral = load_visible("referral", referral_id, current_user, audit=False)
    elif request.method == "POST":
        status = 400
    return render_template("referrals/referrals/edit.html", form=form, referral=referral), status


@bp.route("/referrals/<referral_id>/send", methods=["POST"])
@requires(Permission.REFERRALS_MANAGE)
def referral_send(referral_id):
    referral = load_visible("referral", referral_id, current_user, audit=False)
    form = SendForm()
    if not form.validate_on_submit():
        abort(400)
    outcome = attempt(lambda: service.send(current_user, referral, override_reason=form.override_reason.data),
                      contain=(ConsentRequired, TransitionRefused, Invalid))
    error = outcome.error
    if error is not None:
        referral = load_visible("referral", referral_id, current_user, audit=False)
        context = dict(_detail_context(referral), send_form=form)
        if isinstance(error, Invalid):
            place_errors(form, error)
            return render_template("referrals/referrals/detail.html", **context), 400
        context["send_refused"] = error.message
        return render_template("referrals/referrals/detail.html", **context), 409
    referral, token = outcome.result
    return _link_once(referral, token, sent=True)


def _link_once(referral, token, *, sent: bool):
    """The partner link is shown here once (only its hash is kept), with the letter to print."""
    url = url_for("referrals.partner_page", token=token, _external=True)
    record_event("export", "referral", referral.id, reason="letter")
    return render_template("referrals/referrals/link_once.html", referral=referral, partner_url=url, sent=sent,
                           lines=sharing.shared_lines(referral), link=links.current_link(referral))


@bp.route("/referrals/<referral_id>/status", methods=["POST"])
@requires(Permission.REFERRALS_MANAGE)
def referral_status(referral_id):
    referral = load_visible("referral", referral_id, current_user, audit=False)
    form = StatusForm()
    if not form.validate_on_submit():
        abort(400)
    if form.status.data == ReferralStatus.SENT.value:
        abort(400)  # sending has its own form (consent, override, link)
    error = attempt(lambda: service.change_status(current_user, referral, form.status.data, note=form.note.data,
                                                  close_reason=form.close_reason.data or None),
                    contain=(TransitionRefused, Invalid)).error
    if error is not None:
        referral = load_visible("referral", referral_id, current_user, audit=False)
        context = _detail_context(referral)
        context["status_form"] = form
        if isinstance(error, Invalid):
            place_errors(form, error)
            return render_template("referrals/referrals/detail.html", **context), 400
        context["status_refused"] = error.message
        return render_template("referrals/referrals/detail.html", **context), 409
    flash(_("Status recorded: %(status)s.", status=referral.status_enum.label), "success")
    return redirect(url_for("referrals.referral_detail", referral_id=referral.id))


@bp.route("/referrals/<referral_id>/letter")
@requires(Permission.REFERRALS_MANAGE)
def referral_letter(referral_id):
    referral = load_visible("referral", referral_id, current_user, audit=False)
    record_event("export", "referral", referral.id, reason="letter")
    lines = sharing.shared_lines(referral)
    return render_template("referrals/referrals/letter.html", referral=referral, lines=lines, partner_url=None)


@bp.route("/referrals/<referral_id>/link", methods=["POST"])
@requires(Permission.REFERRALS_MANAGE)
def referral_link_new(referral_id):
    referral = load_visible("referral", referral_id, current_user, audit=False)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    outcome = attempt(lambda: links.issue(current_user, referral), contain=(TransitionRefused,))
    if not outcome.ok:
        flash(outcome.error.message, "error")
        return redirect(url_for("referrals.referral_detail", referral_id=referral.id))
    _link, token = outcome.result
    return _link_once(referral, token, sent=False)


@bp.route("/referrals/<referral_id>/link/revoke", methods=["POST"])
@requires(Permission.REFERRALS_MANAGE)
def referral_link_revoke(referral_id):
    referral = load_visible("referral", referral_id, current_user, audit=False)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    count = links.revoke_all(referral, current_user)
    flash(_("The partner link no longer works.") if count else _("There was no working partner link."), "success")
    return redirect(url_for("referrals.referral_detail", referral_id=referral.id))


# ------------------------------------------------------------------ consent overrides (supervisor)
@bp.route("/referrals/overrides")
@requires(Permission.REFERRAL_OVERRIDE_REVIEW)
def override_list():
    show_all = request.args.get("all") == "1"
    pagination = db.paginate(service.overrides_to_review(current_user, include_reviewed=show_all),
                             page=page_arg(), per_page=50, error_out=False)
    for referral in pagination.items:
        record_event("view", "referral", referral.id, reason="consent_override_review")
    return render_template("referrals/referrals/overrides.html", pagination=pagination, show_all=show_all,
                           form=ConfirmForm())


@bp.route("/referrals/<referral_id>/override/review", methods=["POST"])
@requires(Permission.REFERRAL_OVERRIDE_REVIEW)
def override_review(referral_id):
    referral = load_visible("consent_override", referral_id, current_user)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    service.review_override(current_user, referral)
    flash(_("Marked as reviewed."), "success")
    return redirect(url_for("referrals.override_list"))


def case_section(case) -> dict:
    """The referrals section on the case page (casework renders it; no extra audit: the case view is)."""
    if not can(Permission.REFERRALS_MANAGE):
        return {"case_referrals": []}
    referrals = service.for_case(case)
    open_ones = [r for r in referrals if not ReferralStatus(r.status).final]
    waiting = sum(1 for r in open_ones if r.status == ReferralStatus.SENT.value)
    if not open_ones:
        value = _("None open")
    elif waiting:
        value = _("%(n)d open, %(waiting)d waiting for the partner's answer", n=len(open_ones), waiting=waiting)
    else:
        value = _("%(n)d open", n=len(open_ones))
    return {"case_referrals": referrals,
            "summary": [SummaryRow(50, _l("Open referrals"), value, "overdue" if any(r.overdue for r in open_ones)
                                   else None, "case-referrals-heading")]}
