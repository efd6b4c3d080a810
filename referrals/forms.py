"""Referral forms: the directory, volunteers, referrals, the partner page and the public referral form.

Forms collect; the services validate (their messages are put back on the fields)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, FieldList, Form, FormField, HiddenField, SelectField, StringField, TextAreaField

from carecycle.forms import MultiCheckboxField as CheckboxList
from referrals.enums import (
    ActivationStatus,
    AgreementSide,
    Capacity,
    CloseReason,
    MovementKind,
    PhoneType,
    ReferralUrgency,
    ReferrerRelation,
    ReserveKind,
    ReserveLevel,
    ServiceStatus,
    ServiceType,
    Tier,
    VolunteerRole,
    VolunteerTeamKind,
    Weekdays,
)
from referrals.service.sharing import SHAREABLE


class MultiCheckboxField(CheckboxList):
    """Screening's list of checkboxes, without WTForms' own check of the choices."""

    def pre_validate(self, form):
        """Unknown choices are the service's to refuse, with its own message."""


class OrganisationForm(FlaskForm):
    version = HiddenField()
    name = StringField(_l("Name"))
    alternate_name = StringField(_l("Other name (optional)"))
    tier = SelectField(_l("Tier"), choices=Tier.choices, description=_l(
        "1: emergency and health (police, fire, ambulance, hospitals, psychiatric emergency). "
        "2: essential services (utilities, transport, telecoms, housing). 3: community and volunteers."))
    description = TextAreaField(_l("What the organisation does"))
    phone = StringField(_l("Main phone"), render_kw={"type": "tel"})
    email = StringField(_l("Email"), render_kw={"type": "email"})
    website = StringField(_l("Website"), description=_l("Starting with https://"))
    has_agreement = BooleanField(_l("A standing cooperation agreement exists"))
    agreement_start = StringField(_l("Agreement from"), render_kw={"type": "date"})
    agreement_end = StringField(_l("Agreement until"), render_kw={"type": "date"},
                                description=_l("Leave empty if it has no end date."))
    agreement_note = TextAreaField(_l("What the agreement covers"))
    is_example = BooleanField(_l("This is an example, not a real organisation (pages say so)"))


class LocationForm(FlaskForm):
    name = StringField(_l("Name of the place"), description=_l("For example: Main office, Hillside clinic"))
    address_1 = StringField(_l("Street address"))
    address_2 = StringField(_l("Address line 2"))
    city = StringField(_l("City or district"))
    region = StringField(_l("Region"))
    state_province = StringField(_l("State or province"))
    postal_code = StringField(_l("Postal code"))
    country = StringField(_l("Country code"), description=_l("Two letters, e.g. HK"))
    transportation = StringField(_l("How to get there"))
    description = TextAreaField(_l("Notes for visitors"))
    latitude = StringField(_l("Latitude"))
    longitude = StringField(_l("Longitude"))


class PhoneRow(Form):
    number = StringField(_l("Number"), render_kw={"type": "tel"})
    type = SelectField(_l("Kind"), choices=PhoneType.choices, validate_choice=False)
    description = StringField(_l("Note"))


def _day_choices():
    return [("", _l("— no hours —"))] + Weekdays.choices()


class ScheduleRow(Form):
    byday = SelectField(_l("Days"), choices=_day_choices, validate_choice=False)
    opens_at = StringField(_l("Opens"), render_kw={"type": "time"})
    closes_at = StringField(_l("Closes"), render_kw={"type": "time"})
    # kept as they came (an HSDS import): the schedule's own zone and its note are not edited here
    timezone = HiddenField()
    description = HiddenField()


class ServiceForm(FlaskForm):
    version = HiddenField()
    name = StringField(_l("Name of the service"))
    description = TextAreaField(_l("What the service offers"))
    types = MultiCheckboxField(_l("Service types"), choices=ServiceType.choices)
    languages = MultiCheckboxField(_l("Languages spoken"))
    other_languages = StringField(_l("Other language codes"),
                                  description=_l("ISO 639 codes separated by commas, e.g. ta, ml"))
    eligibility = TextAreaField(_l("Who can use it (eligibility)"))
    minimum_age = StringField(_l("Minimum age"), render_kw={"type": "number", "min": 0, "max": 120})
    maximum_age = StringField(_l("Maximum age"), render_kw={"type": "number", "min": 0, "max": 120})
    service_area = StringField(_l("Service area"), description=_l("Districts or area served"))
    application_process = TextAreaField(_l("How to get the service"))
    phones = FieldList(FormField(PhoneRow), min_entries=3, max_entries=10)
    email = StringField(_l("Email"), render_kw={"type": "email"})
    url = StringField(_l("Web page"), description=_l("Starting with https://"))
    schedules = FieldList(FormField(ScheduleRow), min_entries=4, max_entries=10)
    hours_note = StringField(_l("Note on opening hours"), description=_l("For example: closed on public holidays"))
    locations = MultiCheckboxField(_l("Where (places of the organisation)"))
    capacity = SelectField(_l("Capacity"), choices=Capacity.choices)
    status = SelectField(_l("Status"), choices=ServiceStatus.choices)
    public = BooleanField(_l("List on the public Find help page"))
    crisis_line = BooleanField(_l("Crisis line (shown first on Find help)"))


class CommitmentRow(Form):
    side = SelectField(_l("Who commits"), choices=AgreementSide.choices, validate_choice=False)
    quantity = StringField(_l("Quantity"), render_kw={"type": "number", "min": 1, "step": 1})
    unit = StringField(_l("Unit"))
    what = StringField(_l("What"))


class ContactRow(Form):
    name = StringField(_l("Name"))
    phone = StringField(_l("Phone"), render_kw={"type": "tel"})
    role = StringField(_l("Role"))


class AgreementForm(FlaskForm):
    version = HiddenField()
    title = StringField(_l("Title"), description=_l("For example: Memorandum of cooperation on emergency shelter"))
    valid_from = StringField(_l("Valid from"), render_kw={"type": "date"})
    valid_to = StringField(_l("Valid to"), render_kw={"type": "date"})
    review_on = StringField(_l("Review date"), render_kw={"type": "date"},
                            description=_l("When the agreement is to be reviewed with the partner (optional)."))
    document_reference = StringField(_l("Document reference"),
                                     description=_l("A file number or the address of the signed document."))
    commitments = FieldList(FormField(CommitmentRow), min_entries=4, max_entries=20)
    contacts = FieldList(FormField(ContactRow), min_entries=3, max_entries=10)


class CapacityForm(FlaskForm):
    capacity = SelectField(_l("Capacity"), choices=Capacity.choices)


class ImportForm(FlaskForm):
    file = FileField(_l("HSDS 3.0 JSON file"))
    default_tier = SelectField(_l("Default tier"), default="", choices=lambda: [
        ("", _l("None: refuse organisations without a tier")), *Tier.choices()], description=_l(
        "For files from other systems: the tier of each organisation that carries no CareCycle tier attribute."))


def _share_choices():
    return [(code, label) for code, (label, _source) in SHAREABLE.items()]


class ReferralForm(FlaskForm):
    version = HiddenField()
    service_id = SelectField(_l("Service"), validate_choice=False)
    urgency = SelectField(_l("Urgency"), choices=ReferralUrgency.choices, default=ReferralUrgency.ROUTINE.value)
    reason = TextAreaField(_l("Reason for the referral"), description=_l(
        "The partner reads this. Write what the client needs from the service, the minimum they need to know."))
    goal_id = SelectField(_l("Care-plan goal it serves (internal)"), validate_choice=False, description=_l(
        "The goal of the client's recovery care plan this referral works towards. Not shared with the partner."))
    share = MultiCheckboxField(_l("Share with the partner"), choices=_share_choices, description=_l(
        "Choose only what the partner needs. Clinical notes can never be shared."))


class SendForm(FlaskForm):
    override_reason = TextAreaField(_l("Reason to send without consent"), description=_l(
        "Only for a tier-1 referral at high or imminent risk. At least 20 characters; recorded and shown to "
        "your supervisor."))


class StatusForm(FlaskForm):
    status = SelectField(_l("New status"), validate_choice=False)
    close_reason = SelectField(_l("Reason for closing"), choices=lambda: [("", "—")] + CloseReason.choices(),
                               validate_choice=False)
    note = TextAreaField(_l("Note"), description=_l("Required when declined (the reason) or completed (the outcome)."))


class PartnerForm(FlaskForm):
    action = HiddenField()
    note = TextAreaField(_l("Note"))


class InboundForm(FlaskForm):
    relation = SelectField(_l("Who are you to the person?"), choices=ReferrerRelation.choices,
                           default=ReferrerRelation.PARTNER.value)
    referrer_name = StringField(_l("Your name"))
    referrer_organisation = StringField(_l("Your organisation (if any)"))
    referrer_contact = StringField(_l("Your phone or email"), description=_l("So that we can call you back."))
    person_name = StringField(_l("Name of the person who needs help"))
    person_phone = StringField(_l("Their phone"), render_kw={"type": "tel"})
    person_area = StringField(_l("Where they live (district or area)"))
    concern = TextAreaField(_l("What is happening? What help is needed?"))
    danger_now = BooleanField(_l("The person may be in danger now"))
    person_knows = BooleanField(_l("The person knows about this referral and agrees to it"))


class VolunteerTeamForm(FlaskForm):
    version = HiddenField()
    name = StringField(_l("Team name"))
    kind = SelectField(_l("Kind of team"), choices=VolunteerTeamKind.choices)
    team_id = SelectField(_l("Works with staff team"), validate_choice=False)
    meeting_point = StringField(_l("Meeting point when mobilised"))
    description = TextAreaField(_l("Description"))


class MobiliseForm(FlaskForm):
    team_id = SelectField(_l("Mobilise for staff team"), validate_choice=False)


class EndMobilisationForm(FlaskForm):
    mobilisation = HiddenField()


class VolunteerForm(FlaskForm):
    version = HiddenField()
    full_name = StringField(_l("Full name"))
    phone = StringField(_l("Phone"), render_kw={"type": "tel"})
    email = StringField(_l("Email"), render_kw={"type": "email"})
    role = SelectField(_l("Role in the team"), choices=VolunteerRole.choices, default=VolunteerRole.MEMBER.value)
    skills = TextAreaField(_l("Skills and background"), description=_l(
        "For example: retired nurse; speaks Urdu; first-aid instructor"))
    joined_on = StringField(_l("Joined on"), render_kw={"type": "date"})
    active = BooleanField(_l("Active member"), default=True)


class TrainingForm(FlaskForm):
    name = StringField(_l("Training"))
    description = TextAreaField(_l("Description"))
    validity_months = StringField(_l("Certificate valid for (months)"), default="24",
                                  render_kw={"type": "number", "min": 1, "max": 120})
    required_for = MultiCheckboxField(_l("Required for"), choices=VolunteerTeamKind.choices)


class CertificateForm(FlaskForm):
    training_id = SelectField(_l("Training"), validate_choice=False)
    issued_on = StringField(_l("Issued on"), render_kw={"type": "date"})
    expires_on = StringField(_l("Expires on"), render_kw={"type": "date"},
                             description=_l("Leave empty to use the training's validity."))
    reference = StringField(_l("Certificate number"))


class ReserveItemForm(FlaskForm):
    """A new reserve item; the holder's choices (organisations, agreements, register entries) are set by the view."""
    level = SelectField(_l("Who holds it"), choices=ReserveLevel.choices, validate_choice=False)
    kind = SelectField(_l("Kind"), choices=ReserveKind.choices, validate_choice=False)
    name = StringField(_l("What it is"), description=_l("For example: bottled water 1.5 l, insulin pens, camp beds"))
    unit = StringField(_l("Unit"), description=_l("For example: bottles, boxes, beds, people"))
    quantity = StringField(_l("How many now"), render_kw={"type": "number", "min": 0, "step": 1})
    low_at = StringField(_l("Low at"), render_kw={"type": "number", "min": 0, "step": 1},
                         description=_l("Marked low at or below this number (optional)."))
    expires_on = StringField(_l("Expires on"), render_kw={"type": "date"},
                             description=_l("Required for medicines, food and water: the soonest date if several."))
    location = StringField(_l("Where it is kept"), description=_l("For example: store room B, the fridge at home"))
    organization_id = SelectField(_l("Partner holding it (community reserves)"), validate_choice=False)
    agreement_id = SelectField(_l("Under the agreement (optional)"), validate_choice=False)
    register_entry_id = SelectField(_l("Person holding it at home (household reserves)"), validate_choice=False)
    next = HiddenField()  # a local page to go back to (the register entry the visit was logged on)


class MovementForm(FlaskForm):
    version = HiddenField()
    kind = SelectField(_l("What happened"), validate_choice=False, choices=lambda: [
        (k.value, k.label) for k in (MovementKind.RECEIVED, MovementKind.DRAWN, MovementKind.DISCARDED,
                                     MovementKind.COUNTED)])
    quantity = StringField(_l("How many"), render_kw={"type": "number", "min": 0, "step": 1},
                           description=_l("For a stock count: how many there are now."))
    note = StringField(_l("Note (optional)"), description=_l("For example: for the shelter at the sports centre"))
    next = HiddenField()  # a local page to go back to (the register entry the visit was logged on)



class CallForm(FlaskForm):
    """A call to a partner to activate one of its agreement's commitments (the board's link chooses which)."""
    agreement_id = HiddenField()
    commitment = HiddenField()
    contact = StringField(_l("Whom you called"), description=_l("For example: Mr Chan, duty manager, 5550 2001"))
    promised = StringField(_l("How many they promised"), render_kw={"type": "number", "min": 0, "step": 1},
                           description=_l("0 if they could not help."))
    note = StringField(_l("Note (optional)"), description=_l("For example: arrives 18:00 at the sports centre"))


class OutcomeForm(FlaskForm):
    version = HiddenField()
    status = SelectField(_l("What happened"), validate_choice=False, choices=lambda: [
        (s.value, s.label) for s in (ActivationStatus.ARRIVED, ActivationStatus.PARTLY, ActivationStatus.NOT_ARRIVED,
                                     ActivationStatus.DECLINED)])
    arrived = StringField(_l("How many arrived"), render_kw={"type": "number", "min": 0, "step": 1},
                          description=_l("Needed when part of it arrived."))
    note = StringField(_l("Note (optional)"), description=_l("For example: only one van had a driver"))
