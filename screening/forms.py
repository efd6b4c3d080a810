"""Forms of the screening pages. The rules live in the service; these parse and show errors."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import EqualTo, InputRequired, Length, NumberRange, Optional

from carecycle.forms import MultiCheckboxField
from screening.models import AUDIENCES, PREFERRED_TIMES, TOPICS


def choices(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in dict(pairs).items()]


LANGUAGE_CHOICES = choices({"en": "English", "zh_Hant": "繁體中文", "zh_Hans": "简体中文"})


class ContactForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[Length(max=120)],
                       description=_l("What should the counsellor call you? A first name is enough."),
                       render_kw={"autocomplete": "given-name"})
    phone = StringField(_l("Phone number"), validators=[Length(max=40)],
                        render_kw={"autocomplete": "tel", "type": "tel", "inputmode": "tel"})
    preferred_time = RadioField(_l("When should we call?"), choices=choices(PREFERRED_TIMES), default="asap",
                                validate_choice=False)
    consent = BooleanField(_l("I agree that the service stores my name and phone number, encrypted, and that a "
                              "counsellor calls me about this request and sees this screening result."))


class RegisterForm(FlaskForm):
    username = StringField(_l("Username"), validators=[InputRequired(), Length(max=64)],
                           description=_l("3 to 64 letters, digits, dots, dashes or underscores. It does not have "
                                          "to be your real name."),
                           render_kw={"autocomplete": "username"})
    password = PasswordField(_l("Password"), validators=[InputRequired(), Length(max=1024)],
                             description=_l("At least 12 characters. A long phrase is easy to remember."),
                             render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("Repeat the password"),
                            validators=[InputRequired(), EqualTo("password", _l("The two passwords differ."))],
                            render_kw={"autocomplete": "new-password"})
    phone = StringField(_l("Phone number (optional)"), validators=[Optional(), Length(max=40)],
                        description=_l("Only if you would like the service to be able to call you back."),
                        render_kw={"autocomplete": "tel", "type": "tel"})
    keep_results = BooleanField(_l("Keep the screenings I took just now in my history"), default=True)


class CrisisResourceForm(FlaskForm):
    language = SelectField(_l("Language"), choices=LANGUAGE_CHOICES)
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=120)])
    phone = StringField(_l("Phone"), validators=[InputRequired(), Length(max=40)])
    hours = StringField(_l("Hours"), validators=[InputRequired(), Length(max=120)],
                        description=_l("For example: 24 hours, every day"))
    description = StringField(_l("Short description (optional)"), validators=[Optional(), Length(max=300)])
    position = IntegerField(_l("Order"), default=0, validators=[Optional(), NumberRange(0, 999)],
                            description=_l("Lower numbers are shown first."))
    is_example = BooleanField(_l("This is an example, not a real service (the page says so)"))


class ArticleForm(FlaskForm):
    title = StringField(_l("Title"), validators=[InputRequired(), Length(max=200)])
    summary = TextAreaField(_l("Summary"), validators=[InputRequired(), Length(max=500)],
                            description=_l("One or two sentences shown in the list and in search."))
    body = TextAreaField(_l("Text"), validators=[InputRequired(), Length(max=20000)],
                         description=_l("Markdown: ## for headings, - for lists, **bold**, [link](https://...). "
                                        "HTML is not allowed."), render_kw={"rows": 16})
    sources = TextAreaField(_l("Sources"), validators=[Optional(), Length(max=4000)],
                            description=_l("One source a line: who published it, title, year."))
    language = SelectField(_l("Language"), choices=LANGUAGE_CHOICES)
    audience = SelectField(_l("Audience"), choices=choices(AUDIENCES))
    topics = MultiCheckboxField(_l("Topics"), choices=choices(TOPICS), validate_choice=False)
    tags = StringField(_l("Show with screening results"), validators=[Optional(), Length(max=500)],
                       description=_l("Instrument and band codes, for example: phq9:moderate, phq9:severe, gad7 "
                                      "(all bands)."))
    version = HiddenField()


class TransitionForm(FlaskForm):
    note = TextAreaField(_l("Note to the author"), validators=[Optional(), Length(max=2000)],
                         description=_l("Needed when you send an article back for changes."))
    version = HiddenField()


class TranslationUploadForm(FlaskForm):
    file = FileField(_l("Translation pack (JSON file)"),
                     description=_l("One file per questionnaire and language, such as phq9.zh_Hans.json, written "
                                    "from the publisher's official translation."))


class TranslationApproveForm(FlaskForm):
    sha256 = HiddenField()


class TranslationWithdrawForm(FlaskForm):
    reason = TextAreaField(_l("Why is it withdrawn?"), validators=[Length(max=300)])
