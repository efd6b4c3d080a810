"""Recovery pages: the care plan (goals, reviews, versions, the client's summary and sharing), outcomes
over time (charts, recording and linking screenings, the re-screening schedule), community groups,
and follow-ups after closure. The resident reads their shared plan at /my/plan."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from carecycle.audit import record_event
from carecycle.forms import ConfirmForm
from carecycle.lifecycle import keep_refusal, load_visible, undone_on_error
from carecycle.permissions import Permission, can, requires
from carecycle.validation import Conflict, Invalid
from casework.forms_recovery import (
    ClientNoteForm,
    EnrolForm,
    FollowUpForm,
    GoalForm,
    GroupForm,
    NextReviewForm,
    RescreenScheduleForm,
    ReviewForm,
    ScreeningMetaForm,
    SessionForm,
)
from casework.models import FollowUp, GroupSession
from casework.models.recovery import Attendance, FollowUpStatus, GoalDomain, GoalOwner, GoalStatus, GroupKind
from casework.service import careplans, followup, outcomes, safety
from casework.service import groups as group_service
from casework.views import EVENT_LABELS, TASK_LABELS, bp, enum_label, register_case_section
from casework.views.common import change_and_return, conflict_page, flash_errors, form_messages, place_errors, save_form
from casework.views.safety import link_code_page
from screening.service import get_instrument, item_language

EVENT_LABELS.update({
    "care_plan_created": _l("Care plan written"), "care_plan_saved": _l("Care plan changed"),
    "care_plan_reviewed": _l("Care plan reviewed"), "care_plan_review_scheduled": _l("Care-plan review scheduled"),
    "care_plan_shared": _l("Care plan shared with the client"), "care_plan_unshared": _l("Care plan no longer shared"),
    "screening_recorded": _l("Screening recorded with the client"),
    "screening_linked": _l("Client's own screening added to the case"),
    "rescreen_alert": _l("Re-screening raised a triage alert"), "rescreen_scheduled": _l("Re-screening scheduled"),
    "rescreen_stopped": _l("Re-screening stopped"), "group_joined": _l("Joined a group"),
    "group_left": _l("Left a group"),
    "follow_ups_scheduled": _l("Follow-ups scheduled (1, 3 and 6 months)"),
    "follow_up_recorded": _l("Follow-up recorded"), "follow_up_not_reached": _l("Follow-up: person not reached"),
    "follow_up_alert": _l("Follow-up raised a triage alert"),
    "follow_ups_cancelled": _l("Follow-ups still due cancelled (case reopened)"),
})
TASK_LABELS.update({outcomes.RESCREEN: _l("Re-screening due"), careplans.REVIEW: _l("Care-plan review"),
                    followup.FOLLOW_UP: _l("Follow-up after closure")})


def register_links(app) -> None:
    """Navigation: the team's groups for staff, the shared plan for residents."""
    from carecycle.areas import add_home_link, add_nav_link
    add_nav_link(app, Permission.CASES_VIEW, "casework.groups", _l("Groups"))
    add_nav_link(app, Permission.OWN_CARE_PLAN, "casework.my_plan", _l("My plan"))
    add_home_link(app, Permission.CASES_VIEW, "casework.groups", _l("Community groups"),
                  _l("Bereavement, carers, peer-support and return-to-work groups: sessions and attendance."))
    add_home_link(app, Permission.OWN_CARE_PLAN, "casework.my_plan", _l("My plan"),
                  _l("The recovery plan you made with your worker, when they share it with you."))


def _instrument_name(ident: str) -> str:
    definition = get_instrument(ident)
    return definition.name if definition else ident


@bp.context_processor
def recovery_labels():
    return {"domain_label": enum_label(GoalDomain), "goal_status_label": enum_label(GoalStatus),
            "owner_label": enum_label(GoalOwner), "group_kind_label": enum_label(GroupKind),
            "attendance_label": enum_label(Attendance), "follow_up_status_label": enum_label(FollowUpStatus),
            "marker_label": lambda code: outcomes.MARKER_LABELS.get(code, code), "instrument_name": _instrument_name,
            "leads_plans": careplans.leads(current_user) if current_user.is_authenticated and current_user.is_staff
            else False}


@bp.app_template_global("outcome_snapshot_lines")
def outcome_snapshot_lines(snapshot) -> list[str]:
    """A closure's outcome snapshot in words (instruments, then goals)."""
    if not snapshot:
        return []
    lines = followup.snapshot_statements(snapshot)
    goals = followup.goal_statement(snapshot)
    if snapshot.get("statement"):
        lines.append(snapshot["statement"])
    return lines + ([goals] if goals else [])


@bp.app_template_filter("care_day")
def care_day(value, fmt="medium"):
    return format_date(value, fmt) if value else ""


# ------------------------------------------------------------------ the case page section
def recovery_section(case):
    plan = careplans.plan_of(case)
    goals = careplans.goals_of(plan)
    follow_ups = followup.follow_ups_of(case)
    enrol = None
    if can(Permission.CASES_EDIT) and case.phase != "closed":
        choices = [(str(g.id), g.name) for g in group_service.groups_for(current_user)]
        if choices:
            enrol = EnrolForm()
            enrol.group_id.choices = choices
    counts = careplans.status_counts(goals)
    return {
        "rc_plan": plan, "rc_goal_counts": counts, "rc_goal_total": len(goals),
        "rc_goal_statement": followup.goal_statement({"goals": counts}),
        "rc_next_review": careplans.next_review(case),
        "rc_outcomes": outcomes.outcomes_of(case), "rc_rescreens": outcomes.due_rescreens(case),
        "rc_groups": group_service.groups_of_client(case.client_id), "rc_enrol": enrol,
        "rc_follow_ups": follow_ups, "rc_confirm": ConfirmForm(),
        "rc_closure_lines": followup.snapshot_statements(case.outcome_snapshot) if case.outcome_snapshot else [],
        "rc_closure_goals": followup.goal_statement(case.outcome_snapshot),
    }


register_case_section("casework/recovery/_section.html", recovery_section)


def _case_url(case):
    return url_for("casework.case_detail", case_id=case.id)


def _plan_url(case):
    return url_for("casework.care_plan", case_id=case.id)


def _outcomes_url(case):
    return url_for("casework.case_outcomes", case_id=case.id)


# ------------------------------------------------------------------ care plan
@bp.route("/cases/<case_id>/care-plan")
@requires(Permission.CASES_VIEW)
def care_plan(case_id):
    case = load_visible("case", case_id, current_user)
    plan = careplans.plan_of(case)
    goals = careplans.goals_of(plan)
    if plan is not None:
        record_event("view", "care_plan", plan.id)
    context = {"case": case, "plan": plan, "goals": goals, "links": careplans.goal_links(case, goals),
               "reviews": careplans.reviews_of(plan), "next_review": careplans.next_review(case),
               "goal_names": {str(g.id): g.title for g in goals}, "confirm": ConfirmForm(),
               "review_form": NextReviewForm(), "domains": list(GoalDomain),
               "may_give_link_code": safety.may_give_link_code(current_user, case)}
    return render_template("casework/recovery/plan.html", **context)


def _editable_or_refused(case):
    """The plan pages' guard: a plan is written in recovery; a closed case is read-only."""
    try:
        careplans.require_recovery(case)
    except Conflict as error:
        return conflict_page(error, _plan_url(case))
    return None


def _goal_payload(form) -> dict:
    return {name: form[name].data for name in ("domain", "title", "success", "target_date", "status", "drop_reason",
                                               "owner", "owner_detail")}


@bp.route("/cases/<case_id>/care-plan/goals/new", methods=["GET", "POST"])
@requires(Permission.CASES_EDIT)
def care_plan_goal_new(case_id):
    case = load_visible("case", case_id, current_user, audit=request.method == "GET")
    refused = _editable_or_refused(case)
    if refused:
        return refused
    plan = careplans.plan_of(case)
    form = GoalForm()
    if request.method == "GET":
        form.version.data = plan.version if plan else 0
        form.domain.data = request.args.get("domain") if request.args.get("domain") in GoalDomain._value2member_map_ \
            else GoalDomain.HOUSING.value
    elif form.validate_on_submit():
        done = save_form(form, _plan_url(case),
                          lambda: careplans.add_goal(current_user, case, form.version.data, _goal_payload(form)),
                          _("Goal added to the care plan."), place=_place_goal_errors)
        if done:
            return done
    return render_template("casework/recovery/goal_form.html", case=case, form=form, goal=None), \
        400 if form.errors else 200


def _place_goal_errors(form, error: Invalid) -> None:
    """Service messages name `goals[i].field`; the form shows them on its field."""
    fields = {}
    for key, message in error.fields.items():
        name = key.rsplit(".", 1)[-1] if key.startswith("goals[") else key
        fields[name] = message
    place_errors(form, Invalid(fields))


@bp.route("/cases/<case_id>/care-plan/goals/<goal_id>/edit", methods=["GET", "POST"])
@requires(Permission.CASES_EDIT)
def care_plan_goal_edit(case_id, goal_id):
    case = load_visible("case", case_id, current_user, audit=request.method == "GET")
    plan = careplans.plan_of(case)
    goal = next((g for g in careplans.goals_of(plan) if str(g.id) == str(goal_id)), None)
    if goal is None:
        abort(404)
    refused = _editable_or_refused(case)
    if refused:
        return refused
    form = GoalForm()
    if request.method == "GET":
        form.version.data = plan.version
        for name, value in careplans.goal_json(goal).items():
            if name in form and name != "id":
                form[name].data = value or ""
    elif form.validate_on_submit():
        done = save_form(form, _plan_url(case), lambda: careplans.update_goal(
            current_user, case, form.version.data, goal.id, _goal_payload(form)), _("Goal saved."),
            place=_place_goal_errors)
        if done:
            return done
    return render_template("casework/recovery/goal_form.html", case=case, form=form, goal=goal), \
        400 if form.errors else 200


@bp.route("/cases/<case_id>/care-plan/client-note", methods=["GET", "POST"])
@requires(Permission.CASES_EDIT)
def care_plan_client_note(case_id):
    case = load_visible("case", case_id, current_user, audit=request.method == "GET")
    refused = _editable_or_refused(case)
    if refused:
        return refused
    plan = careplans.plan_of(case)
    form = ClientNoteForm()
    if request.method == "GET":
        form.version.data = plan.version if plan else 0
        form.client_note.data = plan.client_note if plan else ""
    elif form.validate_on_submit():
        done = save_form(form, _plan_url(case), lambda: careplans.set_client_note(
            current_user, case, form.version.data, form.client_note.data), _("Note for the client saved."))
        if done:
            return done
    return render_template("casework/recovery/client_note.html", case=case, form=form), 400 if form.errors else 200


@bp.route("/cases/<case_id>/care-plan/reviews/new", methods=["GET", "POST"])
@requires(Permission.CASES_EDIT)
def care_plan_review_new(case_id):
    case = load_visible("case", case_id, current_user, audit=request.method == "GET")
    refused = _editable_or_refused(case)
    if refused:
        return refused
    plan = careplans.plan_of(case)
    if plan is None:
        flash(_("Write the care plan before reviewing it."), "error")
        return redirect(_plan_url(case))
    goals = careplans.goals_of(plan)
    form = ReviewForm()
    goal_errors: dict = {}
    chosen = {str(g.id): {"status": request.form.get(f"goal-{g.id}-status", g.status),
                          "reason": request.form.get(f"goal-{g.id}-reason", "")} for g in goals}
    if request.method == "GET":
        form.version.data = plan.version
        form.reviewed_on.data = careplans.local_today().isoformat()
    elif form.validate_on_submit():
        try:
            with undone_on_error():
                careplans.record_review(current_user, case, form.version.data, reviewed_on=form.reviewed_on.data,
                                        summary=form.summary.data, changes=chosen,
                                        next_review_on=form.next_review_on.data)
        except Invalid as error:
            goal_errors = {k: v for k, v in error.fields.items() if k.startswith("goal-")}
            place_errors(form, Invalid({k: v for k, v in error.fields.items() if not k.startswith("goal-")}))
        except Conflict as error:
            return conflict_page(error, _plan_url(case))
        else:
            flash(_("Review recorded."), "success")
            return redirect(_plan_url(case))
    failed = bool(form.errors or goal_errors)
    return render_template("casework/recovery/review_form.html", case=case, form=form, goals=goals, chosen=chosen,
                           goal_errors=goal_errors, statuses=list(GoalStatus)), 400 if failed else 200


@bp.route("/cases/<case_id>/care-plan/next-review", methods=["POST"])
@requires(Permission.CASES_EDIT)
def care_plan_next_review(case_id):
    case = load_visible("case", case_id, current_user, audit=False)
    form = NextReviewForm()
    if not form.validate_on_submit():
        flash(_("Give the date of the next review."), "error")
        return redirect(_plan_url(case))
    return change_and_return(_plan_url(case), lambda: careplans.schedule_review(
        current_user, case, form.next_review_on.data), _("Next review scheduled."))


@bp.route("/cases/<case_id>/care-plan/versions")
@requires(Permission.CASES_VIEW)
def care_plan_versions(case_id):
    case = load_visible("case", case_id, current_user)
    plan = careplans.plan_of(case)
    versions = careplans.versions_of(plan)
    return render_template("casework/recovery/versions.html", case=case, plan=plan, versions=versions)


@bp.route("/cases/<case_id>/care-plan/versions/<int:number>")
@requires(Permission.CASES_VIEW)
def care_plan_version(case_id, number):
    case = load_visible("case", case_id, current_user, audit=False)
    kept = careplans.load_version(careplans.plan_of(case), number)
    if kept is None:
        abort(404)
    record_event("view", "care_plan_version", kept.id)
    return render_template("casework/recovery/version.html", case=case, kept=kept,
                           goals=(kept.content or {}).get("goals", []), note=(kept.content or {}).get("client_note"))


@bp.route("/cases/<case_id>/care-plan/summary")
@requires(Permission.CASES_VIEW)
def care_plan_summary(case_id):
    """The client-facing summary in a print layout (what /my/plan shows the client)."""
    case = load_visible("case", case_id, current_user, audit=False)
    plan = careplans.plan_of(case)
    if plan is None:
        abort(404)
    record_event("export", "care_plan", plan.id, reason="client summary")
    summary = careplans.client_summary(plan, case)
    return render_template("casework/recovery/summary_print.html", case=case, summary=summary,
                           lang=str(get_locale() or "en"))


@bp.route("/cases/<case_id>/care-plan/share", methods=["POST"])
@requires(Permission.CASES_EDIT)
def care_plan_share(case_id):
    case = load_visible("case", case_id, current_user, audit=False)
    if not ConfirmForm().validate_on_submit():
        return redirect(_plan_url(case))
    return change_and_return(_plan_url(case), lambda: careplans.share(current_user, case),
                              _("The plan is shared. The client sees its summary when signed in, under \"My plan\"."))


@bp.route("/cases/<case_id>/care-plan/link-code", methods=["POST"])
@requires(Permission.CASES_EDIT)
def care_plan_link_code(case_id):
    """The social worker (or the team's supervisor) gives the client a link code from the care plan."""
    case = load_visible("case", case_id, current_user, audit=False)
    return link_code_page(case, _plan_url(case), "care")


@bp.route("/cases/<case_id>/care-plan/unshare", methods=["POST"])
@requires(Permission.CASES_EDIT)
def care_plan_unshare(case_id):
    case = load_visible("case", case_id, current_user, audit=False)
    if not ConfirmForm().validate_on_submit():
        return redirect(_plan_url(case))
    return change_and_return(_plan_url(case), lambda: careplans.stop_sharing(current_user, case),
                              _("The plan is no longer shared with the client."))


@bp.route("/my/plan")
@requires(Permission.OWN_CARE_PLAN)
def my_plan():
    plan = careplans.shared_plan_for(current_user)
    summary = careplans.client_summary(plan, plan.case) if plan else None
    linked = plan is not None or safety.resident_linked(current_user)
    if plan is not None:
        record_event("view", "care_plan", plan.id, reason="resident")
    return render_template("casework/recovery/my_plan.html", plan=plan, summary=summary, linked=linked)


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


def _answers_from(form, instrument) -> list:
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


def _item_errors(error: Invalid) -> tuple[dict, list]:
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
        return conflict_page(error, _case_url(case))
    form = ScreeningMetaForm()
    given = {item.number: request.form.get(f"item-{item.number}", "") for item in instrument.items}
    errors, general = {}, []
    sex = request.form.get("sex") or None
    if form.validate_on_submit():
        try:
            with undone_on_error():
                link, outcome, alert = outcomes.record_screening(current_user, case, instrument.id,
                                                                 _answers_from(request.form, instrument), sex=sex,
                                                                 taken_at=form.taken_on.data or None)
        except Invalid as error:
            errors, general = _item_errors(error)
        except Conflict as error:
            return conflict_page(error, _case_url(case))
        else:
            flash(_("%(name)s recorded: %(score)s (%(band)s).", name=instrument.name,
                    score=outcomes.show_score(outcome.score, instrument.percentage_factor), band=outcome.band),
                  "success")
            if alert is not None:
                flash(_("The result raised a triage alert on this case."), "warning")
            return redirect(_outcomes_url(case))
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
            return conflict_page(error, _outcomes_url(case))
        else:
            flash(_("The client's screening is now counted on the case."), "success")
            if alert is not None:
                flash(_("The result raised a triage alert on this case."), "warning")
            return redirect(_outcomes_url(case))
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
        return redirect(_outcomes_url(case))
    return change_and_return(_outcomes_url(case), lambda: outcomes.set_schedule(
        current_user, case, form.instrument.data, form.weeks.data), _("Re-screening scheduled."))


@bp.route("/cases/<case_id>/rescreen-schedule/<instrument_id>/stop", methods=["POST"])
@requires(Permission.CASES_EDIT)
def case_rescreen_stop(case_id, instrument_id):
    case = load_visible("case", case_id, current_user, audit=False)
    if not ConfirmForm().validate_on_submit():
        return redirect(_outcomes_url(case))
    return change_and_return(_outcomes_url(case), lambda: outcomes.stop_schedule(current_user, case, instrument_id),
                              _("Re-screening stopped."))


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
            screening = {"instrument": instrument.id, "answers": _answers_from(request.form, instrument),
                         "sex": request.form.get("sex") or None}
        try:
            with undone_on_error():
                _item, alert = followup.record_follow_up(current_user, case, item, status=form.status.data,
                                                         note=form.note.data, crisis=form.crisis.data,
                                                         screening=screening)
        except Invalid as error:
            errors, general = _item_errors(error)
            place_errors(form, Invalid({k: v for k, v in error.fields.items() if k in ("status", "note")}))
            general = [m for m in general if m not in (error.fields.get("status"), error.fields.get("note"))]
        except Conflict as error:
            return conflict_page(error, _case_url(case))
        else:
            if alert is not None:
                flash(_("Follow-up recorded. The case is reopened and on the triage queue."), "warning")
            else:
                flash(_("Follow-up recorded."), "success")
            return redirect(_case_url(case))
    failed = bool(form.errors or errors or general)
    return render_template("casework/recovery/follow_up.html", case=case, item=item, form=form,
                           instrument=instrument, instruments=outcomes.recordable_instruments(), given=given,
                           errors=errors, general=general, self_screenings=self_screenings,
                           closure_lines=followup.snapshot_statements(case.outcome_snapshot),
                           closure_goals=followup.goal_statement(case.outcome_snapshot),
                           language=item_language(instrument, str(get_locale() or "en")) if instrument else "en"), \
        400 if failed else 200


# ------------------------------------------------------------------ community groups
@bp.route("/groups")
@requires(Permission.CASES_VIEW)
def groups():
    archived = request.args.get("archived") == "1"
    found = group_service.groups_for(current_user, archived=archived)
    upcoming = group_service.upcoming_sessions(found)
    members = group_service.member_counts(found)
    return render_template("casework/recovery/groups.html", groups=found, upcoming=upcoming, members=members,
                           archived=archived)


def _group_payload(form) -> dict:
    return {name: form[name].data for name in ("name", "kind", "facilitator", "schedule", "location", "description")}


@bp.route("/groups/new", methods=["GET", "POST"])
@requires(Permission.CASES_EDIT)
def group_new():
    form = GroupForm()
    if form.validate_on_submit():
        try:
            with undone_on_error():
                group = group_service.create_group(current_user, _group_payload(form))
        except Invalid as error:
            place_errors(form, error)
        else:
            flash(_("Group created."), "success")
            return redirect(url_for("casework.group_detail", group_id=group.id))
    return render_template("casework/recovery/group_form.html", form=form, group=None), 400 if form.errors else 200


@bp.route("/groups/<group_id>")
@requires(Permission.CASES_VIEW)
def group_detail(group_id):
    group = load_visible("community_group", group_id, current_user)
    members = group_service.members_of(group, current_user)
    sessions = group_service.sessions_of(group)
    return render_template("casework/recovery/group.html", group=group, members=members, sessions=sessions,
                           confirm=ConfirmForm(), session_form=SessionForm())


@bp.route("/groups/<group_id>/edit", methods=["GET", "POST"])
@requires(Permission.CASES_EDIT)
def group_edit(group_id):
    group = load_visible("community_group", group_id, current_user, audit=False)
    form = GroupForm(obj=group) if request.method == "GET" else GroupForm()
    if request.method == "GET":
        form.version.data = group.version
    elif form.validate_on_submit():
        done = save_form(form, url_for("casework.group_detail", group_id=group.id), lambda: group_service.update_group(
            current_user, group, form.version.data, _group_payload(form)), _("Group saved."))
        if done:
            return done
    return render_template("casework/recovery/group_form.html", form=form, group=group), 400 if form.errors else 200


@bp.route("/groups/<group_id>/archive", methods=["POST"])
@requires(Permission.CASES_EDIT)
def group_archive(group_id):
    group = load_visible("community_group", group_id, current_user, audit=False)
    back = url_for("casework.group_detail", group_id=group.id)
    if not ConfirmForm().validate_on_submit():
        return redirect(back)
    return change_and_return(back, lambda: group_service.archive_group(current_user, group),
                              _("Group archived. Its members and attendance are kept."))


@bp.route("/groups/<group_id>/sessions/new", methods=["POST"])
@requires(Permission.CASES_EDIT)
def group_session_new(group_id):
    group = load_visible("community_group", group_id, current_user, audit=False)
    form = SessionForm()
    back = url_for("casework.group_detail", group_id=group.id)
    if not form.validate_on_submit():
        flash_errors(form_messages(form))
        return redirect(back)
    return change_and_return(back, lambda: group_service.add_session(
        current_user, group, day=form.day.data, at=form.at.data, duration_minutes=form.duration_minutes.data,
        topic=form.topic.data, facilitator=form.facilitator.data), _("Session added."))


@bp.route("/groups/<group_id>/sessions/<session_id>", methods=["GET", "POST"])
@requires(Permission.CASES_VIEW)
def group_session(group_id, session_id):
    group = load_visible("community_group", group_id, current_user, audit=False)
    session = load_visible("group_session", session_id, current_user, where=(GroupSession.group_id == group.id,))
    form = ConfirmForm()
    status = 200
    errors: dict = {}
    if request.method == "POST":
        if not can(Permission.CASES_EDIT):
            abort(403)
        if form.validate_on_submit():
            statuses = {key[len("member-"):]: value for key, value in request.form.items() if key.startswith("member-")}
            try:
                with undone_on_error():
                    count = group_service.record_attendance(current_user, session, statuses)
            except Invalid as error:
                errors = error.fields
                status = 400
            except Conflict as error:
                return conflict_page(error, url_for("casework.group_detail", group_id=group.id))
            else:
                flash(_("Attendance saved (%(n)d).", n=count), "success")
                return redirect(url_for("casework.group_session", group_id=group.id, session_id=session.id))
    members = group_service.members_of(group, current_user)
    attendance = group_service.attendance_of(session)
    not_member = {m.row.id: (_("joined after this session") if group_service.joined_after(m.row, session)
                             else _("had left before this session")) for m in members
                  if group_service.outside_membership(m.row, session)}
    return render_template("casework/recovery/session.html", group=group, session=session, members=members,
                           attendance=attendance, form=form, errors=errors, statuses=list(Attendance),
                           not_member=not_member), status


@bp.route("/groups/<group_id>/sessions/<session_id>/cancel", methods=["POST"])
@requires(Permission.CASES_EDIT)
def group_session_cancel(group_id, session_id):
    group = load_visible("community_group", group_id, current_user, audit=False)
    session = load_visible("group_session", session_id, current_user, where=(GroupSession.group_id == group.id,))
    back = url_for("casework.group_detail", group_id=group.id)
    if not ConfirmForm().validate_on_submit():
        return redirect(back)
    return change_and_return(back, lambda: group_service.cancel_session(current_user, session),
                              _("Session cancelled."))


@bp.route("/cases/<case_id>/groups", methods=["POST"])
@requires(Permission.CASES_EDIT)
def case_group_enrol(case_id):
    case = load_visible("case", case_id, current_user, audit=False)
    form = EnrolForm()
    form.group_id.choices = [(str(g.id), g.name) for g in group_service.groups_for(current_user)]
    if not form.validate_on_submit():
        flash(_("Choose a group of your team."), "error")
        return redirect(_case_url(case))
    group = load_visible("community_group", form.group_id.data, current_user, audit=False)
    return change_and_return(_case_url(case), lambda: group_service.enrol(current_user, group, case),
                              _("The client joined %(group)s.", group=group.name))


@bp.route("/cases/<case_id>/groups/<member_id>/leave", methods=["POST"])
@requires(Permission.CASES_EDIT)
def case_group_leave(case_id, member_id):
    case = load_visible("case", case_id, current_user, audit=False)
    membership = next((m for m in group_service.groups_of_client(case.client_id) if str(m.member.id) == member_id),
                      None)
    if membership is None:
        abort(404)
    try:
        careplans.require_open(case)
    except Conflict as error:
        return conflict_page(error, _case_url(case))
    if not ConfirmForm().validate_on_submit():
        return redirect(_case_url(case))
    group = load_visible("community_group", membership.group.id, current_user, audit=False)
    return change_and_return(_case_url(case), lambda: group_service.leave(current_user, group, membership.member.id,
                                                                           case),
                              _("The client left %(group)s.", group=group.name))
