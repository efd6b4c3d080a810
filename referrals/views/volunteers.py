"""Volunteer emergency teams: readiness for all staff, editing for supervisors and admins, and in
emergency operating mode a mobilisation list per team."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from carecycle.accounts.models import Team
from carecycle.audit import record_event
from carecycle.extensions import db
from carecycle.lifecycle import keep_refusal, load_visible, undone_on_error
from carecycle.localtime import today as local_today
from carecycle.mode import current_mode
from carecycle.permissions import Permission, requires
from carecycle.validation import Conflict, Invalid
from referrals.forms import (
    CertificateForm,
    EndMobilisationForm,
    MobiliseForm,
    TrainingForm,
    VolunteerForm,
    VolunteerTeamForm,
)
from referrals.service import volunteers as service
from referrals.views import bp, conflict_page, place_errors


@bp.route("/volunteers")
@requires(Permission.VOLUNTEERS_VIEW)
def volunteer_teams():
    all_trainings = service.trainings()
    rows = [service.readiness(team, all_trainings=all_trainings) for team in service.teams()]
    for row in rows:
        record_event("view", "volunteer_team", row.team.id, reason="readiness")
    return render_template("referrals/volunteers/teams.html", rows=rows, emergency=current_mode().emergency,
                           trainings=all_trainings, warning_days=service.EXPIRY_WARNING.days)


@bp.route("/volunteers/teams/<team_id>")
@requires(Permission.VOLUNTEERS_VIEW)
def volunteer_team(team_id):
    team = load_visible("volunteer_team", team_id, current_user)
    row = service.readiness(team)
    record_event("view", "volunteer_team", team.id, reason="readiness")
    return render_template("referrals/volunteers/team.html", row=row, team=team, today=local_today(),
                           emergency=current_mode().emergency, warning_days=service.EXPIRY_WARNING.days,
                           contacts=service.may_see_contacts(current_user, team))


@bp.route("/volunteers/teams/<team_id>/mobilisation")
@requires(Permission.VOLUNTEERS_VIEW)
def volunteer_mobilisation(team_id):
    return _mobilisation_page(load_visible("volunteer_team", team_id, current_user), MobiliseForm())


def _mobilisation_page(team, form, status=200):
    listing = service.mobilisation(current_user, team)
    form.team_id.choices = [("", _("Choose a team"))] + [
        (str(t.id), t.name) for t in db.session.scalars(select(Team).order_by(Team.name))
        if t.id != team.team_id and listing and all(m.team_id != t.id for m in listing.mobilisations)]
    if status >= 400:
        keep_refusal()  # the contact list shown again stays audited (the refused change was undone)
    return render_template("referrals/volunteers/mobilisation.html", team=team, listing=listing, form=form,
                           end_form=EndMobilisationForm()), status


@bp.route("/volunteers/teams/<team_id>/mobilisation/teams", methods=["POST"])
@requires(Permission.VOLUNTEERS_MANAGE)
def volunteer_mobilise(team_id):
    team = load_visible("volunteer_team", team_id, current_user)
    form = MobiliseForm()
    if form.validate_on_submit():
        try:
            with undone_on_error():
                row = service.mobilise(current_user, team, form.team_id.data)
        except Invalid as error:
            for message in error.fields.values():  # a flash: the page may show no form (normal operation)
                flash(str(message), "error")
        else:
            name = row.team.name
            flash(_("The volunteer team is mobilised for %(team)s: its supervisors now see this list with the "
                    "contact details.", team=name), "success")
            return redirect(url_for("referrals.volunteer_mobilisation", team_id=team.id))
    return _mobilisation_page(team, form, 400)


@bp.route("/volunteers/teams/<team_id>/mobilisation/end", methods=["POST"])
@requires(Permission.VOLUNTEERS_MANAGE)
def volunteer_mobilisation_end(team_id):
    team = load_visible("volunteer_team", team_id, current_user)
    form = EndMobilisationForm()
    if form.validate_on_submit():
        try:
            with undone_on_error():
                service.end_mobilisation(current_user, team, form.mobilisation.data)
        except Invalid as error:
            flash(str(next(iter(error.fields.values()))), "error")
        else:
            flash(_("Mobilisation ended."), "success")
            return redirect(url_for("referrals.volunteer_mobilisation", team_id=team.id))
    return _mobilisation_page(team, MobiliseForm(), 400)


def _staff_teams():
    return [("", _("None"))] + [(str(t.id), t.name) for t in db.session.scalars(select(Team).order_by(Team.name))]


@bp.route("/volunteers/teams/new", methods=["GET", "POST"])
@requires(Permission.VOLUNTEERS_MANAGE)
def volunteer_team_new():
    return _team_form(None)


@bp.route("/volunteers/teams/<team_id>/edit", methods=["GET", "POST"])
@requires(Permission.VOLUNTEERS_MANAGE)
def volunteer_team_edit(team_id):
    return _team_form(load_visible("volunteer_team", team_id, current_user))


def _team_form(team):
    form = VolunteerTeamForm(obj=team if request.method == "GET" else None)
    form.team_id.choices = _staff_teams()
    if request.method == "GET" and team is not None:
        form.team_id.data = str(team.team_id) if team.team_id else ""
        form.version.data = team.version
    if form.validate_on_submit():
        data = {name: form[name].data for name in ("name", "kind", "team_id", "meeting_point", "description")}
        try:
            with undone_on_error():
                saved = service.save_team(current_user, data, team, form.version.data if team else None)
        except Invalid as error:
            place_errors(form, error)
        except Conflict as error:
            return conflict_page(error, url_for("referrals.volunteer_team", team_id=team.id))
        else:
            flash(_("Team saved."), "success")
            return redirect(url_for("referrals.volunteer_team", team_id=saved.id))
    return render_template("referrals/volunteers/team_form.html", form=form, team=team), 400 if form.errors else 200


@bp.route("/volunteers/teams/<team_id>/members/new", methods=["GET", "POST"])
@requires(Permission.VOLUNTEERS_MANAGE)
def volunteer_new(team_id):
    team = load_visible("volunteer_team", team_id, current_user)
    form = VolunteerForm()
    if request.method == "GET":
        form.joined_on.data = local_today().isoformat()
    if form.validate_on_submit():
        try:
            with undone_on_error():
                member = service.save_member(current_user, team, _member_data(form))
        except Invalid as error:
            place_errors(form, error)
        else:
            flash(_("Volunteer added. Record their certificates below."), "success")
            return redirect(url_for("referrals.volunteer_detail", member_id=member.id))
    return render_template("referrals/volunteers/member_form.html", form=form, team=team, member=None), \
        400 if form.errors else 200


def _member_with_contacts(member_id, *, audit: bool):
    """The volunteer's page shows their contact details: only for the team that holds their team (403,
    audited, for anyone else)."""
    member = load_visible("volunteer", member_id, current_user, audit=False)
    service.check_contacts(current_user, member)
    return load_visible("volunteer", member_id, current_user, audit=audit)


def _member_data(form: VolunteerForm) -> dict:
    return {name: form[name].data for name in ("full_name", "phone", "email", "role", "skills", "joined_on", "active")}


@bp.route("/volunteers/members/<member_id>", methods=["GET", "POST"])
@requires(Permission.VOLUNTEERS_MANAGE)
def volunteer_detail(member_id):
    member = _member_with_contacts(member_id, audit=request.method == "GET")
    form = VolunteerForm(obj=member if request.method == "GET" else None)
    if request.method == "GET":
        form.version.data = member.version
        form.joined_on.data = member.joined_on.isoformat() if member.joined_on else ""
    if form.validate_on_submit():
        try:
            with undone_on_error():
                service.save_member(current_user, member.volunteer_team, _member_data(form), member, form.version.data)
        except Invalid as error:
            member = load_visible("volunteer", member_id, current_user, audit=False)
            place_errors(form, error)
        except Conflict as error:
            return conflict_page(error, url_for("referrals.volunteer_detail", member_id=member_id))
        else:
            flash(_("Volunteer saved."), "success")
            return redirect(url_for("referrals.volunteer_detail", member_id=member.id))
    cert_form = CertificateForm()
    cert_form.training_id.choices = [(str(t.id), t.name) for t in service.trainings()]
    return render_template("referrals/volunteers/member.html", form=form, member=member, cert_form=cert_form,
                           today=local_today()), 400 if form.errors else 200


@bp.route("/volunteers/members/<member_id>/certificates", methods=["POST"])
@requires(Permission.VOLUNTEERS_MANAGE)
def volunteer_certificate(member_id):
    member = _member_with_contacts(member_id, audit=False)
    cert_form = CertificateForm()
    cert_form.training_id.choices = [(str(t.id), t.name) for t in service.trainings()]
    if cert_form.validate_on_submit():
        data = {name: cert_form[name].data for name in ("training_id", "issued_on", "expires_on", "reference")}
        try:
            with undone_on_error():
                service.add_certificate(current_user, member, data)
        except Invalid as error:
            member = load_visible("volunteer", member_id, current_user, audit=False)
            place_errors(cert_form, error)
        else:
            flash(_("Certificate recorded."), "success")
            return redirect(url_for("referrals.volunteer_detail", member_id=member.id))
    form = VolunteerForm(obj=member)
    form.version.data = member.version
    form.joined_on.data = member.joined_on.isoformat() if member.joined_on else ""
    return render_template("referrals/volunteers/member.html", form=form, member=member, cert_form=cert_form,
                           today=local_today()), 400


def _training_data(form: TrainingForm) -> dict:
    return {name: form[name].data for name in ("name", "description", "validity_months", "required_for")}


@bp.route("/volunteers/trainings", methods=["GET", "POST"])
@requires(Permission.VOLUNTEERS_MANAGE)
def volunteer_trainings():
    form = TrainingForm()
    if form.validate_on_submit():
        try:
            with undone_on_error():
                service.save_training(current_user, _training_data(form))
        except Invalid as error:
            place_errors(form, error)
        else:
            flash(_("Training added."), "success")
            return redirect(url_for("referrals.volunteer_trainings"))
    return render_template("referrals/volunteers/trainings.html", form=form, trainings=service.trainings()), \
        400 if form.errors else 200


@bp.route("/volunteers/trainings/<training_id>", methods=["GET", "POST"])
@requires(Permission.VOLUNTEERS_MANAGE)
def volunteer_training_edit(training_id):
    training = load_visible("training", training_id, current_user)
    form = TrainingForm(obj=training if request.method == "GET" else None)
    if request.method == "GET":
        form.required_for.data = training.required_kinds
        form.validity_months.data = str(training.validity_months)
    if form.validate_on_submit():
        try:
            with undone_on_error():
                service.save_training(current_user, _training_data(form), training)
        except Invalid as error:
            place_errors(form, error)
        else:
            flash(_("Training saved."), "success")
            return redirect(url_for("referrals.volunteer_trainings"))
    return render_template("referrals/volunteers/training_form.html", form=form, training=training), \
        400 if form.errors else 200
