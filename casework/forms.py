"""Casework forms."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from carecycle.forms import MultiCheckboxField
from casework.enums import (
    LANGUAGE_LABELS,
    SEX_LABELS,
    ClosureReason,
    ConsentScope,
    GroupPlanKind,
    OutreachOutcome,
    Priority,
    RegisterFlag,
    RiskLevel,
    Source,
    Tier,
)
from casework.models.assessments import PROTECTIVE_FACTORS, RISK_FACTORS
from casework.models.notes import ContactMode
from casework.models.safety import SECTIONS


def SEX_CHOICES():
    return [("", _l("Not recorded"))] + list(SEX_LABELS.items())


def LANGUAGE_CHOICES():
    return [("", _l("Not recorded"))] + list(LANGUAGE_LABELS.items())


class ClientForm(FlaskForm):
    full_name = StringField(_l("Full name"), validators=[Length(max=200)])
    preferred_name = StringField(_l("Preferred name"), validators=[Optional(), Length(max=100)])
    date_of_birth = StringField(_l("Date of birth"), validators=[Optional()], render_kw={"type": "date"})
    sex = SelectField(_l("Sex"), choices=SEX_CHOICES, validators=[Optional()])
    gender = StringField(_l("Gender"), validators=[Optional(), Length(max=60)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)], render_kw={"type": "tel"})
    address = TextAreaField(_l("Address"), validators=[Optional(), Length(max=400)])
    id_number = StringField(_l("ID number"), validators=[Optional(), Length(max=40)],
                            description=_l("Optional. Only when the client agrees to give it."))
    preferred_language = SelectField(_l("Preferred language"), choices=LANGUAGE_CHOICES, validators=[Optional()])
    household = TextAreaField(_l("Household"), validators=[Optional(), Length(max=2000)],
                              description=_l("Who lives with the client; dependants; carers."))
    emergency_contact = TextAreaField(_l("Emergency contact"), validators=[Optional(), Length(max=400)])


class NewClientForm(ClientForm):
    confirm_different = BooleanField(_l("I checked: this is a different person from the record(s) above"))


class EditClientForm(ClientForm):
    version = HiddenField()


class SearchForm(FlaskForm):
    class Meta:
        csrf = False

    phone = StringField(_l("Phone"), validators=[Optional()])
    id_number = StringField(_l("ID number"), validators=[Optional()])
    name = StringField(_l("Full name"), validators=[Optional()], description=_l("Exact full name."))


class ConsentForm(FlaskForm):
    scope = SelectField(_l("Consent"), choices=ConsentScope.choices)


class OpenCaseForm(FlaskForm):
    risk_level = SelectField(_l("Risk level"), choices=RiskLevel.choices, default=RiskLevel.LOW.value)
    source = SelectField(_l("Source"), choices=Source.choices, default=Source.WALK_IN.value)
    priority = SelectField(_l("Priority"), choices=Priority.choices, default=Priority.NORMAL.value)


class CaseEditForm(FlaskForm):
    version = HiddenField()
    risk_level = SelectField(_l("Risk level"), choices=RiskLevel.choices)
    priority = SelectField(_l("Priority"), choices=Priority.choices)
    assigned_counsellor = SelectField(_l("Counsellor"), choices=[])
    assigned_social_worker = SelectField(_l("Social worker"), choices=[])


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[InputRequired(), Length(max=2000)])


class PhaseMoveForm(FlaskForm):
    version = HiddenField()


class CloseCaseForm(FlaskForm):
    version = HiddenField()
    summary = TextAreaField(_l("Closure summary"), validators=[Length(max=4000)],
                            description=_l("What happened, where things stand, what the client takes with them."))
    reason = SelectField(_l("Reason for closing"), choices=lambda: [("", _l("Choose…"))] + ClosureReason.choices())


class ReopenForm(FlaskForm):
    version = HiddenField()
    reason = TextAreaField(_l("Why reopen?"), validators=[Length(max=2000)])


class ClosureDecisionForm(FlaskForm):
    comment = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=2000)])


# ------------------------------------------------------------------ triage and tasks
def _recordable_kind_choices():
    from casework.service.triage import RECORDABLE_KINDS
    return [(k.value, k.label) for k in RECORDABLE_KINDS]


def _urgency_choices():
    from carecycle.alerts import Urgency
    return [(u.value, u.label) for u in Urgency]


class RecordAlertForm(FlaskForm):
    kind = SelectField(_l("What happened"), choices=_recordable_kind_choices)
    urgency = SelectField(_l("Urgency"), choices=_urgency_choices,
                          description=_l("Crisis: answer within 2 hours (1 in emergency operation). Contact request: "
                                         "within 2 days (1 in emergency operation)."))
    summary = TextAreaField(_l("Short summary"), validators=[Length(max=1000)],
                            description=_l("Who, what happened, what they need. Stored encrypted; "
                                           "keep it short and factual."))


class CloseAlertForm(FlaskForm):
    reason = TextAreaField(_l("Why close this alert without opening a case?"), validators=[Length(max=2000)],
                           description=_l("Required. For example: reached the person, no risk, referred to "
                                          "their GP; or a duplicate of another alert. Stored encrypted."))


class ConvertAlertForm(FlaskForm):
    client_choice = StringField(default="new")  # rendered as radio buttons by the page
    full_name = StringField(_l("Full name"), validators=[Length(max=200)])
    preferred_name = StringField(_l("Preferred name"), validators=[Optional(), Length(max=100)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)], render_kw={"type": "tel"})
    date_of_birth = StringField(_l("Date of birth"), validators=[Optional()],
                                render_kw={"type": "date"})
    id_number = StringField(_l("ID number"), validators=[Optional(), Length(max=40)],
                            description=_l("Optional. Only when the client agrees to give it."))
    preferred_language = SelectField(_l("Preferred language"), choices=LANGUAGE_CHOICES, validators=[Optional()])
    confirm_different = BooleanField(_l("I checked: this is a different person from the record(s) above"))
    risk_level = SelectField(_l("Risk level"), choices=RiskLevel.choices, default=RiskLevel.HIGH.value)
    priority = SelectField(_l("Priority"), choices=Priority.choices, default=Priority.HIGH.value)


class NextContactForm(FlaskForm):
    due_date = StringField(_l("Next contact on"), render_kw={"type": "date"})
    due_time = StringField(_l("At"), render_kw={"type": "time"}, description=_l("09:00 if left empty."))
    note = StringField(_l("Reminder note"), validators=[Optional(), Length(max=500)],
                       description=_l("Optional, stored encrypted. For example: call after the GP appointment."))


# Vulnerable-person register --------------------------------------------------------------------

class RegisterEntryForm(FlaskForm):
    """Tier and reasons; the service validates them (choices are not checked twice)."""
    version = HiddenField()
    tier = RadioField(_l("Tier"), choices=Tier.choices, validate_choice=False)
    flags = MultiCheckboxField(_l("Why is this person on the register?"), choices=RegisterFlag.choices,
                               validate_choice=False)
    flag_other = StringField(_l("Other reason"), validators=[Optional(), Length(max=200)],
                             description=_l("Required with “Other reason”. Stored encrypted."))
    note = TextAreaField(_l("Note on this change"), validators=[Optional(), Length(max=2000)],
                         description=_l("Optional: why you are adding the person or changing the tier. "
                                        "Stored encrypted."))


class RegisterFilterForm(FlaskForm):
    class Meta:
        csrf = False

    tier = SelectField(_l("Tier"), choices=lambda: [("", _l("Any tier"))] + Tier.choices(), validate_choice=False)
    flag = SelectField(_l("Reason"), choices=lambda: [("", _l("Any reason"))] + RegisterFlag.choices(),
                       validate_choice=False)
    overdue = BooleanField(_l("Overdue only"))


class OutreachForm(FlaskForm):
    outcome = SelectField(_l("Outcome"), choices=OutreachOutcome.choices, validate_choice=False)
    note = TextAreaField(_l("Note"))
    concern = BooleanField(_l("Concern"))
    next = HiddenField()


class RemoveEntryForm(FlaskForm):
    version = HiddenField()
    reason = TextAreaField(_l("Why is this person leaving the register?"), validators=[Length(max=500)],
                           description=_l("For example: moved away, now supported by another service, "
                                          "asked to be taken off. Stored encrypted."))


# ------------------------------------------------------------------ notes, risk assessments, safety plans

class NoteForm(FlaskForm):
    version = HiddenField()
    kind = SelectField(_l("Kind of note"), choices=[])
    mode = SelectField(_l("How the contact took place"), choices=ContactMode.choices)
    at = DateTimeLocalField(_l("When"), format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"], validators=[Optional()],
                            description=_l("Leave empty for now."))
    duration_minutes = IntegerField(_l("Duration in minutes"), validators=[Optional()],
                                    description=_l("0 when there was no conversation (e.g. no answer)."))
    body = TextAreaField(_l("Note"), validators=[Length(max=20000)])


class AddendumForm(FlaskForm):
    body = TextAreaField(_l("Addendum"), validators=[Length(max=20000)],
                        description=_l("Signed when you add it. It follows the note; the note itself stays as it was."))


def _yes_no(skippable: bool):
    def choices():
        both = [("yes", _l("Yes")), ("no", _l("No"))]
        return both + [("", _l("Not asked"))] if skippable else both
    return choices


# The C-SSRS screener questions as the counsellor asks them (screen version, past month unless said).
# Item text is never machine-translated: without an official Chinese version bundled, it stays in English.
CSSRS_QUESTIONS = (
    ("1. Wish to be dead: have you wished you were dead or wished you could go to sleep and not wake up?",
     False),
    ("2. Suicidal thoughts: have you actually had any thoughts of killing yourself?", False),
    ("3. Thoughts with a method: have you been thinking about how you might do this?", True),
    ("4. Intent: have you had these thoughts and had some intention of acting on them?", True),
    ("5. Plan with intent: have you started to work out or worked out the details of how to kill yourself? "
        "Do you intend to carry out this plan?", True),
    ("6. Suicidal behaviour, ever: have you ever done anything, started to do anything, or prepared to do "
        "anything to end your life?", False),
    ("7. Was this within the past 3 months?", True),
)


class AssessmentForm(FlaskForm):
    cssrs_1 = RadioField(CSSRS_QUESTIONS[0][0], choices=_yes_no(False), validate_choice=False)
    cssrs_2 = RadioField(CSSRS_QUESTIONS[1][0], choices=_yes_no(False), validate_choice=False)
    cssrs_3 = RadioField(CSSRS_QUESTIONS[2][0], choices=_yes_no(True), validate_choice=False,
                         description=_l("Asked only when question 2 is yes."))
    cssrs_4 = RadioField(CSSRS_QUESTIONS[3][0], choices=_yes_no(True), validate_choice=False,
                         description=_l("Asked only when question 2 is yes."))
    cssrs_5 = RadioField(CSSRS_QUESTIONS[4][0], choices=_yes_no(True), validate_choice=False,
                         description=_l("Asked only when question 2 is yes."))
    cssrs_6 = RadioField(CSSRS_QUESTIONS[5][0], choices=_yes_no(False), validate_choice=False)
    cssrs_7 = RadioField(CSSRS_QUESTIONS[6][0], choices=_yes_no(True), validate_choice=False,
                         description=_l("Asked only when question 6 is yes."))
    risk_factors = MultiCheckboxField(
        _l("Risk factors"), choices=lambda: list(RISK_FACTORS.items()), validate_choice=False
    )
    risk_factors_other = TextAreaField(_l("Other risk factors"), validators=[Length(max=8000)])
    protective_factors = MultiCheckboxField(_l("Protective factors"), choices=lambda: list(PROTECTIVE_FACTORS.items()),
                                            validate_choice=False)
    protective_factors_other = TextAreaField(_l("Other protective factors"), validators=[Length(max=8000)])
    judgement = TextAreaField(_l("Clinical judgement"), validators=[Length(max=8000)],
                              description=_l("What you observed and concluded."))
    risk_level = SelectField(_l("Risk level"),
                             choices=lambda: [("", _l("Choose…"))] + RiskLevel.choices(),
                             description=_l("Your decision. The C-SSRS result is a suggestion only."))
    rationale = TextAreaField(_l("Rationale for this risk level"), validators=[Length(max=8000)])

    CSSRS_FIELDS = tuple(f"cssrs_{n}" for n in range(1, 8))


class AcknowledgeForm(FlaskForm):
    comment = TextAreaField(_l("Comment (optional)"), validators=[Optional(), Length(max=2000)])


class SafetyPlanForm(FlaskForm):
    version = HiddenField()


for _code, _heading, _hint in SECTIONS:
    setattr(SafetyPlanForm, _code, TextAreaField(_heading, description=_hint, validators=[Length(max=4000)]))


class LinkCodeForm(FlaskForm):
    code = StringField(_l("Code from your counsellor"), validators=[Length(max=40)],
                       description=_l("12 letters and digits, e.g. ABCD-EFGH-JKLM."),
                       render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"})


class MedicineRow(Form):
    name = StringField(_l("Medicine or supply"))
    days = StringField(_l("Days held"), render_kw={"type": "number", "min": 0, "step": 1, "inputmode": "numeric"})


class HouseholdPlanForm(FlaskForm):
    """The household emergency plan's draft (the rows of medicines are fixed: leave extra ones empty)."""
    version = HiddenField()
    checker = StringField(_l("Who checks on them in an emergency"),
                          description=_l("For example: Mrs Lee next door (flat 12B), then our duty team"))
    check_every = StringField(_l("How often"), description=_l("For example: twice a day, morning and evening"))
    medicines = FieldList(FormField(MedicineRow), min_entries=4, max_entries=4)
    equipment = TextAreaField(_l("Equipment they depend on"),
                              description=_l("For example: oxygen concentrator (needs power), walking frame"))
    phones_fail = TextAreaField(_l("How to reach them if phones fail"),
                                description=_l("For example: knock at the door; the caretaker has a radio"))
    go_to = TextAreaField(_l("Where they would go"),
                          description=_l("For example: her daughter's flat in Block 4, else the community hall"))
    key_holder = StringField(_l("Who holds a key"), description=_l("For example: the caretaker, and her daughter"))


class SignHouseholdPlanForm(FlaskForm):
    version = HiddenField()


class ProcedureForm(FlaskForm):
    """An operating procedure: where it applies (`step:value`, chosen from grouped options the view
    fills) and its checklist, one step per line."""
    version = HiddenField()
    title = StringField(_l("Title"), description=_l("For example: First contact with a red-tier person living alone"))
    applies = SelectField(_l("Where it applies"), choices=[], validate_choice=False,
                          description=_l("It is shown at that step, and its checklist is marked done there."))
    purpose = TextAreaField(_l("What it is for"), description=_l("Optional: when to use it and what it makes sure of."))
    items = TextAreaField(_l("The checklist"), description=_l("One step per line, in the order they are done."),
                          render_kw={"rows": 10})


class GroupPlanForm(FlaskForm):
    """A group emergency plan (the drill's choices are the team's drills, filled by the view)."""
    version = HiddenField()
    name = StringField(_l("Place or group"), description=_l("For example: Block 4, Lok Wah Estate"))
    kind = SelectField(_l("Kind"), choices=[SelectChoice("", _l("Choose the kind")),
                                            *[SelectChoice(k.value, k.label) for k in GroupPlanKind]],
                       validate_choice=False)
    meeting_point = StringField(_l("Where everyone meets"),
                                description=_l("For example: the ground-floor lobby, else the community hall"))
    leader = StringField(_l("Who leads"), description=_l("By role, for example: the caretaker, then our duty team"))
    checks = TextAreaField(_l("Who checks on whom"),
                           description=_l("One line each, by role or flat, for example: the warden of floor 12 "
                                          "checks flat 12A. The whole team reads it: name no client here."))
    others = StringField(_l("Other people it covers"), render_kw={"type": "number", "min": 0, "inputmode": "numeric"},
                         description=_l("People it covers who are not our clients: counted, never named."))
    last_drill_id = SelectField(_l("Last practised in"), choices=[], validate_choice=False,
                                description=_l("A drill your team ran, where this plan was practised."))


class GroupPlanMemberForm(FlaskForm):
    plan_id = SelectField(_l("Group plan"), choices=[], validate_choice=False)
