"""Safety plans and resident links.

A case's plan is a series of versions. The one unsigned version (the draft) is edited in place;
a counsellor signs it, which freezes it; the next change starts a new version. The counsellor
can share the current signed version with the client's resident account, which the client
links once with a one-time code (random, shown once, stored as a keyed hash, valid 7 days) that the
case's counsellor or social worker, or the team's supervisor, gives them.
The resident then reads only that shared version at /my/safety-plan. Every share, every link
and every resident view is audited."""
from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import timedelta

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from carecycle import ratelimit
from carecycle.accounts.models import User
from carecycle.audit import record_event
from carecycle.crypto import blind_index
from carecycle.database import rows_changed, utcnow
from carecycle.extensions import db
from carecycle.lifecycle import Forbidden, NotFound
from carecycle.notifications import notify
from carecycle.permissions import Permission, role_has
from carecycle.roles import Role
from carecycle.validation import Conflict, Invalid
from casework.enums import Phase
from casework.models import Case, Client, ResidentLinkCode, SafetyPlanVersion
from casework.models.safety import REQUIRED_TO_SIGN, SECTION_CODES, SECTIONS
from casework.service.cases import add_event

MAX_SECTION = 4000
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: easy to read out on the phone
CODE_LENGTH = 12
CODE_LIFETIME = timedelta(days=7)
CODE_ATTEMPTS_PER_ACCOUNT = (5, timedelta(minutes=15))
CODE_ATTEMPTS_PER_ADDRESS = (20, timedelta(minutes=15))


class RateLimited(Exception):
    """Too many code attempts from this account or address."""


# ------------------------------------------------------------------ reading
def versions(case: Case) -> Sequence[SafetyPlanVersion]:
    return db.session.scalars(select(SafetyPlanVersion).where(SafetyPlanVersion.case_id == case.id)
                              .order_by(SafetyPlanVersion.number.desc())).all()


def current_signed(case: Case) -> SafetyPlanVersion | None:
    return db.session.scalar(select(SafetyPlanVersion).where(
        SafetyPlanVersion.case_id == case.id, SafetyPlanVersion.signed_at.is_not(None))
        .order_by(SafetyPlanVersion.number.desc()).limit(1))


def draft_of(case: Case) -> SafetyPlanVersion | None:
    return db.session.scalar(select(SafetyPlanVersion).where(
        SafetyPlanVersion.case_id == case.id, SafetyPlanVersion.signed_at.is_(None)))


def has_signed_plan(case: Case) -> bool:
    return db.session.scalar(select(SafetyPlanVersion.id).where(
        SafetyPlanVersion.case_id == case.id, SafetyPlanVersion.signed_at.is_not(None)).limit(1)) is not None


def load_version(case: Case, number, user) -> SafetyPlanVersion:
    """A version of the case's plan; a draft only for those who write plans. Otherwise 404."""
    try:
        number = int(number)
    except (TypeError, ValueError):
        raise NotFound("safety plan version") from None
    found = db.session.scalar(select(SafetyPlanVersion).where(SafetyPlanVersion.case_id == case.id,
                                                              SafetyPlanVersion.number == number))
    if found is None or (not found.signed and not role_has(user.role, Permission.RISK_ASSESS)):
        raise NotFound("safety plan version")
    record_event("view", "safety_plan", found.id)
    return found


def _shared_with_client(client_id):
    """The versions now shared with the client's resident account, over all the client's cases."""
    return db.session.scalars(select(SafetyPlanVersion).join(Case, Case.id == SafetyPlanVersion.case_id).where(
        Case.client_id == client_id, SafetyPlanVersion.shared_at.is_not(None),
        SafetyPlanVersion.share_ended_at.is_(None))).all()


def shared_with(case: Case) -> SafetyPlanVersion | None:
    return db.session.scalar(select(SafetyPlanVersion).where(
        SafetyPlanVersion.case_id == case.id, SafetyPlanVersion.shared_at.is_not(None),
        SafetyPlanVersion.share_ended_at.is_(None)).limit(1))


# ------------------------------------------------------------------ writing
def _may_write(user, case: Case, reason: str) -> None:
    if not role_has(user.role, Permission.RISK_ASSESS):
        raise Forbidden(_("Only counsellors and supervisors write safety plans."), "case", case.id, reason=reason)
    if case.phase == Phase.CLOSED.value:
        raise Conflict(_("This case is closed; reopen it first."), current_version=case.version)


def _clean(content: dict) -> dict:
    if not isinstance(content, dict):
        raise Invalid({"plan": _("Send the plan's sections.")})
    errors, clean = {}, {}
    for code in SECTION_CODES:
        value = content.get(code) or ""
        if not isinstance(value, str):
            errors[code] = _("Write this section as text.")
            continue
        value = "\n".join(line.rstrip() for line in value.replace("\r\n", "\n").strip().split("\n"))
        if len(value) > MAX_SECTION:
            errors[code] = _("Keep each section under %(n)d characters.", n=MAX_SECTION)
        clean[code] = value
    if not errors and not any(clean.values()):
        errors[SECTION_CODES[0]] = _("Write at least one section before saving.")
    if errors:
        raise Invalid(errors)
    return clean


def start_draft_content(case: Case) -> dict:
    """What a new draft starts from: the current signed version, or nothing."""
    signed = current_signed(case)
    return dict(signed.content or {}) if signed else {code: "" for code in SECTION_CODES}


def save_draft(user, case: Case, content: dict, version=None) -> SafetyPlanVersion:
    """Save the draft (creating the next version when there is none). `version` is the draft's row
    version the editor started from (0 when they started a new draft); a stale one is a Conflict."""
    _may_write(user, case, "safety plan edit")
    clean = _clean(content)
    try:
        version = int(version) if version not in (None, "") else None
    except (TypeError, ValueError, OverflowError):  # 1e400 is infinity
        raise Invalid({"version": _("Send the version you edited.")}) from None
    draft = draft_of(case)
    now = utcnow()
    if draft is not None:
        if version is not None and version != draft.version:
            raise Conflict(_("Someone else changed this draft since you opened it."), current_version=draft.version)
        draft.content = clean
        draft.updated_by_id, draft.updated_at = user.id, now
        db.session.flush()
        record_event("update", "safety_plan", draft.id)
        return draft
    if version not in (None, 0):
        raise Conflict(_("The draft you edited was signed meanwhile; open the plan again."), current_version=0)
    number = (db.session.scalar(select(func.max(SafetyPlanVersion.number))
                                .where(SafetyPlanVersion.case_id == case.id)) or 0) + 1
    draft = SafetyPlanVersion(case_id=case.id, number=number, created_by_id=user.id, created_at=now,
                              updated_by_id=user.id, updated_at=now)
    draft.content = clean
    try:
        # two new drafts at once: the unique (case, number) and the one-draft index let one through
        with db.session.begin_nested():
            db.session.add(draft)
    except IntegrityError:
        raise Conflict(_("Someone else started a new version at the same moment; open the plan again."),
                       current_version=0) from None
    record_event("create", "safety_plan", draft.id)
    return draft


def may_sign(user) -> bool:
    """Only a counsellor signs a safety plan (a supervisor writes drafts but does not sign)."""
    return Role(user.role) is Role.COUNSELLOR


def sign(user, case: Case, plan: SafetyPlanVersion, version=None) -> SafetyPlanVersion:
    """A counsellor signs the draft; it is frozen from then on."""
    if not may_sign(user):
        raise Forbidden(_("Only a counsellor signs a safety plan."), "safety_plan", plan.id, reason="sign safety plan")
    _may_write(user, case, "safety plan sign")
    if plan.signed:
        raise Conflict(_("This version is already signed."), current_version=plan.version)
    if version not in (None, "") and str(version) != str(plan.version):
        raise Conflict(_("Someone else changed this draft since you opened it."), current_version=plan.version)
    missing = {code: _("This section is needed before the plan can be signed.")
               for code in REQUIRED_TO_SIGN if not plan.section(code).strip()}
    if missing:
        raise Invalid(missing)
    plan.signed_at = utcnow()
    plan.signed_by_id = user.id
    db.session.flush()
    add_event(case, "safety_plan_signed", user)
    record_event("sign", "safety_plan", plan.id)
    return plan


def share_current(user, case: Case) -> SafetyPlanVersion:
    """Share the current signed version with the client's linked resident account (it replaces any
    plan shared before with that client)."""
    _may_write(user, case, "safety plan share")
    if case.client.resident_user_id is None:
        raise Invalid({"share": _("The client has no linked resident account yet: give them a link code first.")})
    plan = current_signed(case)
    if plan is None:
        raise Invalid({"share": _("There is no signed version to share yet.")})
    if plan.shared:
        return plan
    now = utcnow()
    for old in _shared_with_client(case.client_id):
        old.share_ended_at = now
    plan.shared_at, plan.shared_by_id, plan.share_ended_at = now, user.id, None
    db.session.flush()
    add_event(case, "safety_plan_shared", user)
    record_event("share", "safety_plan", plan.id)
    return plan


def stop_sharing(user, case: Case) -> SafetyPlanVersion | None:
    if not role_has(user.role, Permission.RISK_ASSESS):
        raise Forbidden(_("Only counsellors and supervisors share safety plans."), "case", case.id,
                        reason="safety plan unshare")
    plan = shared_with(case)
    if plan is None:
        return None
    plan.share_ended_at = utcnow()
    db.session.flush()
    add_event(case, "safety_plan_unshared", user)
    record_event("unshare", "safety_plan", plan.id)
    return plan


# ------------------------------------------------------------------ resident link codes
def normalise_code(value: str) -> str:
    return "".join(ch for ch in str(value or "").upper() if ch.isalnum())


def _code_index(code: str) -> str:
    return blind_index("resident_link_code.code", normalise_code(code), normalise=lambda v: v) or ""


def format_code(code: str) -> str:
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def may_give_link_code(user, case: Case) -> bool:
    """The case's assigned counsellor or social worker, or a supervisor of the case's team, gives the
    client a link code (from the safety-plan or the care-plan page); a break-glass reader does not."""
    if Role(user.role) is Role.SUPERVISOR:
        return user.team_id is not None and case.team_id == user.team_id
    return case.assigned_to(user)


def issue_link_code(user, case: Case) -> tuple[ResidentLinkCode, str]:
    """A new one-time code for the case's client; earlier unused codes stop working. The plain code
    is returned once, for the worker to give to the client; only its keyed hash is stored."""
    if not may_give_link_code(user, case):
        raise Forbidden(_("Only the case's counsellor or social worker, or their supervisor, gives the client a "
                          "link code."), "case", case.id, reason="resident link code")
    if case.phase == Phase.CLOSED.value:
        raise Conflict(_("This case is closed; reopen it first."), current_version=case.version)
    now = utcnow()
    db.session.execute(update(ResidentLinkCode).where(
        ResidentLinkCode.client_id == case.client_id, ResidentLinkCode.used_at.is_(None),
        ResidentLinkCode.revoked_at.is_(None)).values(revoked_at=now))
    code = "".join(secrets.choice(CODE_ALPHABET) for _i in range(CODE_LENGTH))
    row = ResidentLinkCode(client_id=case.client_id, code_index=_code_index(code), created_by_id=user.id,
                           created_at=now, expires_at=now + CODE_LIFETIME)
    db.session.add(row)
    db.session.flush()
    add_event(case, "resident_code_issued", user)
    record_event("create", "resident_link_code", row.id)
    return row, format_code(code)


def redeem_link_code(resident, code: str, address: str | None) -> Client:
    """Link the signed-in resident's account to the client the code was made for.

    A wrong, expired, revoked or used code gets the same answer. An account already linked to
    another client is refused (one account, one client) and the code is revoked. Attempts are counted per account
    and per address (RateLimited); the caller commits in every case, so the count and the audit
    of a refused attempt are kept."""
    limit, window = CODE_ATTEMPTS_PER_ACCOUNT
    if not ratelimit.allow("resident_link", f"user:{resident.id}", limit, window):
        raise RateLimited()
    limit, window = CODE_ATTEMPTS_PER_ADDRESS
    if address and not ratelimit.allow("resident_link_address", address, limit, window):
        raise RateLimited()
    normalised = normalise_code(code)
    row = None
    if len(normalised) == CODE_LENGTH:
        row = db.session.scalar(select(ResidentLinkCode).where(ResidentLinkCode.code_index == _code_index(normalised)))
    now = utcnow()
    claimed = 0
    if row is not None and row.usable:
        # the account's row is locked, so two codes entered at once by one account are taken in turn
        db.session.execute(select(User.id).where(User.id == resident.id).with_for_update())
        linked = linked_client_id(resident)
        if linked is not None and linked != row.client_id:
            _refuse_for_another_client(resident, row, now)
        # only one redemption of a code can win, even at the same moment
        claimed = rows_changed(db.session.execute(update(ResidentLinkCode).where(
            ResidentLinkCode.id == row.id, ResidentLinkCode.used_at.is_(None), ResidentLinkCode.revoked_at.is_(None),
            ResidentLinkCode.expires_at > now).values(used_at=now, used_by_id=resident.id)))
    if claimed != 1:
        record_event("link_resident", "resident_link_code", row.id if row else None, outcome="denied",
                     reason="code not valid")
        raise Invalid({"code": _("This code is not valid. It may be mistyped, expired or already used. "
                                 "Ask your worker for a new one.")})
    client = db.session.get(Client, row.client_id) if row is not None else None
    if client is None:
        raise NotFound("client")
    client.resident_user_id = resident.id
    db.session.flush()
    for case in db.session.scalars(select(Case).where(Case.client_id == client.id, Case.phase != Phase.CLOSED.value)):
        add_event(case, "resident_linked", resident)
    record_event("link_resident", "client", client.id)
    return client


def _refuse_for_another_client(resident, row: ResidentLinkCode, now) -> None:
    """A resident account links to one client only: a code made for another client is refused and
    revoked (it was seen by an account that is not that client's), the worker who gave it is told,
    the client's open cases say so on their timeline, and both sides are audited. Raises Invalid."""
    revoked = rows_changed(db.session.execute(update(ResidentLinkCode).where(
        ResidentLinkCode.id == row.id, ResidentLinkCode.used_at.is_(None),
        ResidentLinkCode.revoked_at.is_(None)).values(revoked_at=now)))
    record_event("link_resident", "resident_link_code", row.id, outcome="denied",
                 reason="account already linked to another client")
    if revoked == 1:
        open_cases = list(db.session.scalars(select(Case).where(
            Case.client_id == row.client_id, Case.phase != Phase.CLOSED.value).order_by(Case.opened_at.desc())))
        for case in open_cases:
            add_event(case, "resident_code_refused", resident)
        link = (url_for("casework.case_detail", case_id=open_cases[0].id) if open_cases
                else url_for("casework.client_detail", client_id=row.client_id))
        notify(row.created_by_id, "link_code_refused", link, object_type="resident_link_code", object_id=row.id)
        record_event("refuse", "resident_link_code", row.id, reason="entered in an account linked to another "
                     "client; code revoked, worker told")
    raise Invalid({"code": _("This account is already linked to another person's record, and an account can be "
                             "linked to one person only. The code was not used and no longer works; the worker "
                             "who gave it has been told. If the code is for someone else, they need their own "
                             "account and a new code from their worker.")})


def unlink_resident(user, case: Case) -> None:
    """The client's resident account no longer sees anything; shared plans stop being shared."""
    if not role_has(user.role, Permission.RISK_ASSESS):
        raise Forbidden(_("Only counsellors and supervisors manage the resident link."), "case", case.id,
                        reason="resident unlink")
    client = case.client
    if client.resident_user_id is None:
        return
    now = utcnow()
    for plan in _shared_with_client(client.id):
        plan.share_ended_at = now
        record_event("unshare", "safety_plan", plan.id)
    from casework.service import household  # the household plan shared with the same account
    household.stop_sharing(user, client)
    client.resident_user_id = None
    db.session.flush()
    add_event(case, "resident_unlinked", user)
    record_event("unlink_resident", "client", client.id)


# ------------------------------------------------------------------ the resident's view
def linked_client_id(resident):
    """The id of the one client this resident account is linked to, or None."""
    return db.session.scalar(select(Client.id).where(Client.resident_user_id == resident.id).limit(1))


def resident_linked(resident) -> bool:
    return linked_client_id(resident) is not None


def shared_plan_for(resident) -> SafetyPlanVersion | None:
    """The one signed version shared with this resident (the most recently shared), or None."""
    return db.session.scalar(select(SafetyPlanVersion).join(Case, Case.id == SafetyPlanVersion.case_id)
                             .join(Client, Client.id == Case.client_id).where(
        Client.resident_user_id == resident.id, SafetyPlanVersion.signed_at.is_not(None),
        SafetyPlanVersion.shared_at.is_not(None), SafetyPlanVersion.share_ended_at.is_(None))
        .order_by(SafetyPlanVersion.shared_at.desc()).limit(1))


__all__ = ["SECTIONS", "RateLimited"]
