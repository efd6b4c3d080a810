"""Forms of the recovery pages: care plan, reviews, screenings, groups, follow-ups.

Questionnaire items (radio groups named `item-<n>`) and per-goal or per-member choices are read from
the request by the views, because their number depends on the instrument, the plan or the group."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from casework.models.recovery import FollowUpStatus, GoalDomain, GoalOwner, GoalStatus, GroupKind


class GoalForm(FlaskForm):
    version = HiddenField()
    domain = SelectField(_l("Domain"), choices=GoalDomain.choices)
    title = StringField(_l("Goal"), validators=[InputRequired(), Length(max=200)],
                        description=_l("In the client's words where possible, e.g. \"Move to a flat with no stairs\"."))
    success = TextAreaField(_l("What success looks like"), validators=[Optional(), Length(max=1000)],
                            description=_l("How you and the client will know the goal is reached."))
    target_date = StringField(_l("Target date"), validators=[Optional()],
                              render_kw={"type": "date"})
    status = SelectField(_l("Status"), choices=GoalStatus.choices, default=GoalStatus.NOT_STARTED.value)
    drop_reason = TextAreaField(_l("Why it is dropped"), validators=[Optional(), Length(max=500)],
                                description=_l("Needed when the status is dropped."))
    owner = SelectField(_l("Who owns it"), choices=GoalOwner.choices, default=GoalOwner.WORKER.value)
    owner_detail = StringField(_l("Partner organisation or person"), validators=[Optional(), Length(max=200)],
                               description=_l("Needed when a partner organisation owns the goal."))


class ClientNoteForm(FlaskForm):
    version = HiddenField()
    client_note = TextAreaField(_l("A note for the client"), validators=[Optional(), Length(max=2000)],
                                description=_l("Plain words the client reads on their plan: no clinical detail."))


class ReviewForm(FlaskForm):
    version = HiddenField()
    reviewed_on = StringField(_l("Date of the review"), validators=[InputRequired()],
                              render_kw={"type": "date"})
    summary = TextAreaField(_l("Summary"), validators=[InputRequired(), Length(max=4000)],
                            description=_l("What was discussed and agreed. Everyone working on the case reads it: "
                                           "keep clinical detail in clinical notes."))
    next_review_on = StringField(_l("Next review"), validators=[Optional()],
                                 description=_l("A review task is set for that day."),
                                 render_kw={"type": "date"})


class NextReviewForm(FlaskForm):
    next_review_on = StringField(_l("Next review"), validators=[InputRequired()],
                                 render_kw={"type": "date"})


class RescreenScheduleForm(FlaskForm):
    instrument = SelectField(_l("Questionnaire"), choices=[])
    weeks = IntegerField(_l("Every (weeks)"), default=4, validators=[InputRequired(), NumberRange(1, 26)])


class ScreeningMetaForm(FlaskForm):
    taken_on = StringField(_l("Date taken"), validators=[Optional()],
                           description=_l("Leave empty for today."), render_kw={"type": "date"})


class GroupForm(FlaskForm):
    version = HiddenField()
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=120)])
    kind = SelectField(_l("Kind of group"), choices=GroupKind.choices)
    facilitator = StringField(_l("Facilitator"), validators=[InputRequired(), Length(max=120)])
    schedule = StringField(_l("Schedule"), validators=[InputRequired(), Length(max=200)],
                           description=_l("e.g. \"Tuesdays 18:00-19:30, fortnightly\""))
    location = StringField(_l("Where"), validators=[Optional(), Length(max=200)])
    description = TextAreaField(_l("About the group"), validators=[Optional(), Length(max=2000)])


class SessionForm(FlaskForm):
    day = StringField(_l("Date"), validators=[InputRequired()],
                      render_kw={"type": "date"})
    at = StringField(_l("Time"), validators=[Optional()], render_kw={"type": "time"})
    duration_minutes = IntegerField(_l("Length (minutes)"), default=90, validators=[Optional()])
    topic = StringField(_l("Topic"), validators=[Optional(), Length(max=200)])
    facilitator = StringField(_l("Facilitator, if not the usual one"), validators=[Optional(), Length(max=120)])


class EnrolForm(FlaskForm):
    group_id = SelectField(_l("Group"), choices=[])


class FollowUpForm(FlaskForm):
    status = SelectField(_l("How is the person doing?"), choices=FollowUpStatus.choices)
    crisis = BooleanField(_l("There is a crisis or a risk to safety now"))
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=4000)])
