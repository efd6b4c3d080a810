"""Community-group pages: the team's groups, their sessions and attendance, and a client's enrolment."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from carecycle.forms import ConfirmForm
from carecycle.lifecycle import load_visible, undone_on_error
from carecycle.permissions import Permission, can, requires
from carecycle.validation import Conflict, Invalid
from casework.forms_recovery import (
    EnrolForm,
    GroupForm,
    SessionForm,
)
from casework.models import GroupSession
from casework.models.recovery import Attendance
from casework.service import careplans
from casework.service import groups as group_service
from casework.views import bp
from casework.views.common import change_and_return, conflict_page, flash_errors, form_messages, place_errors, save_form
from casework.views.recovery import case_url


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
        return redirect(case_url(case))
    group = load_visible("community_group", form.group_id.data, current_user, audit=False)
    return change_and_return(case_url(case), lambda: group_service.enrol(current_user, group, case),
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
        return conflict_page(error, case_url(case))
    if not ConfirmForm().validate_on_submit():
        return redirect(case_url(case))
    group = load_visible("community_group", membership.group.id, current_user, audit=False)
    return change_and_return(case_url(case), lambda: group_service.leave(current_user, group, membership.member.id,
                                                                           case),
                              _("The client left %(group)s.", group=group.name))
