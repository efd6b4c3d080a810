"""The one permission table (role -> permissions) and the decorator every route declares.

Deny by default: a route without a declaration is refused at request time, and a test walks
`app.url_map` so that none is ever shipped."""
from __future__ import annotations

from enum import StrEnum
from functools import wraps

from flask import abort, redirect, request, url_for
from flask_login import current_user
from werkzeug.exceptions import Forbidden as WerkzeugForbidden

from carecycle.roles import Role


class Permission(StrEnum):
    PUBLIC = "public"                      # anyone, signed in or not
    SIGNED_IN = "signed_in"                # any signed-in user: home, password, logout
    ACCOUNTS_MANAGE = "accounts_manage"    # users and teams
    ALERTS_VIEW = "alerts_view"            # open triage alerts
    BREAK_GLASS = "break_glass"            # open a record outside one's assignment, with a reason
    BREAK_GLASS_REVIEW = "break_glass_review"
    MODE_VIEW = "mode_view"                # see the operating mode
    # screening and psychoeducation
    SCREENING_HISTORY = "screening_history"  # a resident's own screenings
    ARTICLES_WRITE = "articles_write"        # draft and submit psychoeducation articles
    ARTICLES_REVIEW = "articles_review"      # review and publish them
    CRISIS_RESOURCES_EDIT = "crisis_resources_edit"
    TRANSLATIONS_VIEW = "translations_view"        # read questionnaire translation packs, in review or not
    TRANSLATIONS_IMPORT = "translations_import"    # enter a pack through the upload page
    TRANSLATIONS_APPROVE = "translations_approve"  # the second check: approve or withdraw a pack
    # casework: clients, register, triage, cases (record rules in casework.service.access)
    CLIENTS_VIEW = "clients_view"
    CLIENTS_EDIT = "clients_edit"
    REGISTER_MANAGE = "register_manage"      # vulnerable-person register and outreach
    TRIAGE_WORK = "triage_work"              # claim alerts, open crisis cases from them
    CASES_VIEW = "cases_view"
    CASES_EDIT = "cases_edit"
    CASEWORK_NOTES = "casework_notes"        # non-clinical contact notes
    CLINICAL_NOTES = "clinical_notes"        # clinical notes: never social workers
    RISK_ASSESS = "risk_assess"              # risk assessments and safety plans
    RISK_ACKNOWLEDGE = "risk_acknowledge"    # supervisor acknowledges high/imminent assessments
    CLOSURE_APPROVE = "closure_approve"
    OWN_SAFETY_PLAN = "own_safety_plan"      # a resident's own shared safety plan
    OWN_CARE_PLAN = "own_care_plan"          # a resident's own shared care-plan summary
    OWN_HOUSEHOLD_PLAN = "own_household_plan"  # a resident's own shared household emergency plan
    # referrals: partner directory, volunteer teams, outbound and inbound referrals
    DIRECTORY_VIEW = "directory_view"        # search the partner directory, export it
    DIRECTORY_EDIT = "directory_edit"        # edit organisations and services, import
    REFERRALS_MANAGE = "referrals_manage"    # refer a case to a partner service, follow it up
    REFERRAL_OVERRIDE_REVIEW = "referral_override_review"  # review consent overrides of the team
    VOLUNTEERS_VIEW = "volunteers_view"      # readiness and, in emergency mode, mobilisation lists
    VOLUNTEERS_MANAGE = "volunteers_manage"  # teams, members, trainings and certificates
    RESERVES_VIEW = "reserves_view"          # the team's reserves (service, community, household) and stock
    RESERVES_MANAGE = "reserves_manage"      # record reserve items and their stock movements
    ACTIVATIONS = "activations"              # the activation board (emergency) and after-action reviews
    PROCEDURES_VIEW = "procedures_view"      # the service's operating procedures, and marking their checklists
    PROCEDURES_WRITE = "procedures_write"    # writing, revising and archiving procedures
    RECOVERY_VIEW = "recovery_view"          # the team's community recovery plans (and one's own actions)
    RECOVERY_MANAGE = "recovery_manage"      # starting them, actions, groups, the 1/3/6-month reviews
    # supervision: caseload review, approvals, reassignment, mode, statistics, drills, audit viewer
    CASELOAD_REVIEW = "caseload_review"      # the team dashboard, its export, drill-down to a worker
    CASES_REASSIGN = "cases_reassign"        # move cases from one worker to another
    APPROVALS = "approvals"                  # the one queue of what needs a supervisor
    MODE_SWITCH = "mode_switch"              # normal <-> emergency, with a reason (after-action review)
    SURGE_VIEW = "surge_view"                # the surge view (emergency-mode work lists)
    STATS_VIEW = "stats_view"                # service statistics, charts, monthly report
    AUDIT_VIEW = "audit_view"                # the audit viewer (supervisors: their team; admins: all)
    DRILLS_VIEW = "drills_view"              # drills, readiness, one's own drill actions
    DRILLS_MANAGE = "drills_manage"          # record drills and their actions
    NOTIFICATIONS = "notifications"          # one's own in-app notifications


PUBLIC = Permission.PUBLIC

_STAFF = {Permission.SIGNED_IN, Permission.MODE_VIEW, Permission.NOTIFICATIONS, Permission.DRILLS_VIEW}
_CASE_STAFF = {Permission.CLIENTS_VIEW, Permission.CLIENTS_EDIT, Permission.REGISTER_MANAGE, Permission.CASES_VIEW,
               Permission.CASES_EDIT, Permission.CASEWORK_NOTES, Permission.RESERVES_VIEW, Permission.PROCEDURES_VIEW,
               Permission.RECOVERY_VIEW}

# What reads or acts on clients and cases: refused while an account's access waits for a supervisor
# to confirm an administrator's change (carecycle.accounts.separation).
CASE_PERMISSIONS = frozenset({
    Permission.CLIENTS_VIEW, Permission.CLIENTS_EDIT, Permission.REGISTER_MANAGE, Permission.TRIAGE_WORK,
    Permission.CASES_VIEW, Permission.CASES_EDIT, Permission.CASEWORK_NOTES, Permission.CLINICAL_NOTES,
    Permission.RISK_ASSESS, Permission.RISK_ACKNOWLEDGE, Permission.CLOSURE_APPROVE, Permission.ALERTS_VIEW,
    Permission.BREAK_GLASS, Permission.BREAK_GLASS_REVIEW, Permission.REFERRALS_MANAGE,
    Permission.REFERRAL_OVERRIDE_REVIEW, Permission.CASELOAD_REVIEW, Permission.CASES_REASSIGN,
    Permission.APPROVALS, Permission.SURGE_VIEW, Permission.AUDIT_VIEW, Permission.RESERVES_VIEW})
# RESERVES_MANAGE (stock) and ACTIVATIONS (calls to partners) read no case: a held account is refused
# them by their routes themselves, so a counsellor made a social worker gains no case access.

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.RESIDENT: frozenset({Permission.SIGNED_IN, Permission.SCREENING_HISTORY, Permission.OWN_SAFETY_PLAN,
                              Permission.OWN_CARE_PLAN, Permission.OWN_HOUSEHOLD_PLAN}),
    Role.COUNSELLOR: frozenset(_STAFF | _CASE_STAFF | {
        Permission.DIRECTORY_VIEW, Permission.REFERRALS_MANAGE, Permission.VOLUNTEERS_VIEW,
        Permission.ALERTS_VIEW, Permission.BREAK_GLASS, Permission.ARTICLES_WRITE, Permission.TRIAGE_WORK,
        Permission.CLINICAL_NOTES, Permission.RISK_ASSESS, Permission.SURGE_VIEW, Permission.TRANSLATIONS_VIEW}),
    Role.SOCIAL_WORKER: frozenset(_STAFF | _CASE_STAFF | {
        Permission.DIRECTORY_VIEW, Permission.REFERRALS_MANAGE, Permission.VOLUNTEERS_VIEW,
        Permission.ALERTS_VIEW, Permission.BREAK_GLASS, Permission.ARTICLES_WRITE, Permission.SURGE_VIEW,
        Permission.TRANSLATIONS_VIEW, Permission.RESERVES_MANAGE, Permission.ACTIVATIONS}),
    Role.SUPERVISOR: frozenset(_STAFF | _CASE_STAFF | {
        Permission.DIRECTORY_VIEW, Permission.DIRECTORY_EDIT, Permission.REFERRALS_MANAGE,
        Permission.REFERRAL_OVERRIDE_REVIEW, Permission.VOLUNTEERS_VIEW, Permission.VOLUNTEERS_MANAGE,
        Permission.ALERTS_VIEW, Permission.BREAK_GLASS_REVIEW, Permission.ARTICLES_WRITE,
        Permission.ARTICLES_REVIEW, Permission.TRIAGE_WORK, Permission.CLINICAL_NOTES, Permission.RISK_ASSESS,
        Permission.RISK_ACKNOWLEDGE, Permission.CLOSURE_APPROVE, Permission.CASELOAD_REVIEW, Permission.CASES_REASSIGN,
        Permission.APPROVALS, Permission.MODE_SWITCH, Permission.SURGE_VIEW, Permission.STATS_VIEW,
        Permission.AUDIT_VIEW, Permission.DRILLS_MANAGE, Permission.TRANSLATIONS_VIEW, Permission.TRANSLATIONS_IMPORT,
        Permission.TRANSLATIONS_APPROVE, Permission.RESERVES_MANAGE, Permission.ACTIVATIONS,
        Permission.PROCEDURES_WRITE, Permission.RECOVERY_MANAGE}),
    Role.ADMIN: frozenset(_STAFF | {Permission.ACCOUNTS_MANAGE, Permission.CRISIS_RESOURCES_EDIT,
                                    Permission.DIRECTORY_VIEW, Permission.DIRECTORY_EDIT, Permission.VOLUNTEERS_VIEW,
                                    Permission.VOLUNTEERS_MANAGE, Permission.STATS_VIEW, Permission.AUDIT_VIEW}),
}


def role_has(role: Role | str, permission: Permission) -> bool:
    if permission is Permission.PUBLIC:
        return True
    return permission in ROLE_PERMISSIONS.get(Role(role), frozenset())


def user_has(user, permission: Permission) -> bool:
    """May `user` do this now? Their role's permissions, less the case ones while their access is held."""
    if permission is Permission.PUBLIC:
        return True
    if permission in CASE_PERMISSIONS and access_held(user):
        return False
    return role_has(user.role, permission)


def access_held(user) -> bool:
    return bool(getattr(user, "access_pending", False))


def can(permission: Permission) -> bool:
    """For templates and services: may the current user do this?"""
    if permission is Permission.PUBLIC:
        return True
    return bool(current_user.is_authenticated and user_has(current_user, permission))


def requires(permission: Permission):
    """Declare and enforce the permission a route needs."""
    permission = Permission(permission)

    def decorate(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            enforce(permission)
            return view(*args, **kwargs)

        guarded.required_permission = permission
        return guarded

    return decorate


def is_api_request() -> bool:
    """A bearer-token request (JSON API or FHIR): no session cookie, no CSRF, errors as JSON."""
    return request.path.startswith(("/api/", "/fhir/"))


def enforce(permission: Permission) -> None:
    if permission is Permission.PUBLIC:
        return
    if not current_user.is_authenticated:
        if is_api_request():
            abort(401)
        from carecycle.extensions import login_manager
        abort(login_manager.unauthorized())
    if current_user.must_change_password and request.endpoint not in PASSWORD_CHANGE_ENDPOINTS:
        if is_api_request():
            abort(403)
        abort(redirect(url_for("auth.change_password")))
    if permission in CASE_PERMISSIONS and access_held(current_user) and role_has(current_user.role, permission):
        refuse_held()
    if not role_has(current_user.role, permission):
        from carecycle.audit import record_event
        record_event("permission_denied", outcome="denied", reason=f"{request.endpoint} needs {permission}")
        from carecycle.lifecycle import keep_refusal
        keep_refusal()
        abort(403)


def refuse_held() -> None:
    """403 for an account whose case access waits for a supervisor: the page (or JSON) says who must confirm."""
    from carecycle.accounts.separation import waiting_message
    from carecycle.audit import record_event
    from carecycle.lifecycle import keep_refusal
    record_event("permission_denied", outcome="denied", reason=f"{request.endpoint}: access waiting for confirmation")
    keep_refusal()
    raise AccessPending(waiting_message(current_user))


class AccessPending(WerkzeugForbidden):
    """The 403 of an account whose case access waits for a supervisor (the handler shows the message)."""

    api_code = "access_pending"

    def __init__(self, message: str):
        super().__init__(message)
        self.detail_message = message


PASSWORD_CHANGE_ENDPOINTS = {"auth.change_password", "auth.logout", "web.set_language", "static"}


def undeclared_endpoints(app) -> list[str]:
    """Endpoints whose view declares no permission (the url_map walk)."""
    missing = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        if getattr(view, "required_permission", None) is None:
            missing.append(rule.endpoint)
    return sorted(set(missing))
