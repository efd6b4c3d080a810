"""Inbound referrals: a partner or a member of the public refers someone through the public form.

The form is rate-limited per address and CSRF-protected; what it holds about the person is
encrypted; it lands on the shared duty triage queue as an alert of kind `inbound_referral`
(crisis when the person is in danger now, otherwise urgent)."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from carecycle.alerts import Alert, AlertSubject, Urgency, raise_alert
from carecycle.audit import record_event
from carecycle.extensions import db
from carecycle.lifecycle import NotFound
from carecycle.messages import label, said, words
from referrals.enums import ReferrerRelation
from referrals.models import InboundReferral
from referrals.service.common import Errors, as_uuid, phone, text

SUMMARY_CONCERN = 300


def clean_inbound(data: dict) -> dict:
    errors = Errors()
    relation = data.get("relation") or ""
    if relation not in [r.value for r in ReferrerRelation]:
        errors["relation"] = _("Tell us who you are to the person.")
    is_self = relation == ReferrerRelation.SELF.value
    clean = {
        "relation": relation,
        "referrer_name": text(data, "referrer_name", errors, limit=200, required=not is_self,
                              message=_("Tell us your name, so that we can call you back.")),
        "referrer_organisation": text(data, "referrer_organisation", errors, limit=200),
        "referrer_contact": text(data, "referrer_contact", errors, limit=200, required=not is_self,
                                 message=_("Give a phone number or email address where we can reach you.")),
        "person_name": text(data, "person_name", errors, limit=200, required=True,
                            message=_("Tell us the name of the person who needs help (a first name is enough).")),
        "person_phone": phone(data, "person_phone", errors, required=is_self),
        "person_area": text(data, "person_area", errors, limit=300),
        "concern": text(data, "concern", errors, limit=4000, required=True,
                        message=_("Tell us what is happening and what help is needed.")),
        "danger_now": bool(data.get("danger_now")),
        "person_knows": bool(data.get("person_knows")),
        "language": (data.get("language") or None),
    }
    if not is_self and not clean["person_knows"] and not clean["danger_now"]:
        errors["person_knows"] = _("Please check that the person knows about this referral and agrees to it. If "
                                   "they are in danger now, tick the box above instead.")
    errors.check()
    return clean


def submit(data: dict) -> InboundReferral:
    """Store the referral and put it on the triage queue (the caller commits). Raises Invalid;
    nothing is stored then. The per-address limit is counted by the route (`ratelimit.counted`)."""
    clean = clean_inbound(data)
    inbound = InboundReferral(relation=clean["relation"], danger_now=clean["danger_now"],
                              person_knows=clean["person_knows"] or clean["relation"] == ReferrerRelation.SELF.value,
                              language=clean["language"])
    for name in ("referrer_name", "referrer_organisation", "referrer_contact", "person_name", "person_phone",
                 "person_area", "concern"):
        setattr(inbound, name, clean[name])
    db.session.add(inbound)
    db.session.flush()
    urgency = Urgency.CRISIS if clean["danger_now"] else Urgency.URGENT
    alert = raise_alert("inbound_referral", urgency, subject_type="inbound_referral", subject_id=inbound.id,
                        summary=summary_of(inbound), public=True)
    inbound.alert_id = alert.id
    record_event("create", "inbound_referral", inbound.id, reason=urgency.value)
    return inbound


def summary_of(inbound: InboundReferral) -> dict:
    """The triage line: who refers whom and why, the submitter's words kept as written (stored
    encrypted), the rest in each reader's language (carecycle.messages)."""
    referrer = inbound.referrer_name or "-"
    if inbound.referrer_organisation:
        referrer += f" ({inbound.referrer_organisation})"
    concern = inbound.concern if len(inbound.concern) <= SUMMARY_CONCERN else inbound.concern[:SUMMARY_CONCERN] + "…"
    person = " · ".join(part for part in (inbound.person_name, inbound.person_phone, inbound.person_area) if part)
    values = {"person": words(person), "referrer": words(referrer), "relation": label("referrer_relation",
              inbound.relation), "contact": words(inbound.referrer_contact or "-"), "concern": words(concern)}
    if inbound.danger_now:
        return said("DANGER NOW. Referral for %(person)s. From: %(referrer)s [%(relation)s], contact %(contact)s. "
                    "Concern: %(concern)s", **values)
    return said("Referral for %(person)s. From: %(referrer)s [%(relation)s], contact %(contact)s. "
                "Concern: %(concern)s", **values)


def recent(page: int = 1, per_page: int = 50):
    stmt = select(InboundReferral).order_by(InboundReferral.received_at.desc())
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False)


def load(inbound_id) -> InboundReferral:
    """One inbound referral for the duty worker; the read is audited."""
    iid = as_uuid(inbound_id)
    inbound = db.session.get(InboundReferral, iid) if iid else None
    if inbound is None:
        raise NotFound("inbound referral")
    record_event("view", "inbound_referral", inbound.id)
    return inbound


def alert_of(inbound: InboundReferral) -> Alert | None:
    return db.session.get(Alert, inbound.alert_id) if inbound.alert_id else None


def alert_subject(alert: Alert) -> AlertSubject | None:
    """Triage's view of an inbound referral: the person referred (the read is audited)."""
    iid = as_uuid(alert.subject_id)
    inbound = db.session.get(InboundReferral, iid) if iid else None
    if inbound is None:
        return None
    record_event("view", "inbound_referral", inbound.id)
    return AlertSubject(_l("Person referred"), inbound.person_name, inbound.person_phone,
                        "referrals.inbound_detail", {"inbound_id": inbound.id}, _l("The full referral"))
