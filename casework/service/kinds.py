"""The casework records `carecycle.lifecycle.load_visible` loads for a user, and who sees each.

Every rule builds on `visible_cases` and `visible_clients` (casework.service.access): a record
hanging off a case is visible when the case is, a register entry when its client is. A record a
user may not see answers 404, exactly as a missing one."""
from __future__ import annotations

from sqlalchemy import and_, false, select

from carecycle.alerts import Alert
from carecycle.lifecycle import register_kind
from casework.models import (
    Case,
    Client,
    ClosureRequest,
    CommunityGroup,
    ContactNote,
    FollowUp,
    GroupSession,
    RegisterEntry,
    RiskAssessment,
)
from casework.service.access import note_grant_in_use, visible_cases, visible_clients
from casework.service.notes import visible_notes
from casework.service.triage import visible_alerts


def _on_visible_case(column):
    return lambda user: column.in_(select(Case.id).where(visible_cases(user)))


def _on_own_team_case(column):
    """Records of a case of the user's own team (a supervisor's approvals and acknowledgements)."""
    def clause(user):
        if user.team_id is None:
            return false()
        return column.in_(select(Case.id).where(Case.team_id == user.team_id))
    return clause


def _team_groups(user):
    return false() if user.team_id is None else CommunityGroup.team_id == user.team_id


def _team_group_sessions(user):
    if user.team_id is None:
        return false()
    return GroupSession.group_id.in_(select(CommunityGroup.id).where(CommunityGroup.team_id == user.team_id))


def register_kinds(app) -> None:
    register_kind(app, "case", Case, visible_cases, on_load=note_grant_in_use)
    register_kind(app, "client", Client, visible_clients)
    register_kind(app, "register_entry", RegisterEntry,
                  lambda user: RegisterEntry.client_id.in_(select(Client.id).where(visible_clients(user))))
    register_kind(app, "alert", Alert, visible_alerts, fresh=True)
    register_kind(app, "note", ContactNote,
                  lambda user: and_(visible_notes(user), _on_visible_case(ContactNote.case_id)(user)),
                  audit_as="contact_note")
    register_kind(app, "risk_assessment", RiskAssessment, _on_visible_case(RiskAssessment.case_id))
    register_kind(app, "assessment_to_acknowledge", RiskAssessment, _on_own_team_case(RiskAssessment.case_id),
                  audited=False)
    register_kind(app, "closure_request", ClosureRequest, _on_own_team_case(ClosureRequest.case_id), audited=False)
    register_kind(app, "follow_up", FollowUp, _on_visible_case(FollowUp.case_id), audited=False)
    register_kind(app, "community_group", CommunityGroup, _team_groups)
    register_kind(app, "group_session", GroupSession, _team_group_sessions, audited=False)
