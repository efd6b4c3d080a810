"""Safety plan pages (staff): the plan with its versions, editing the draft, signing, a print view,
sharing with the client's resident account and the one-time link code. Resident pages: entering
the code at /my/link and reading the shared plan at /my/safety-plan."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from carecycle.audit import record_event
from carecycle.forms import ConfirmForm
from carecycle.lifecycle import keep_refusal, load_visible, undone_on_error
from carecycle.localtime import format_day
from carecycle.notifications import KIND_LABELS
from carecycle.permissions import Permission, can, requires
from carecycle.validation import Conflict, Invalid
from casework.forms import LinkCodeForm, SafetyPlanForm
from casework.models.safety import REQUIRED_TO_SIGN, SECTION_CODES, SECTIONS
from casework.service import safety as service
from casework.views import EVENT_LABELS, SummaryRow, bp, register_case_section
from casework.views.common import change_and_return, conflict_page, place_errors, save_form

EVENT_LABELS.update({
    "safety_plan_signed": _l("Safety plan signed"), "safety_plan_shared": _l("Safety plan shared with the client"),
    "safety_plan_unshared": _l("Safety plan no longer shared"),
    "resident_code_issued": _l("Link code given for the client's own account"),
    "resident_linked": _l("Client linked their own account"), "resident_unlinked": _l("Client's own account unlinked"),
    "resident_code_refused": _l("Link code refused: it was entered in an account already linked to another "
                                "person. The code no longer works; give the client a new one."),
})
KIND_LABELS.update({"link_code_refused": _l("A link code you gave was refused: the account it was entered in is "
                                            "linked to another person")})


def safety_section(case):
    signed, shared = service.current_signed(case), service.shared_with(case)
    draft = service.draft_of(case) if can(Permission.RISK_ASSESS) else None
    if signed is not None:
        value = (_("Version %(n)d signed %(when)s, shared with the client", n=signed.number,
                   when=format_day(signed.signed_at)) if shared is not None and shared.id == signed.id
                 else _("Version %(n)d signed %(when)s", n=signed.number, when=format_day(signed.signed_at)))
    else:
        value = _("No signed plan yet")
    if draft is not None:
        value = _("%(state)s; a draft is in progress", state=value)
    return {"safety_signed": signed, "safety_draft": draft, "safety_shared": shared,
            "summary": [SummaryRow(20, _l("Safety plan"), value, None if signed else "missing",
                                   "case-safety-heading")]}


register_case_section("casework/safety/_section.html", safety_section, anchor="case-safety-heading",
                      label=_l("Safety plan"), order=40)


def _back(case):
    return url_for("casework.safety_plan", case_id=case.id)


@bp.route("/cases/<case_id>/safety-plan")
@requires(Permission.CASES_VIEW)
def safety_plan(case_id):
    case = load_visible("case", case_id, current_user)
    signed = service.current_signed(case)
    if signed is not None:
        record_event("view", "safety_plan", signed.id)
    writer = can(Permission.RISK_ASSESS)
    all_versions = [v for v in service.versions(case) if v.signed or writer]
    return render_template("casework/safety/plan.html", case=case, plan=signed, versions=all_versions,
                           draft=service.draft_of(case) if writer else None, shared=service.shared_with(case),
                           sections=SECTIONS, confirm=ConfirmForm(),
                           may_give_link_code=service.may_give_link_code(current_user, case))


@bp.route("/cases/<case_id>/safety-plan/edit", methods=["GET", "POST"])
@requires(Permission.RISK_ASSESS)
def safety_plan_edit(case_id):
    case = load_visible("case", case_id, current_user, audit=request.method == "GET")
    draft = service.draft_of(case)
    form = SafetyPlanForm()
    if request.method == "GET":
        content = draft.content if draft else service.start_draft_content(case)
        for code in SECTION_CODES:
            form[code].data = (content or {}).get(code, "")
        form.version.data = draft.version if draft else 0
    elif form.validate_on_submit():
        sign = request.form.get("action") == "sign"

        def save():
            saved = service.save_draft(current_user, case, {c: form[c].data for c in SECTION_CODES},
                                       form.version.data)
            if sign:
                service.sign(current_user, case, saved)
            return saved

        def said(saved):
            return (_("Safety plan signed (version %(n)d).", n=saved.number) if sign else
                    _("Draft saved (version %(n)d). A counsellor signs it when it is agreed with the client.",
                      n=saved.number))
        done = save_form(form, _back(case), save, said,  # after a conflict: reload the draft here
                         conflict_back=url_for("casework.safety_plan_edit", case_id=case.id))
        if done:
            return done
    return render_template("casework/safety/edit.html", case=case, form=form, draft=draft, sections=SECTIONS,
                           required=REQUIRED_TO_SIGN, may_sign=service.may_sign(current_user)), \
        400 if form.errors else 200


@bp.route("/cases/<case_id>/safety-plan/<int:number>")
@requires(Permission.CASES_VIEW)
def safety_plan_version(case_id, number):
    case = load_visible("case", case_id, current_user, audit=False)
    plan = service.load_version(case, number, current_user)
    return render_template("casework/safety/version.html", case=case, plan=plan, sections=SECTIONS,
                           confirm=ConfirmForm(), may_sign=service.may_sign(current_user))


@bp.route("/cases/<case_id>/safety-plan/<int:number>/print")
@requires(Permission.CASES_VIEW)
def safety_plan_print(case_id, number):
    case = load_visible("case", case_id, current_user, audit=False)
    plan = service.load_version(case, number, current_user)
    record_event("export", "safety_plan", plan.id, reason="print")
    return render_template("casework/safety/print.html", case=case, plan=plan, sections=SECTIONS,
                           lang=str(get_locale() or "en"))


@bp.route("/cases/<case_id>/safety-plan/<int:number>/sign", methods=["POST"])
@requires(Permission.RISK_ASSESS)
def safety_plan_sign(case_id, number):
    case = load_visible("case", case_id, current_user, audit=False)
    plan = service.load_version(case, number, current_user)
    if not ConfirmForm().validate_on_submit():
        return redirect(_back(case))
    return change_and_return(
        _back(case), lambda: service.sign(current_user, case, plan, request.form.get("version") or None),
        _("Safety plan signed (version %(n)d).", n=plan.number),
        invalid_back=url_for("casework.safety_plan_edit", case_id=case.id))


@bp.route("/cases/<case_id>/safety-plan/share", methods=["POST"])
@requires(Permission.RISK_ASSESS)
def safety_plan_share(case_id):
    case = load_visible("case", case_id, current_user, audit=False)
    if not ConfirmForm().validate_on_submit():
        return redirect(_back(case))
    return change_and_return(
        _back(case), lambda: service.share_current(current_user, case),
        lambda plan: _("Version %(n)d is shared. The client sees it when signed in, under \"My safety plan\".",
                       n=plan.number))


@bp.route("/cases/<case_id>/safety-plan/unshare", methods=["POST"])
@requires(Permission.RISK_ASSESS)
def safety_plan_unshare(case_id):
    case = load_visible("case", case_id, current_user, audit=False)
    if ConfirmForm().validate_on_submit():
        service.stop_sharing(current_user, case)
        flash(_("The safety plan is no longer shared with the client."), "success")
    return redirect(_back(case))


def link_code_page(case, back: str, from_page: str):
    """Make a new one-time code and show it once (never stored in plain text, never flashed); the
    safety-plan and the care-plan pages both give codes through here. `from_page`: "safety" or "care"."""
    if not ConfirmForm().validate_on_submit():
        return redirect(back)
    try:
        with undone_on_error():
            row, code = service.issue_link_code(current_user, case)
    except Conflict as error:
        return conflict_page(error, back)
    return render_template("casework/safety/link_code.html", case=case, code=code, expires_at=row.expires_at,
                           back=back, from_page=from_page)


@bp.route("/cases/<case_id>/resident-link", methods=["POST"])
@requires(Permission.RISK_ASSESS)
def resident_link_code(case_id):
    case = load_visible("case", case_id, current_user, audit=False)
    return link_code_page(case, _back(case), "safety")


@bp.route("/cases/<case_id>/resident-unlink", methods=["POST"])
@requires(Permission.RISK_ASSESS)
def resident_unlink(case_id):
    case = load_visible("case", case_id, current_user, audit=False)
    if ConfirmForm().validate_on_submit():
        service.unlink_resident(current_user, case)
        flash(_("The client's own account is no longer linked and sees no safety plan."), "success")
    return redirect(_back(case))


# ------------------------------------------------------------------ the resident's pages
@bp.route("/my/link", methods=["GET", "POST"])
@requires(Permission.OWN_SAFETY_PLAN)
def my_link():
    form = LinkCodeForm()
    status = 200
    if form.validate_on_submit():
        try:  # no savepoint: a wrong code's counted attempt and audit stay (the service changes nothing else)
            service.redeem_link_code(current_user, form.code.data, request.remote_addr)
        except service.RateLimited:
            flash(_("Too many attempts. Wait 15 minutes and try again, or ask your counsellor for help."), "error")
            status = 429
        except Invalid as error:
            keep_refusal()  # the counted attempt and its audit are kept
            place_errors(form, error)
            status = 400
        else:
            flash(_("Your account is linked. When your worker shares your plans with you, you will find them under "
                    "\"My safety plan\" and \"My plan\"."),
                  "success")
            return redirect(url_for("casework.my_safety_plan"))
    elif form.errors:
        status = 400
    return render_template("casework/my/link.html", form=form), status


@bp.route("/my/safety-plan")
@requires(Permission.OWN_SAFETY_PLAN)
def my_safety_plan():
    plan = service.shared_plan_for(current_user)
    linked = plan is not None or service.resident_linked(current_user)
    if plan is not None:
        record_event("view", "safety_plan", plan.id, reason="resident")
    return render_template("casework/my/safety_plan.html", plan=plan, linked=linked, sections=SECTIONS)
