"""Referral codes: stored lowercase, shown through translated labels."""
from __future__ import annotations

from datetime import timedelta

from flask_babel import lazy_gettext as _l

from casework.enums import LABELS, Labelled


class Tier(Labelled):
    """The tiered responder system: who commands, who supplies, who supports."""

    EMERGENCY = "1"        # government departments, police, fire, ambulance, hospitals, psychiatric emergency
    ESSENTIAL = "2"        # utilities, transport, telecoms, housing
    COMMUNITY = "3"        # NGOs, volunteer teams, community groups

    @property
    def number(self) -> int:
        return int(self.value)

    @property
    def meaning(self):
        return TIER_MEANINGS[self.value]


# Response deadline for a sent referral, by the tier of the receiving organisation (halved in emergency mode).
RESPONSE_DEADLINES = {
    Tier.EMERGENCY: timedelta(hours=1),
    Tier.ESSENTIAL: timedelta(hours=24),
    Tier.COMMUNITY: timedelta(hours=72),
}


class Capacity(Labelled):
    OPEN = "open"
    LIMITED = "limited"
    FULL = "full"
    CLOSED = "closed"


class ServiceStatus(Labelled):
    """HSDS 3.0 service status."""

    ACTIVE = "active"
    INACTIVE = "inactive"
    DEFUNCT = "defunct"
    TEMPORARILY_CLOSED = "temporarily closed"


class ServiceType(Labelled):
    CRISIS_LINE = "crisis_line"
    EMERGENCY_SERVICES = "emergency_services"
    POLICE = "police"
    FIRE_RESCUE = "fire_rescue"
    AMBULANCE = "ambulance"
    HOSPITAL = "hospital"
    PSYCHIATRIC_EMERGENCY = "psychiatric_emergency"
    MENTAL_HEALTH = "mental_health"
    COUNSELLING = "counselling"
    UTILITIES = "utilities"
    TRANSPORT = "transport"
    TELECOMS = "telecoms"
    HOUSING = "housing"
    FOOD = "food"
    FINANCIAL = "financial"
    LEGAL = "legal"
    ELDERLY = "elderly"
    YOUTH = "youth"
    DISABILITY = "disability"
    BEREAVEMENT = "bereavement"
    CARERS = "carers"
    EMPLOYMENT = "employment"
    VOLUNTEERS = "volunteers"
    COMMUNITY_GROUP = "community_group"


class Weekdays(Labelled):
    """Opening-day presets, stored as RFC 5545 BYDAY lists (HSDS schedules)."""

    EVERY_DAY = "MO,TU,WE,TH,FR,SA,SU"
    WEEKDAYS = "MO,TU,WE,TH,FR"
    MON_SAT = "MO,TU,WE,TH,FR,SA"
    WEEKEND = "SA,SU"
    MO = "MO"
    TU = "TU"
    WE = "WE"
    TH = "TH"
    FR = "FR"
    SA = "SA"
    SU = "SU"


DAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


class PhoneType(Labelled):
    """RFC 6350 phone types, as HSDS uses them."""

    VOICE = "voice"
    TEXT = "text"
    CELL = "cell"
    FAX = "fax"
    VIDEO = "video"
    TEXTPHONE = "textphone"


class ReferralStatus(Labelled):
    DRAFT = "draft"
    SENT = "sent"
    ACKNOWLEDGED = "acknowledged"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    IN_SERVICE = "in_service"
    COMPLETED = "completed"
    CLOSED = "closed"

    @property
    def final(self) -> bool:
        return self in (ReferralStatus.DECLINED, ReferralStatus.COMPLETED, ReferralStatus.CLOSED)


class CloseReason(Labelled):
    NO_SHOW = "no_show"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


class ReferralUrgency(Labelled):
    ROUTINE = "routine"
    URGENT = "urgent"
    EMERGENCY = "emergency"


class VolunteerTeamKind(Labelled):
    CRISIS_RESPONSE = "crisis_response"
    MEDICAL_RESERVE = "medical_reserve"
    COMMUNITY_CARE = "community_care"
    AUXILIARY_SECURITY = "auxiliary_security"


class VolunteerRole(Labelled):
    LEADER = "leader"
    DEPUTY = "deputy"
    MEMBER = "member"


class AgreementSide(Labelled):
    """Who makes a commitment of a partner agreement."""

    PARTNER = "partner"
    SERVICE = "service"


class AgreementState(Labelled):
    """Where a partner agreement stands today (the first that applies, in this order)."""

    EXPIRED = "expired"
    UPCOMING = "upcoming"
    EXPIRING = "expiring"
    REVIEW_DUE = "review_due"
    CURRENT = "current"


class ReserveLevel(Labelled):
    """Who holds a reserve: the service's team, a partner under an agreement, or a registered household."""

    SERVICE = "service"
    COMMUNITY = "community"
    HOUSEHOLD = "household"


class ReserveKind(Labelled):
    MEDICINE = "medicine"
    FOOD = "food"
    WATER = "water"
    SHELTER = "shelter"
    EQUIPMENT = "equipment"
    TRANSPORT = "transport"
    PEOPLE = "people"
    OTHER = "other"


class MovementKind(Labelled):
    """A change of a reserve's stock. Never edited or deleted: a mistake is put right by a count."""

    OPENING = "opening"      # the stock when the item was recorded
    RECEIVED = "received"    # added
    DRAWN = "drawn"          # taken out for use
    DISCARDED = "discarded"  # expired, spoilt or damaged
    COUNTED = "counted"      # a stock count: the difference to what was on record


class ActivationStatus(Labelled):
    """Where an activation of an agreement stands: promised on the call, then what happened."""

    PROMISED = "promised"          # called, help promised, not arrived yet
    ARRIVED = "arrived"            # all that was promised arrived
    PARTLY = "partly"              # some of it arrived
    NOT_ARRIVED = "not_arrived"    # nothing arrived
    DECLINED = "declined"          # the partner could not help when called


class ReferrerRelation(Labelled):
    """Who submits a public inbound referral."""

    PARTNER = "partner"
    PROFESSIONAL = "professional"
    FAMILY = "family"
    FRIEND_NEIGHBOUR = "friend_neighbour"
    SELF = "self"
    OTHER = "other"


TIER_MEANINGS = {
    "1": _l("Emergency and health: police, fire, ambulance, hospitals, psychiatric emergency. "
            "Command and direct intervention."),
    "2": _l("Essential services and infrastructure: utilities, transport, telecoms, housing. Supplies and recovery."),
    "3": _l("Community and volunteers: NGOs, volunteer teams, community groups. Support."),
}

LABELS.update({  # casework's table of labels, keyed by (enum, code): one `label` lookup for every area
    (Tier, "1"): _l("Tier 1 · emergency and health"), (Tier, "2"): _l("Tier 2 · essential services"),
    (Tier, "3"): _l("Tier 3 · community and volunteers"),
    (Capacity, "open"): _l("Open"), (Capacity, "limited"): _l("Limited places"), (Capacity, "full"): _l("Full"),
    (Capacity, "closed"): _l("Closed"),
    (ServiceStatus, "active"): _l("Active"), (ServiceStatus, "inactive"): _l("Inactive"),
    (ServiceStatus, "defunct"): _l("No longer exists"), (ServiceStatus, "temporarily closed"): _l("Temporarily closed"),
    (ServiceType, "crisis_line"): _l("Crisis line"), (ServiceType, "emergency_services"): _l("Emergency services"),
    (ServiceType, "police"): _l("Police"), (ServiceType, "fire_rescue"): _l("Fire and rescue"),
    (ServiceType, "ambulance"): _l("Ambulance"), (ServiceType, "hospital"): _l("Hospital"),
    (ServiceType, "psychiatric_emergency"): _l("Psychiatric emergency"),
    (ServiceType, "mental_health"): _l("Mental-health care"), (ServiceType, "counselling"): _l("Counselling"),
    (ServiceType, "utilities"): _l("Utilities (water, power, gas)"), (ServiceType, "transport"): _l("Transport"),
    (ServiceType, "telecoms"): _l("Telephone and internet"), (ServiceType, "housing"): _l("Housing and shelter"),
    (ServiceType, "food"): _l("Food"), (ServiceType, "financial"): _l("Money and benefits"),
    (ServiceType, "legal"): _l("Legal advice"), (ServiceType, "elderly"): _l("Older people"),
    (ServiceType, "youth"): _l("Children and young people"), (ServiceType, "disability"): _l("Disability"),
    (ServiceType, "bereavement"): _l("Bereavement"), (ServiceType, "carers"): _l("Carers"),
    (ServiceType, "employment"): _l("Work and training"), (ServiceType, "volunteers"): _l("Volunteer team"),
    (ServiceType, "community_group"): _l("Community group"),
    (Weekdays, Weekdays.EVERY_DAY.value): _l("Every day"), (Weekdays, Weekdays.WEEKDAYS.value): _l("Monday to Friday"),
    (Weekdays, Weekdays.MON_SAT.value): _l("Monday to Saturday"), (Weekdays, Weekdays.WEEKEND.value): _l("Weekends"),
    (Weekdays, "MO"): _l("Monday"), (Weekdays, "TU"): _l("Tuesday"), (Weekdays, "WE"): _l("Wednesday"),
    (Weekdays, "TH"): _l("Thursday"), (Weekdays, "FR"): _l("Friday"), (Weekdays, "SA"): _l("Saturday"),
    (Weekdays, "SU"): _l("Sunday"),
    (PhoneType, "voice"): _l("Phone"), (PhoneType, "text"): _l("Text message (SMS)"), (PhoneType, "cell"): _l("Mobile"),
    (PhoneType, "fax"): _l("Fax"), (PhoneType, "video"): _l("Video call"), (PhoneType, "textphone"): _l("Textphone"),
    (ReferralStatus, "draft"): _l("Draft"), (ReferralStatus, "sent"): _l("Sent"),
    (ReferralStatus, "acknowledged"): _l("Acknowledged"), (ReferralStatus, "accepted"): _l("Accepted"),
    (ReferralStatus, "declined"): _l("Declined"), (ReferralStatus, "in_service"): _l("In service"),
    (ReferralStatus, "completed"): _l("Completed"), (ReferralStatus, "closed"): _l("Closed"),
    (CloseReason, "no_show"): _l("Client did not attend"), (CloseReason, "withdrawn"): _l("Withdrawn"),
    (CloseReason, "expired"): _l("Expired without an answer"),
    (ReferralUrgency, "routine"): _l("Routine"), (ReferralUrgency, "urgent"): _l("Urgent"),
    (ReferralUrgency, "emergency"): _l("Emergency"),
    (VolunteerTeamKind, "crisis_response"): _l("Crisis response team"),
    (VolunteerTeamKind, "medical_reserve"): _l("Medical reserve team"),
    (VolunteerTeamKind, "community_care"): _l("Community care team"),
    (VolunteerTeamKind, "auxiliary_security"): _l("Auxiliary security team"),
    (VolunteerRole, "leader"): _l("Team leader"), (VolunteerRole, "deputy"): _l("Deputy leader"),
    (VolunteerRole, "member"): _l("Member"),
    (AgreementSide, "partner"): _l("The partner commits"), (AgreementSide, "service"): _l("Our service commits"),
    (AgreementState, "expired"): _l("Expired"), (AgreementState, "upcoming"): _l("Not yet in force"),
    (AgreementState, "expiring"): _l("Expiring within 60 days"), (AgreementState, "review_due"): _l("Review due"),
    (AgreementState, "current"): _l("Current"),
    (ReserveLevel, "service"): _l("Service (held by the team)"),
    (ReserveLevel, "community"): _l("Community (held by a partner)"),
    (ReserveLevel, "household"): _l("Household (held at home)"),
    (ReserveKind, "medicine"): _l("Medicine"), (ReserveKind, "food"): _l("Food"), (ReserveKind, "water"): _l("Water"),
    (ReserveKind, "shelter"): _l("Shelter"), (ReserveKind, "equipment"): _l("Equipment"),
    (ReserveKind, "transport"): _l("Transport"), (ReserveKind, "people"): _l("People on call"),
    (ReserveKind, "other"): _l("Other"),
    (MovementKind, "opening"): _l("Opening stock"), (MovementKind, "received"): _l("Stock received"),
    (MovementKind, "drawn"): _l("Drawn for use"), (MovementKind, "discarded"): _l("Discarded (expired or damaged)"),
    (MovementKind, "counted"): _l("Stock count"),
    (ActivationStatus, "promised"): _l("Promised, not arrived yet"), (ActivationStatus, "arrived"): _l("Arrived"),
    (ActivationStatus, "partly"): _l("Partly arrived"), (ActivationStatus, "not_arrived"): _l("Did not arrive"),
    (ActivationStatus, "declined"): _l("The partner could not help"),
    (ReferrerRelation, "partner"): _l("A partner organisation"),
    (ReferrerRelation, "professional"): _l("A doctor, teacher or other professional"),
    (ReferrerRelation, "family"): _l("Family"), (ReferrerRelation, "friend_neighbour"): _l("Friend or neighbour"),
    (ReferrerRelation, "self"): _l("I am asking for myself"), (ReferrerRelation, "other"): _l("Someone else"),
})

# Languages a service can offer (ISO 639-1 or 639-3 codes, as HSDS uses). Other codes may be imported.
LANGUAGE_NAMES = {
    "en": "English", "yue": "Cantonese (廣東話)", "cmn": "Mandarin (普通话)", "zh": "Chinese (written)",
    "ur": "Urdu", "hi": "Hindi", "ne": "Nepali", "pa": "Punjabi", "bn": "Bengali", "tl": "Tagalog",
    "id": "Indonesian", "th": "Thai", "vi": "Vietnamese", "ja": "Japanese", "ko": "Korean", "fr": "French",
    "es": "Spanish", "sgn": "Sign language",
}

# The page language -> the service languages a resident reading it is likely to speak.
LOCALE_LANGUAGES = {"en": ("en",), "zh_Hant": ("yue", "zh", "cmn"), "zh_Hans": ("cmn", "zh", "yue")}
