"""Partner organisations' FHIR bearer tokens: a partner's system reads the ServiceRequests and Tasks
addressed to its organisation and answers the Tasks (referrals.fhir.loop), without a user account.

A token is shown once and stored as its SHA-256 with its first 12 characters (to name it in
`carecycle tokens list --partner ORG_ID`); it expires, can be revoked, and stops working when the
organisation is archived. Issuing and revoking are audited."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from carecycle.audit import record_event
from carecycle.config import API_TOKEN_MAX_DAYS
from carecycle.database import utcnow
from carecycle.extensions import db
from carecycle.fhir import Partner
from carecycle.lifecycle import NotFound
from carecycle.validation import Invalid
from referrals.models import Organisation, PartnerToken
from referrals.service.common import as_uuid

TOKEN_PREFIX = "ccp_"
MATCH_MIN = 8
USE_RECORDED_EVERY = timedelta(minutes=1)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _organisation(org_id) -> Organisation:
    rid = as_uuid(org_id)
    org = db.session.get(Organisation, rid) if rid is not None else None
    if org is None or org.archived_at is not None:
        raise NotFound("partner organisation")
    return org


def create_token(org_id, days: int | None = None) -> str:
    """A new token for the organisation, lasting `days` (default API_TOKEN_DAYS); returns it once."""
    org = _organisation(org_id)
    days = current_app.config["API_TOKEN_DAYS"] if days is None else days
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= API_TOKEN_MAX_DAYS:
        raise Invalid({"days": _("A token lasts from 1 to %(most)d days; %(days)s is outside that.",
                                 most=API_TOKEN_MAX_DAYS, days=days)})
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    row = PartnerToken(organisation_id=org.id, token_hash=_hash(token), prefix=token[:12], created_at=now,
                       expires_at=now + timedelta(days=days))
    db.session.add(row)
    db.session.flush()
    record_event("create", "partner_token", row.id, reason=f"organisation:{org.id}")
    return token


def list_tokens(org_id) -> list[PartnerToken]:
    org = _organisation(org_id)
    return list(db.session.scalars(select(PartnerToken).where(PartnerToken.organisation_id == org.id)
                                   .order_by(PartnerToken.created_at.desc())))


def revoke(org_id, given: str | None = None) -> int:
    """Revoke every live token of the organisation, or the one that `given` is or begins (at least 8
    characters); refuses (changing nothing) when `given` matches none or several."""
    org = _organisation(org_id)
    stmt = select(PartnerToken).where(PartnerToken.organisation_id == org.id, PartnerToken.revoked_at.is_(None))
    rows = list(db.session.scalars(stmt))
    if given is not None:
        given = given.strip()
        if len(given) < MATCH_MIN:
            raise Invalid({"token": _("Give at least %(n)d characters of the token.", n=MATCH_MIN)})
        rows = [row for row in rows if row.prefix.startswith(given[:12])]
        if len(rows) != 1:
            raise Invalid({"token": _("That matches %(n)d live tokens of this organisation; give more of it.",
                                      n=len(rows))})
    now = utcnow()
    for row in rows:
        row.revoked_at = now
        record_event("revoke", "partner_token", row.id, reason=f"organisation:{org.id}")
    return len(rows)


def resolve(token: str) -> Partner | None:
    """The partner of a live token (not revoked, not expired, its organisation not archived), or None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    row = db.session.scalar(select(PartnerToken).where(PartnerToken.token_hash == _hash(token)))
    now = utcnow()
    if row is None or row.state(now) != "active" or row.organisation.archived_at is not None:
        return None
    if row.last_used_at is None or now - row.last_used_at >= USE_RECORDED_EVERY:
        row.last_used_at = now
    return Partner(organisation_id=row.organisation_id, token_id=row.id, name=row.organisation.name)
