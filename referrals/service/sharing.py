"""What a referral shares with the partner: fields the worker chooses explicitly, the minimum
necessary. Clinical notes (and anything else outside the list below) can never be shared this way.

While the referral is a draft the preview reads the client's record as it is now; when it is
sent, the chosen values are frozen (encrypted) on the referral, so the partner, the letter and
the preview afterwards show exactly what was sent."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from carecycle.validation import Invalid
from casework.enums import LANGUAGE_LABELS, SEX_LABELS, RiskLevel

# code -> (label, where the value comes from)
SHAREABLE = {
    "full_name": (_l("Full name"), "client"),
    "preferred_name": (_l("Preferred name"), "client"),
    "date_of_birth": (_l("Date of birth"), "client"),
    "sex": (_l("Sex"), "client"),
    "gender": (_l("Gender"), "client"),
    "phone": (_l("Phone"), "client"),
    "address": (_l("Address"), "client"),
    "preferred_language": (_l("Preferred language"), "client"),
    "id_number": (_l("ID number"), "client"),
    "household": (_l("Household"), "client"),
    "emergency_contact": (_l("Emergency contact"), "client"),
    "risk_level": (_l("Current risk level"), "case"),
}

# Never shared, whatever is asked: named so that the refusal can say why.
NEVER_SHARED = {"clinical_notes", "clinical_note", "notes", "contact_notes", "case_notes", "risk_assessment",
                "risk_assessments", "safety_plan", "screening", "screening_results", "timeline"}


def clean_share(share) -> list[str]:
    """The chosen field codes, in display order; refuses clinical notes and unknown fields."""
    if share is None:
        share = []
    if not isinstance(share, (list, tuple)) or not all(isinstance(code, str) for code in share):
        raise Invalid({"share": _("Send the fields to share as a list of field names.")})
    wanted = {code.strip() for code in share if code.strip()}
    forbidden = sorted(wanted & NEVER_SHARED)
    if forbidden:
        raise Invalid({"share": _("Clinical notes and other clinical records can never be shared with a referral "
                                  "partner (%(fields)s). Write what the partner needs to know in the reason.",
                                  fields=", ".join(forbidden))})
    unknown = sorted(wanted - set(SHAREABLE))
    if unknown:
        raise Invalid({"share": _("These fields cannot be shared: %(fields)s. Choose from: %(options)s.",
                                  fields=", ".join(unknown), options=", ".join(SHAREABLE))})
    return [code for code in SHAREABLE if code in wanted]


def snapshot(case, client, share: list[str]) -> dict:
    """The stored values of the chosen fields, as they are now (codes kept as codes)."""
    values = {}
    for code in share:
        _label, source = SHAREABLE[code]
        values[code] = getattr(case if source == "case" else client, code, None)
    return values


@dataclass
class SharedLine:
    code: str
    label: object
    value: str | None


def display_value(code: str, value):
    if value in (None, ""):
        return None
    if code == "risk_level":
        try:
            return RiskLevel(value).label
        except ValueError:
            return value
    if code == "preferred_language":
        return LANGUAGE_LABELS.get(value, value)
    if code == "sex":
        return SEX_LABELS.get(value, value)
    return value


def shared_values(referral) -> dict:
    """The values the partner sees (codes kept as codes): frozen once sent, live in a draft."""
    return referral.shared if referral.shared is not None else snapshot(referral.case, referral.client,
                                                                        referral.share or [])


def shared_lines(referral) -> list[SharedLine]:
    """Exactly what the partner sees of the client, labelled for display."""
    values = shared_values(referral)
    return [SharedLine(code, SHAREABLE[code][0], display_value(code, values.get(code)))
            for code in (referral.share or []) if code in SHAREABLE]


def preview_lines(case, client, share: list[str]) -> list[SharedLine]:
    values = snapshot(case, client, share)
    return [SharedLine(code, SHAREABLE[code][0], display_value(code, values.get(code))) for code in share]
