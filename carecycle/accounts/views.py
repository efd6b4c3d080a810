"""Sign-in, sign-out, password change, and the admin pages for users and teams."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from carecycle.accounts import separation, service
from carecycle.accounts.forms import (
    ChangePasswordForm,
    LoginForm,
    PasswordResetForm,
    TeamForm,
    UserCreateForm,
    UserEditForm,
)
from carecycle.accounts.models import Team, User
from carecycle.audit import record_event
from carecycle.extensions import db
from carecycle.lifecycle import load_visible
from carecycle.pages import save_form
from carecycle.permissions import PUBLIC, Permission, requires
from carecycle.urls import page_arg, safe_next

auth = Blueprint("auth", __name__)
admin = Blueprint("admin", __name__, url_prefix="/admin")


def _status() -> int:
    """A form page shown again after a POST shows refused input: 400."""
    return 400 if request.method == "POST" else 200


@auth.route("/login", methods=["GET", "POST"])
@requires(PUBLIC)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("web.home"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = service.authenticate(form.username.data, form.password.data, request.remote_addr)
        except service.SignInRefused as refused:
            if refused.rate_limited:
                flash(_("Too many sign-in attempts from this address. Wait a few minutes and try again."), "error")
                return render_template("auth/login.html", form=form), 429
            flash(_("The username or password is not correct, or sign-in from this address is paused "
                    "after repeated failures (5 failed attempts pause it for 15 minutes)."), "error")
            return render_template("auth/login.html", form=form), 401
        target = safe_next(request.args.get("next"))
        service.sign_in(user)
        if user.must_change_password:
            flash(_("Choose a new password before you go on."), "info")
            return redirect(url_for("auth.change_password"))
        return redirect(target or url_for("web.home"))
    return render_template("auth/login.html", form=form), _status()


@auth.route("/logout", methods=["POST"])
@requires(PUBLIC)
def logout():
    if current_user.is_authenticated:
        record_event("logout", "user", current_user.id)
        service.end_session(session.get("sid"))
        logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@auth.route("/account/password", methods=["GET", "POST"])
@requires(Permission.SIGNED_IN)
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        def change():
            service.change_password(current_user, form.current_password.data, form.new_password.data)
            session["sid"] = service.start_session(current_user)

        saved = save_form(form, url_for("web.home"), change,
                          _("Your password is changed. Every other session of yours has ended."))
        if saved:
            return saved
    return render_template("auth/change_password.html", form=form), _status()


# ------------------------------------------------------------------ admin: users
def _team_choices(include_none=True):
    teams = db.session.scalars(select(Team).order_by(Team.name)).all()
    return ([("", _("No team"))] if include_none else []) + [(str(t.id), t.name) for t in teams]


def _team_from(form_value: str) -> Team | None:
    return load_visible("team", form_value, current_user) if form_value else None


@admin.route("/users")
@requires(Permission.ACCOUNTS_MANAGE)
def users():
    query = (request.args.get("q") or "").strip().lower()
    stmt = select(User).options(selectinload(User.team)).order_by(User.username)
    if query:
        stmt = stmt.where(User.username.contains(query, autoescape=True))
    pagination = db.paginate(stmt, page=page_arg(), per_page=50, error_out=False)
    return render_template("admin/users.html", pagination=pagination, q=query)


@admin.route("/users/new", methods=["GET", "POST"])
@requires(Permission.ACCOUNTS_MANAGE)
def user_new():
    form = UserCreateForm()
    form.team_id.choices = _team_choices()
    if form.validate_on_submit():
        created: list[User] = []

        def create():
            created.append(service.create_user(form.username.data, form.password.data, form.role.data,
                                               _team_from(form.team_id.data), form.display_name.data,
                                               must_change_password=True, requested_by=current_user))
            return created[0]

        saved = save_form(form, url_for("admin.users"), create, _created)
        if saved:
            _flash_held(created[0])
            return saved
    return render_template("admin/user_new.html", form=form), _status()


def _pending_text(user: User) -> str | None:
    if not user.access_pending:
        return None
    return _("Case access of %(name)s waits for a supervisor of %(team)s to confirm the change; the team's "
             "supervisors and the account's owner were notified.", name=user.username,
             team=separation.team_label(separation.pending_change(user)))


def _flash_held(user: User) -> None:
    text = _pending_text(user)
    if text:
        flash(text, "info")


def _created(user: User) -> str:
    return _("Account %(name)s created. Give the temporary password to the user in person.", name=user.username)


@admin.route("/users/<user_id>", methods=["GET", "POST"])
@requires(Permission.ACCOUNTS_MANAGE)
def user_edit(user_id):
    user = load_visible("user", user_id, current_user)
    form = UserEditForm(obj=user if request.method == "GET" else None)
    form.team_id.choices = _team_choices()
    if request.method == "GET":
        form.team_id.data = str(user.team_id) if user.team_id else ""
        form.role.data = str(user.role)
    if form.validate_on_submit():
        def update():
            service.update_user(user, role=form.role.data, team=_team_from(form.team_id.data),
                                display_name=form.display_name.data, active=form.active.data, by=current_user)

        saved = save_form(form, url_for("admin.users"), update, _("Account %(name)s saved.", name=user.username))
        if saved:
            _flash_held(user)
            return saved
    return (render_template("admin/user_edit.html", form=form, user=user, reset=PasswordResetForm(),
                            pending_text=_pending_text(user)), _status())


@admin.route("/users/<user_id>/password", methods=["POST"])
@requires(Permission.ACCOUNTS_MANAGE)
def user_reset_password(user_id):
    user = load_visible("user", user_id, current_user)
    reset = PasswordResetForm()
    if reset.validate_on_submit():
        def reset_it():
            service.reset_password(user, reset.password.data, by=current_user)

        saved = save_form(reset, url_for("admin.user_edit", user_id=user.id), reset_it,
                          _("Password of %(name)s reset. They must change it at next sign-in.", name=user.username))
        if saved:
            _flash_held(user)
            return saved
    form = UserEditForm(obj=user)
    form.team_id.choices = _team_choices()
    form.team_id.data = str(user.team_id) if user.team_id else ""
    return render_template("admin/user_edit.html", form=form, user=user, reset=reset,
                           pending_text=_pending_text(user)), 400


# ------------------------------------------------------------------ admin: teams
@admin.route("/teams", methods=["GET", "POST"])
@requires(Permission.ACCOUNTS_MANAGE)
def teams():
    form = TeamForm()
    if form.validate_on_submit():
        saved = save_form(form, url_for("admin.teams"), lambda: service.create_team(form.name.data),
                          _("Team created."))
        if saved:
            return saved
    rows = db.session.execute(select(Team, func.count(User.id)).outerjoin(Team.members)
                              .group_by(Team.id).order_by(Team.name)).all()
    return render_template("admin/teams.html", form=form, teams=rows), _status()


@admin.route("/teams/<team_id>", methods=["GET", "POST"])
@requires(Permission.ACCOUNTS_MANAGE)
def team_edit(team_id):
    team = load_visible("team", team_id, current_user)
    form = TeamForm(obj=team if request.method == "GET" else None)
    if form.validate_on_submit():
        saved = save_form(form, url_for("admin.teams"), lambda: service.rename_team(team, form.name.data),
                          _("Team saved."))
        if saved:
            return saved
    return render_template("admin/team_edit.html", form=form, team=team), _status()
