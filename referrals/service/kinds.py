"""The referrals records `carecycle.lifecycle.load_visible` loads for a user, and who sees each.

Referrals follow their case (casework's `visible_cases`); a consent override is reviewed by the
team that sent it; volunteers, trainings and the partner directory are the service's own reference
data, open to every user whose permission lets them reach the page, archived entries aside."""
from __future__ import annotations

from sqlalchemy import false, true

from carecycle.lifecycle import register_kind
from carecycle.permissions import Permission, access_held, role_has
from referrals.models import (
    Activation,
    InboundReferral,
    Location,
    Organisation,
    PartnerAgreement,
    Referral,
    ReserveItem,
    Service,
    Training,
    Volunteer,
    VolunteerTeam,
)
from referrals.service.activations import visible_activations
from referrals.service.directory import current_locations, current_services
from referrals.service.referrals import visible_referrals
from referrals.service.reserves import visible_items


def _own_team_overrides(user):
    if user.team_id is None:
        return false()
    return (Referral.consent_override.is_(True)) & (Referral.team_id == user.team_id)


def _duty_workers(user):
    """Inbound referrals are worked by whoever is on the triage queue (the page's own rule)."""
    return true() if role_has(user.role, Permission.TRIAGE_WORK) and not access_held(user) else false()


def register_kinds(app) -> None:
    register_kind(app, "referral", Referral, visible_referrals)
    register_kind(app, "inbound_referral", InboundReferral, _duty_workers)
    register_kind(app, "consent_override", Referral, _own_team_overrides, audited=False)
    register_kind(app, "volunteer_team", VolunteerTeam, lambda _user: VolunteerTeam.archived_at.is_(None),
                  audited=False)
    register_kind(app, "volunteer", Volunteer, lambda _user: true())
    register_kind(app, "training", Training, lambda _user: true(), audited=False)
    # Staff see archived organisations too (to restore them); pages that act on a current one add
    # `where=(Organisation.archived_at.is_(None),)`.
    register_kind(app, "organisation", Organisation, lambda _user: true(), audited=False)
    register_kind(app, "partner_service", Service, lambda _user: current_services(), audited=False)
    register_kind(app, "location", Location, lambda _user: current_locations(), audited=False)
    # an agreement holds its contact people (personal data): every view of one is audited
    register_kind(app, "partner_agreement", PartnerAgreement, lambda _user: true())
    register_kind(app, "activation", Activation, visible_activations)  # its procedures' checklists
    # the team's reserves; a household one only with the person's register entry
    register_kind(app, "reserve_item", ReserveItem, visible_items)
