"""Sign-in, password and admin forms."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import EqualTo, InputRequired, Length, Optional

from carecycle.roles import ROLE_LABELS


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[InputRequired(), Length(max=64)],
                           render_kw={"autocomplete": "username", "autofocus": True})
    password = PasswordField(_l("Password"), validators=[InputRequired(), Length(max=1024)],
                             render_kw={"autocomplete": "current-password"})


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[InputRequired()],
                                     render_kw={"autocomplete": "current-password"})
    new_password = PasswordField(_l("New password"), validators=[InputRequired()],
                                 description=_l("At least 12 characters. A long phrase is easy to remember."),
                                 render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("Repeat the new password"),
                            validators=[InputRequired(), EqualTo("new_password", _l("The two passwords differ."))],
                            render_kw={"autocomplete": "new-password"})


def _role_choices():
    return [(role.value, label) for role, label in ROLE_LABELS.items()]


class UserCreateForm(FlaskForm):
    username = StringField(_l("Username"), validators=[InputRequired(), Length(max=64)],
                           description=_l("3 to 64 letters, digits, dots, dashes or underscores."))
    display_name = StringField(_l("Display name"), validators=[Optional(), Length(max=120)])
    role = SelectField(_l("Role"), choices=_role_choices)
    team_id = SelectField(_l("Team"), choices=[])
    password = PasswordField(_l("Temporary password"), validators=[InputRequired()],
                             description=_l("The user must change it at first sign-in."),
                             render_kw={"autocomplete": "new-password"})


class UserEditForm(FlaskForm):
    display_name = StringField(_l("Display name"), validators=[Optional(), Length(max=120)])
    role = SelectField(_l("Role"), choices=_role_choices)
    team_id = SelectField(_l("Team"), choices=[])
    active = BooleanField(_l("Account enabled"))


class PasswordResetForm(FlaskForm):
    password = PasswordField(_l("Temporary password"), validators=[InputRequired()],
                             description=_l("Every session of the user ends; they must change it at next sign-in."),
                             render_kw={"autocomplete": "new-password"})


class TeamForm(FlaskForm):
    name = StringField(_l("Team name"), validators=[InputRequired(), Length(max=80)])
