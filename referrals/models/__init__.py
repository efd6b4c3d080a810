"""Referral tables, one module per topic."""
from referrals.models.activations import Activation  # noqa: F401
from referrals.models.agreements import PartnerAgreement  # noqa: F401
from referrals.models.directory import (  # noqa: F401
    Location,
    Organisation,
    Schedule,
    Service,
    ServiceAtLocation,
    ServiceLanguage,
    ServiceTypeTag,
)
from referrals.models.referrals import (  # noqa: F401
    InboundReferral,
    PartnerLink,
    PartnerToken,
    Referral,
    ReferralEvent,
)
from referrals.models.reserves import ReserveItem, ReserveMovement  # noqa: F401
from referrals.models.volunteers import Certificate, Mobilisation, Training, Volunteer, VolunteerTeam  # noqa: F401
