"""Supervision forms (WTForms). Rules live in the services; forms carry the fields and the CSRF token."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length, Optional, Regexp

from carecycle.forms import MultiCheckboxField


class DecisionForm(FlaskForm):
    comment = TextAreaField(_l("Comment"), validators=[Length(max=2000)],
                            description=_l("Required when you do not approve or send back; kept with the decision."))


class ReassignForm(FlaskForm):
    to_worker = SelectField(_l("Move to"), choices=[], validate_choice=False)  # checked by the service
    reason = TextAreaField(_l("Reason"), validators=[Length(max=1000)],
                           description=_l("At least 10 characters, for example: on leave from Monday; caseload "
                                          "too high. Shown on each case's timeline."))
    everything = BooleanField(_l("Move all open cases of this worker (up to 200 at a time)"))


class ModeSwitchForm(FlaskForm):
    mode = HiddenField()
    reason = TextAreaField(_l("Reason"), validators=[Length(max=300)],
                           description=_l("Shown in the banner on every staff page while emergency mode is on."))
    what_happened = TextAreaField(_l("What happened"), validators=[Length(max=8000)])
    what_worked = TextAreaField(_l("What worked"), validators=[Length(max=8000)])
    what_to_change = TextAreaField(_l("What to change"), validators=[Length(max=8000)])


class DrillActionForm(Form):
    description = StringField(_l("What must change"), validators=[Length(max=1000)])
    owner_id = SelectField(_l("Owner"), choices=[], validate_choice=False)  # checked by the service
    due_on = DateField(_l("Due on"), validators=[Optional()])


class DrillForm(FlaskForm):
    scenario = StringField(_l("Scenario"), validators=[Length(max=300)],
                           description=_l("For example: typhoon night, shelter opened at the community hall."))
    held_on = DateField(_l("Date of the drill"), validators=[Optional()])
    volunteer_team_ids = MultiCheckboxField(_l("Volunteer teams that took part"), choices=[])
    organisation_ids = MultiCheckboxField(_l("Partner organisations that took part"), choices=[])
    schools = TextAreaField(_l("Schools"), description=_l("One per line."))
    businesses = TextAreaField(_l("Businesses"), description=_l("One per line."))
    others = TextAreaField(_l("Others who took part"), description=_l("One per line."))
    went_well = TextAreaField(_l("What went well"), validators=[Length(max=8000)])
    notes = TextAreaField(_l("Other notes"), validators=[Length(max=8000)])
    actions = FieldList(FormField(DrillActionForm), min_entries=5, max_entries=20)


class NotificationSettingsForm(FlaskForm):
    email = StringField(_l("E-mail address"), validators=[
        Optional(), Length(max=200), Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("Enter an e-mail address."))])
    email_enabled = BooleanField(_l("Also tell me by e-mail (the message holds only a link)"))


class RecoveryPlanForm(FlaskForm):
    """A community recovery plan: the incident is an emergency period, or one the supervisor records."""
    title = StringField(_l("Title"), description=_l("For example: Recovery after the Riverside rainstorm"))
    area = StringField(_l("The community it is for"),
                       description=_l("For example: Riverside, Blocks 1 to 6 and the day centre"))
    period_id = SelectField(_l("The emergency"), choices=[], validate_choice=False,
                            description=_l("An emergency period that has ended, or none to record the incident "
                                           "below."))
    incident = StringField(_l("What happened"), description=_l("Only when no emergency period is chosen."))
    started_on = StringField(_l("It began on"), render_kw={"type": "date"})
    ended_on = StringField(_l("It ended on"), render_kw={"type": "date"})


class RecoveryActionForm(FlaskForm):
    description = StringField(_l("What will be done"),
                              description=_l("For example: outreach to every red- and orange-tier person in the area"))
    owner_id = SelectField(_l("Owner"), choices=[], validate_choice=False)
    due_on = StringField(_l("Due on"), render_kw={"type": "date"})


class RecoveryGroupForm(FlaskForm):
    group_id = SelectField(_l("Community group"), choices=[], validate_choice=False)


class RecoveryReviewForm(FlaskForm):
    months = HiddenField()
    summary = TextAreaField(_l("How the community is doing"),
                            description=_l("What the figures and the people you met tell you; no names."))
