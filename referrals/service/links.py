"""Partner links: how a partner outside the system sees a sent referral and answers it.

The token is 256 random bits, shown once to the worker who sends the referral; only its SHA-256
is stored. A link lasts 30 days, can be revoked (and is, when the referral ends or a new link is
issued), is rate-limited per address and per token, and every view and action through it is
audited. An expired, revoked or unknown link shows a plain message and nothing else."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from carecycle import ratelimit
from carecycle.audit import record_event
from carecycle.database import utcnow
from carecycle.extensions import db
from referrals.enums import ReferralStatus
from referrals.models import PartnerLink, Referral
from referrals.service.common import TransitionRefused

LIFETIME = timedelta(days=30)
LINKABLE = (ReferralStatus.SENT, ReferralStatus.ACKNOWLEDGED, ReferralStatus.ACCEPTED, ReferralStatus.IN_SERVICE)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(user, referral: Referral) -> tuple[PartnerLink, str]:
    """A new link for a sent referral; earlier links stop working. Returns (link, raw token)."""
    if referral.status_enum not in LINKABLE:
        raise TransitionRefused(_("A partner link exists only while a sent referral is open."))
    revoke_all(referral, user, reason="replaced")
    token = secrets.token_urlsafe(32)
    now = utcnow()
    link = PartnerLink(referral_id=referral.id, token_hash=token_hash(token), created_by_id=user.id if user else None,
                       created_at=now, expires_at=now + LIFETIME)
    db.session.add(link)
    db.session.flush()
    record_event("create", "partner_link", link.id, reason=f"referral:{referral.id}")
    return link, token


def revoke_all(referral: Referral, user, *, reason: str = "revoked") -> int:
    links = db.session.scalars(select(PartnerLink).where(PartnerLink.referral_id == referral.id,
                                                         PartnerLink.revoked_at.is_(None))).all()
    now = utcnow()
    for link in links:
        link.revoked_at, link.revoked_by_id = now, user.id if user else None
        record_event("revoke", "partner_link", link.id, reason=reason)
    return len(links)


def current_link(referral: Referral) -> PartnerLink | None:
    return db.session.scalar(select(PartnerLink).where(PartnerLink.referral_id == referral.id)
                             .order_by(PartnerLink.created_at.desc()).limit(1))


class RateLimited(Exception):
    pass


@dataclass
class Resolved:
    state: str                  # ok | expired | revoked | unknown
    link: PartnerLink | None

    @property
    def ok(self) -> bool:
        return self.state == "ok"


def resolve(token: str, address: str | None, *, action: str = "view") -> Resolved:
    """Find the link for a token, counting the attempt; audits every outcome (the caller commits)."""
    cfg = current_app.config
    window = timedelta(seconds=cfg["REFERRALS_PARTNER_RATE_WINDOW"])
    allowed = ratelimit.allow("partner_link", address or "-", cfg["REFERRALS_PARTNER_RATE_LIMIT"], window)
    if allowed and token:
        allowed = ratelimit.allow("partner_link_token", token_hash(token), cfg["REFERRALS_PARTNER_TOKEN_LIMIT"], window)
    if not allowed:
        record_event(action, "partner_link", None, outcome="denied", reason="rate_limited")
        raise RateLimited()
    link = db.session.scalar(select(PartnerLink).where(PartnerLink.token_hash == token_hash(token))) \
        if token and len(token) <= 200 else None
    if link is None:
        record_event(action, "partner_link", None, outcome="denied", reason="unknown")
        return Resolved("unknown", None)
    if link.revoked_at is not None:
        record_event(action, "partner_link", link.id, outcome="denied", reason="revoked")
        return Resolved("revoked", link)
    if utcnow() >= link.expires_at:
        record_event(action, "partner_link", link.id, outcome="denied", reason="expired")
        return Resolved("expired", link)
    link.last_used_at = utcnow()
    record_event(action, "referral", link.referral_id, reason=f"partner_link:{link.id}")
    return Resolved("ok", link)
