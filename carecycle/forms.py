"""Forms shared across the shell."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import InputRequired, Length


class ConfirmForm(FlaskForm):
    """A form with no fields: a button whose POST carries the CSRF token."""


class BreakGlassForm(FlaskForm):
    reason = TextAreaField(
        _l("Why do you need to open this record?"),
        validators=[InputRequired(), Length(max=2000)],
        description=_l("At least 20 characters. Your reason is recorded and shown to the team's supervisor."))
