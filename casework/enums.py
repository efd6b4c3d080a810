"""Casework codes: stored lowercase, shown through translated labels."""
from __future__ import annotations

from enum import StrEnum

from flask_babel import lazy_gettext as _l


class Labelled(StrEnum):
    @property
    def label(self):
        return LABELS.get((type(self), self.value), self.value)

    @classmethod
    def choices(cls):
        return [(m.value, m.label) for m in cls]


class Phase(Labelled):
    INTAKE = "intake"
    CRISIS = "crisis"
    RECOVERY = "recovery"
    CLOSED = "closed"


class RiskLevel(Labelled):
    NONE = "none"
    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"
    IMMINENT = "imminent"

    @property
    def rank(self) -> int:
        return list(RiskLevel).index(self)


class Priority(Labelled):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Source(Labelled):
    SCREENING = "screening"
    WALK_IN = "walk_in"
    HOTLINE = "hotline"
    INBOUND_REFERRAL = "inbound_referral"
    OUTREACH = "outreach"
    SELF_REFERRAL = "self_referral"
    OTHER = "other"


class ConsentScope(Labelled):
    CONTACT = "contact"
    DATA_PROCESSING = "data_processing"
    REFERRAL_SHARING = "referral_sharing"


class ClosureReason(Labelled):
    GOALS_ACHIEVED = "goals_achieved"
    MOVED_AWAY = "moved_away"
    DECLINED = "declined"
    TRANSFERRED = "transferred"
    DECEASED = "deceased"
    OTHER = "other"


# Client details chosen from a list (stored as these codes). Language names are written in their own language.
SEX_LABELS = {"female": _l("Female"), "male": _l("Male"), "intersex": _l("Intersex"),
              "not_stated": _l("Prefers not to say")}
LANGUAGE_LABELS = {"en": "English", "zh_Hant": "繁體中文", "zh_Hans": "简体中文", "other": _l("Other")}


LABELS = {
    (Phase, Phase.INTAKE.value): _l("Intake"), (Phase, Phase.CRISIS.value): _l("Crisis"),
    (Phase, Phase.RECOVERY.value): _l("Recovery"),
    (Phase, Phase.CLOSED.value): _l("Closed"),
    (RiskLevel, RiskLevel.NONE.value): _l("No risk identified"), (RiskLevel, RiskLevel.LOW.value): _l("Low risk"),
    (RiskLevel, RiskLevel.MODERATE.value): _l("Moderate risk"),
    (RiskLevel, RiskLevel.HIGH.value): _l("High risk"), (RiskLevel, RiskLevel.IMMINENT.value): _l("Imminent risk"),
    (Priority, Priority.LOW.value): _l("Low priority"), (Priority, Priority.NORMAL.value): _l("Normal priority"),
    (Priority, Priority.HIGH.value): _l("High priority"),
    (Priority, Priority.URGENT.value): _l("Urgent"),
    (Source, Source.SCREENING.value): _l("Self-screening"), (Source, Source.WALK_IN.value): _l("Walk-in"),
    (Source, Source.HOTLINE.value): _l("Hotline call"),
    (Source, Source.INBOUND_REFERRAL.value): _l("Inbound referral"), (Source, Source.OUTREACH.value): _l("Outreach"),
    (Source, Source.SELF_REFERRAL.value): _l("Self-referral"), (Source, Source.OTHER.value): _l("Other"),
    (ClosureReason, ClosureReason.GOALS_ACHIEVED.value): _l("Goals achieved"),
    (ClosureReason, ClosureReason.MOVED_AWAY.value): _l("Moved away"),
    (ClosureReason, ClosureReason.DECLINED.value): _l("Declined further help"),
    (ClosureReason, ClosureReason.TRANSFERRED.value): _l("Transferred"),
    (ClosureReason, ClosureReason.DECEASED.value): _l("Deceased"),
    (ClosureReason, ClosureReason.OTHER.value): _l("Other reason"),
    (ConsentScope, ConsentScope.CONTACT.value): _l("Contact"),
    (ConsentScope, ConsentScope.DATA_PROCESSING.value): _l("Data processing"),
    (ConsentScope, ConsentScope.REFERRAL_SHARING.value): _l("Sharing with referral partners"),
}


# Vulnerable-person register ------------------------------------------------------------------

class Tier(Labelled):
    """How closely a person on the register is followed; red is the closest."""
    GREEN = "green"
    YELLOW = "yellow"
    ORANGE = "orange"
    RED = "red"

    @property
    def rank(self) -> int:
        return list(Tier).index(self)

    @property
    def meaning(self):
        return TIER_MEANINGS[(Tier, self.value)]


class RegisterFlag(Labelled):
    LIVES_ALONE_ELDERLY = "lives_alone_elderly"
    DISABILITY = "disability"
    CHRONIC_ILLNESS = "chronic_illness"
    BEREAVED = "bereaved"
    FRONTLINE_WORKER = "frontline_worker"
    RECENT_JOB_LOSS = "recent_job_loss"
    PREVIOUS_SELF_HARM = "previous_self_harm"
    CARER_UNDER_STRAIN = "carer_under_strain"
    OTHER = "other"


class OutreachOutcome(Labelled):
    CONTACTED = "contacted"
    NO_ANSWER = "no_answer"
    VISITED = "visited"
    DECLINED = "declined"

    @property
    def reached(self) -> bool:
        """The person was reached (the outreach clock restarts); a no-answer leaves it running."""
        return self is not OutreachOutcome.NO_ANSWER


TIER_MEANINGS = {
    (Tier, Tier.RED.value): _l("High concern: recent self-harm, a crisis or rapid decline, or no support at all. "
                 "Keep in close contact."),

    (Tier, Tier.ORANGE.value): _l("Significant concern: several risk factors together or a recent loss, "
                                  "with little support."),
    (Tier, Tier.YELLOW.value): _l("Some concern: risk factors present, but the person is coping and has some support."),
    (Tier, Tier.GREEN.value): _l("Stable: support in place; a routine check that things are still well."),
}

LABELS.update({
    (Tier, Tier.GREEN.value): _l("Green"), (Tier, Tier.YELLOW.value): _l("Yellow"),
    (Tier, Tier.ORANGE.value): _l("Orange"), (Tier, Tier.RED.value): _l("Red"),
    (RegisterFlag, RegisterFlag.LIVES_ALONE_ELDERLY.value): _l("Lives alone (elderly)"),
    (RegisterFlag, RegisterFlag.DISABILITY.value): _l("Disability"),
    (RegisterFlag, RegisterFlag.CHRONIC_ILLNESS.value): _l("Chronic illness"),
    (RegisterFlag, RegisterFlag.BEREAVED.value): _l("Bereaved"),
    (RegisterFlag, RegisterFlag.FRONTLINE_WORKER.value): _l("Frontline worker"),
    (RegisterFlag, RegisterFlag.RECENT_JOB_LOSS.value): _l("Recent job loss"),
    (RegisterFlag, RegisterFlag.PREVIOUS_SELF_HARM.value): _l("Previous self-harm"),
    (RegisterFlag, RegisterFlag.CARER_UNDER_STRAIN.value): _l("Carer under strain"),
    (RegisterFlag, RegisterFlag.OTHER.value): _l("Other reason"),
    (OutreachOutcome, OutreachOutcome.CONTACTED.value): _l("Contacted"),
    (OutreachOutcome, OutreachOutcome.NO_ANSWER.value): _l("No answer"),
    (OutreachOutcome, OutreachOutcome.VISITED.value): _l("Visited"),
    (OutreachOutcome, OutreachOutcome.DECLINED.value): _l("Declined"),
})


class ProcedureStep(Labelled):
    """Where an operating procedure applies (and is shown and marked done)."""
    REGISTER_TIER = "register_tier"  # a register entry of that tier
    TRIAGE_KIND = "triage_kind"      # a triage alert of that kind
    ACTIVATION = "activation"        # an emergency activation of a partner agreement

    @property
    def subject(self) -> str:
        """The kind of record its checklist is marked on (a `load_visible` kind)."""
        return {ProcedureStep.REGISTER_TIER: "register_entry", ProcedureStep.TRIAGE_KIND: "alert",
                ProcedureStep.ACTIVATION: "activation"}[self]


LABELS.update({
    (ProcedureStep, ProcedureStep.REGISTER_TIER.value): _l("A register tier"),
    (ProcedureStep, ProcedureStep.TRIAGE_KIND.value): _l("A kind of triage alert"),
    (ProcedureStep, ProcedureStep.ACTIVATION.value): _l("An emergency activation"),
})


class GroupPlanKind(Labelled):
    BUILDING = "building"
    CARE_HOME = "care_home"
    SCHOOL_CLASS = "school_class"
    VOLUNTEER_TEAM = "volunteer_team"
    OTHER = "other"


LABELS.update({
    (GroupPlanKind, GroupPlanKind.BUILDING.value): _l("A building"),
    (GroupPlanKind, GroupPlanKind.CARE_HOME.value): _l("A care home"),
    (GroupPlanKind, GroupPlanKind.SCHOOL_CLASS.value): _l("A school class"),
    (GroupPlanKind, GroupPlanKind.VOLUNTEER_TEAM.value): _l("A volunteer team"),
    (GroupPlanKind, GroupPlanKind.OTHER.value): _l("Another place or group"),
})
