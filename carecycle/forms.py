"""Forms shared across the shell, and how a service's refusal is shown on a form."""
from flask import current_app, flash
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, TextAreaField
from wtforms.validators import InputRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from carecycle.validation import Invalid


class ConfirmForm(FlaskForm):
    """A form with no fields: a button whose POST carries the CSRF token."""


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes (one choice or several), each with its own label."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class BreakGlassForm(FlaskForm):
    reason = TextAreaField(
        _l("Why do you need to open this record?"),
        validators=[InputRequired(), Length(max=2000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        config = current_app.config
        self.reason.description = _(
            "At least %(n)d characters and %(w)d different words. Your reason is recorded and shown to the "
            "team's supervisor.", n=config["BREAK_GLASS_MIN_REASON"], w=config["BREAK_GLASS_MIN_WORDS"])


def chosen_file(field):
    """The file a file field was sent with, or None with "Choose a JSON file." under the field."""
    upload = field.data
    if upload is None or not getattr(upload, "filename", ""):
        field.errors = [_("Choose a JSON file.")]
        return None
    return upload


def place_errors(form, error) -> None:
    """Show a service's refusal (`carecycle.validation.Invalid`, `AccountError`: `fields` maps
    field names to messages, `message` sums up) on the re-shown form: each message under the
    field it names; those for fields this form lacks, or the summary when no field is named,
    as flash messages."""
    for name, message in error.fields.items():
        if name in form:
            form[name].errors = list(form[name].errors) + [message]
        else:
            flash(str(message), "error")
    if not error.fields and error.message:
        flash(str(error.message), "error")


def place_errors_in_rows(form, error) -> None:
    """`place_errors`, also for a message about one part of a field: `phones[1].number` under that
    row's field (of a FieldList), `languages[0].code` under the whole field."""
    rest = {}
    for name, message in error.fields.items():
        head = name.split(".")[0].split("[")[0]
        if name in form or head not in form:
            rest[name] = message
            continue
        field = form[head]
        if not hasattr(field, "entries"):
            field.errors = list(field.errors) + [message]
            continue
        target = _row_field(field, name)
        if target is None:
            rest[name] = message
            continue
        target.errors = list(target.errors) + [message]
        field.errors = [entry.errors for entry in field.entries]  # so that `form.errors` counts the row too
    place_errors(form, Invalid(rest))


def _row_field(field_list, name: str):
    """The field of one row of a list of rows that `name` (`phones[1].number`) points to, or None."""
    index = name.split("[")[1].split("]")[0] if "[" in name else ""
    sub = name.split(".")[-1]
    if index.isdigit() and int(index) < len(field_list.entries):
        row = getattr(field_list.entries[int(index)], "form", None)
        if row is not None and sub in row:
            return row[sub]
    return None
