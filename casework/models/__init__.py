"""Casework tables, one module per topic."""
from casework.models.assessments import RiskAssessment  # noqa: F401
from casework.models.cases import Case, CaseEvent, CaseRiskChange, ClosureRequest, Task  # noqa: F401
from casework.models.clients import Client, Consent  # noqa: F401
from casework.models.groupplans import GroupPlan, GroupPlanMember  # noqa: F401
from casework.models.household import HouseholdPlanVersion  # noqa: F401
from casework.models.notes import ContactNote  # noqa: F401
from casework.models.procedures import ChecklistMark, Procedure, ProcedureVersion  # noqa: F401
from casework.models.recovery import (  # noqa: F401
    CarePlan,
    CarePlanGoal,
    CarePlanReview,
    CarePlanVersion,
    CaseScreening,
    CommunityGroup,
    FollowUp,
    GroupAttendance,
    GroupMember,
    GroupSession,
    RescreenSchedule,
)
from casework.models.register import RegisterChange, RegisterEntry, RegisterOutreach  # noqa: F401
from casework.models.safety import ResidentLinkCode, SafetyPlanVersion  # noqa: F401
