"""Care plans of recovery cases: goals in eight domains, progress reviews, kept versions, and the
client-facing summary a worker can print or share with the client's resident account.

Who does what: social workers lead care plans (with supervisors): they write and change goals,
the note for the client, and share the plan. Counsellors see plans and add to them: new goals and
progress reviews, but they do not change or drop what is there. Nothing is ever deleted: a goal
that no longer fits is `dropped` with a reason.

Every saved change moves the plan's `version` with a guarded UPDATE (a stale version is a
Conflict, never a silent overwrite) and keeps the whole plan as it then was (CarePlanVersion).

Referrals are the referrals package's business: it links a referral to a goal id from its side.
Casework only exposes the goal ids (`goal_ids`) and asks the `goal_links` hooks what to show."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from carecycle.areas import hooks
from carecycle.audit import record_event
from carecycle.database import rows_changed, utcnow
from carecycle.extensions import db
from carecycle.lifecycle import Forbidden, NotFound
from carecycle.localtime import date_message
from carecycle.localtime import today as local_today  # review dates are days where the service is
from carecycle.roles import Role
from carecycle.validation import Conflict, Invalid, iso_date, refuse_unknown_fields, unknown_fields, whole_number
from casework.enums import Phase
from casework.models import CarePlan, CarePlanGoal, CarePlanReview, CarePlanVersion, Case, Client, Task
from casework.models.recovery import GoalDomain, GoalOwner, GoalStatus
from casework.service.cases import add_event
from casework.service.tasks import local_to_utc

REVIEW = "review"
TITLE_MAX, SUCCESS_MAX, REASON_MAX, OWNER_MAX, NOTE_MAX, SUMMARY_MAX = 200, 1000, 500, 200, 2000, 4000
MAX_GOALS = 40
GOAL_FIELDS = ("id", "domain", "title", "success", "target_date", "status", "drop_reason", "owner", "owner_detail")
LEAD_ROLES = (Role.SOCIAL_WORKER, Role.SUPERVISOR)


def leads(user) -> bool:
    """Social workers and supervisors lead care plans; counsellors add to them."""
    return Role(user.role) in LEAD_ROLES


# ------------------------------------------------------------------ reading
def plan_of(case: Case) -> CarePlan | None:
    return db.session.scalar(select(CarePlan).where(CarePlan.case_id == case.id))


def goals_of(plan: CarePlan | None) -> list[CarePlanGoal]:
    if plan is None:
        return []
    return list(db.session.scalars(select(CarePlanGoal).where(CarePlanGoal.plan_id == plan.id)
                                   .order_by(CarePlanGoal.position, CarePlanGoal.created_at)))


def goal_ids(case: Case) -> list[uuid.UUID]:
    """The ids of the case's goals (what a referral may be linked to)."""
    return list(db.session.scalars(select(CarePlanGoal.id).where(CarePlanGoal.case_id == case.id)
                                   .order_by(CarePlanGoal.position)))


def goal_links(case: Case, goals: list[CarePlanGoal]) -> dict:
    """{goal id as text: [(label, url), ...]} from the `goal_links` hooks (the referrals area registers
    the referrals serving each goal; casework never imports it)."""
    links: dict = {}
    for provider in hooks("goal_links"):
        for goal_id, items in (provider(case, goals) or {}).items():
            links.setdefault(str(goal_id), []).extend(items)
    return links


def versions_of(plan: CarePlan | None) -> list[CarePlanVersion]:
    if plan is None:
        return []
    return list(db.session.scalars(select(CarePlanVersion).where(CarePlanVersion.plan_id == plan.id)
                                   .order_by(CarePlanVersion.number.desc())))


def load_version(plan: CarePlan | None, number) -> CarePlanVersion | None:
    if plan is None:
        return None
    try:
        number = int(number)
    except (TypeError, ValueError):
        return None
    return db.session.scalar(select(CarePlanVersion).where(CarePlanVersion.plan_id == plan.id,
                                                           CarePlanVersion.number == number))


def reviews_of(plan: CarePlan | None) -> list[CarePlanReview]:
    if plan is None:
        return []
    return list(db.session.scalars(select(CarePlanReview).where(CarePlanReview.plan_id == plan.id)
                                   .order_by(CarePlanReview.reviewed_on.desc(), CarePlanReview.created_at.desc())))


def next_review(case: Case) -> Task | None:
    return db.session.scalar(select(Task).where(Task.case_id == case.id, Task.kind == REVIEW,
                                                Task.done_at.is_(None)).order_by(Task.due_at).limit(1))


def goal_json(goal: CarePlanGoal) -> dict:
    return {"id": str(goal.id), "domain": goal.domain, "title": goal.title, "success": goal.success,
            "target_date": goal.target_date.isoformat() if goal.target_date else None, "status": goal.status,
            "drop_reason": goal.drop_reason, "owner": goal.owner, "owner_detail": goal.owner_detail}


def plan_content(plan: CarePlan, goals: list[CarePlanGoal]) -> dict:
    return {"client_note": plan.client_note, "goals": [goal_json(g) for g in goals]}


def status_counts(goals: list[CarePlanGoal]) -> dict[str, int]:
    counts = {s.value: 0 for s in GoalStatus}
    for goal in goals:
        counts[goal.status] = counts.get(goal.status, 0) + 1
    return counts


# ------------------------------------------------------------------ checks
def require_open(case: Case, current_version: int | None = None) -> None:
    """A closed case is read-only except for follow-ups and note addenda (Conflict)."""
    if case.phase == Phase.CLOSED.value:
        raise Conflict(_("This case is closed. Only follow-ups and addenda can be added to a closed case."),
                       current_version=current_version)


def require_recovery(case: Case) -> None:
    """The care plan is written while the case is in recovery (Conflict otherwise)."""
    require_open(case)
    if case.phase != Phase.RECOVERY.value:
        raise Conflict(_("The care plan is written while the case is in recovery. Move the case to recovery "
                         "first."))


def _version(value) -> int:
    version = whole_number(value)
    if version is None:
        raise Invalid({"version": _("Send the version of the plan you edited (0 for a new plan).")})
    return version


def _text(value, field: str, limit: int, errors: dict, required: bool = False) -> str | None:
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors[field] = _("Write this as text.")
        return None
    value = "\n".join(line.rstrip() for line in value.replace("\r\n", "\n").strip().split("\n"))
    if required and not value:
        errors[field] = _("This is needed.")
    elif len(value) > limit:
        errors[field] = _("Use at most %(n)d characters.", n=limit)
    return value or None


def parse_day(value, field: str, errors: dict) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return iso_date(str(value).strip())
    except ValueError:
        errors[field] = date_message()
        return None


def _choice(enum, value, field: str, errors: dict, default=None):
    if value in (None, "") and default is not None:
        return default.value
    try:
        return enum(value).value
    except ValueError:
        errors[field] = _("Choose one of: %(options)s.", options=", ".join(m.value for m in enum))
        return None


def clean_goals(raw, existing: dict) -> list[dict]:
    """Validate the goals of a whole-plan save; each keeps its `id` when it is an existing goal."""
    if not isinstance(raw, list):
        raise Invalid({"goals": _("Send the goals as a list.")})
    if len(raw) > MAX_GOALS:
        raise Invalid({"goals": _("A plan holds at most %(n)d goals.", n=MAX_GOALS)})
    errors: dict = {}
    clean, seen = [], set()
    for index, item in enumerate(raw):
        at = f"goals[{index}]"
        if not isinstance(item, dict):
            errors[at] = _("Each goal is an object.")
            continue
        errors.update(unknown_fields(item, GOAL_FIELDS, prefix=f"{at}."))
        goal_id = None
        if item.get("id") not in (None, ""):
            try:
                goal_id = uuid.UUID(str(item["id"]))
            except ValueError:
                goal_id = None
            if goal_id not in existing or goal_id in seen:
                errors[f"{at}.id"] = _("No such goal in this plan (leave the id out for a new goal).")
                continue
            seen.add(goal_id)
        goal = {"id": goal_id,
                "domain": _choice(GoalDomain, item.get("domain"), f"{at}.domain", errors),
                "title": _text(item.get("title"), f"{at}.title", TITLE_MAX, errors, required=True),
                "success": _text(item.get("success"), f"{at}.success", SUCCESS_MAX, errors),
                "target_date": parse_day(item.get("target_date"), f"{at}.target_date", errors),
                "status": _choice(GoalStatus, item.get("status"), f"{at}.status", errors, GoalStatus.NOT_STARTED),
                "drop_reason": _text(item.get("drop_reason"), f"{at}.drop_reason", REASON_MAX, errors),
                "owner": _choice(GoalOwner, item.get("owner"), f"{at}.owner", errors, GoalOwner.WORKER),
                "owner_detail": _text(item.get("owner_detail"), f"{at}.owner_detail", OWNER_MAX, errors)}
        if goal["status"] == GoalStatus.DROPPED.value and not goal["drop_reason"]:
            errors[f"{at}.drop_reason"] = _("Say why the goal is dropped.")
        if goal["status"] != GoalStatus.DROPPED.value:
            goal["drop_reason"] = None
        if goal["owner"] == GoalOwner.PARTNER.value and not goal["owner_detail"]:
            errors[f"{at}.owner_detail"] = _("Name the partner organisation that owns this goal.")
        clean.append(goal)
    missing = [gid for gid in existing if gid not in seen]
    if missing and not errors:
        errors["goals"] = _("Goals are never removed from a plan: keep every goal and set the status of one that "
                            "no longer fits to dropped, with a reason.")
    if errors:
        raise Invalid(errors, _("Some goals are not valid."))
    return clean


def _differs(goal: CarePlanGoal, data: dict) -> bool:
    return any(getattr(goal, name) != data[name] for name in GOAL_FIELDS if name != "id")


# ------------------------------------------------------------------ saving
def _bump(plan: CarePlan, version: int, user) -> None:
    """Move the version with a guarded UPDATE (only one of two writers at once gets through) and keep
    the plan as it now is."""
    now = utcnow()
    moved = rows_changed(db.session.execute(update(CarePlan).where(CarePlan.id == plan.id, CarePlan.version == version)
                               .values(version=version + 1, updated_at=now, updated_by_id=user.id)
                               .execution_options(synchronize_session=False)))
    if moved != 1:
        raise Conflict(_("Someone else changed this care plan since you opened it."), current_version=None)
    plan.version, plan.updated_at, plan.updated_by_id = version + 1, now, user.id


def _keep_version(plan: CarePlan, user, cause: str) -> CarePlanVersion:
    db.session.flush()
    kept = CarePlanVersion(plan_id=plan.id, number=plan.version, saved_by_id=user.id, saved_at=utcnow(),
                           cause=cause)
    kept.content = plan_content(plan, goals_of(plan))
    db.session.add(kept)
    db.session.flush()
    return kept


def save_plan(user, case: Case, version, data: dict) -> CarePlan:
    """Save the whole plan: `client_note` and `goals` (existing goals carry their `id`). `version` is
    the plan's version the editor started from (0 for a new plan)."""
    require_recovery(case)
    version = _version(version)
    if not isinstance(data, dict):
        raise Invalid({"plan": _("Send the plan as an object.")})
    refuse_unknown_fields(data, {"client_note", "goals", "version"})
    plan = plan_of(case)
    current_version = plan.version if plan else 0
    if version != current_version:
        raise Conflict(_("Someone else changed this care plan since you opened it."), current_version=current_version)
    existing = {g.id: g for g in goals_of(plan)}
    goals = clean_goals(data.get("goals", [goal_json(g) for g in existing.values()]), existing)
    errors: dict = {}
    note = _text(data.get("client_note"), "client_note", NOTE_MAX, errors) if "client_note" in data \
        else (plan.client_note if plan else None)
    if errors:
        raise Invalid(errors)
    note_changed = note != (plan.client_note if plan else None)
    changed_goals = [g for g in goals if g["id"] is not None and _differs(existing[g["id"]], g)]
    new_goals = [g for g in goals if g["id"] is None]
    moved = [g["id"] for g in goals if g["id"] is not None] != list(existing)
    if not leads(user) and (note_changed or changed_goals or moved):
        raise Forbidden(_("Social workers lead care plans: counsellors add goals and reviews, but do not change "
                          "what is there."), "care_plan", plan.id if plan else None, reason="care plan edit")
    if plan is not None and not (note_changed or changed_goals or new_goals or moved):
        return plan  # nothing to save
    now = utcnow()
    created = plan is None
    if plan is None:
        plan = CarePlan(case_id=case.id, created_by_id=user.id, created_at=now, updated_at=now,
                        updated_by_id=user.id, version=1)
        try:
            with db.session.begin_nested():  # two first saves at once: the unique case_id lets one through
                db.session.add(plan)
        except IntegrityError:
            raise Conflict(_("Someone else started this care plan at the same moment; open it again."),
                           current_version=0) from None
    else:
        _bump(plan, version, user)
    plan.client_note = note
    for position, data_goal in enumerate(goals):
        if data_goal["id"] is None:
            goal = CarePlanGoal(plan_id=plan.id, case_id=case.id, created_by_id=user.id, created_at=now)
            db.session.add(goal)
        else:
            goal = existing[data_goal["id"]]
        _apply_goal(goal, data_goal, now)
        goal.position = position
    kept = _keep_version(plan, user, "created" if created else "edited")
    add_event(case, "care_plan_created" if created else "care_plan_saved", user,
              _("version %(n)d", n=kept.number))
    record_event("create" if created else "update", "care_plan", plan.id, reason=f"version {kept.number}")
    return plan


def _apply_goal(goal: CarePlanGoal, data: dict, now: datetime) -> None:
    status_before = goal.status
    goal.domain, goal.title, goal.success = data["domain"], data["title"], data["success"]
    goal.target_date, goal.owner, goal.owner_detail = data["target_date"], data["owner"], data["owner_detail"]
    goal.status, goal.drop_reason = data["status"], data["drop_reason"]
    if status_before != goal.status:
        goal.status_changed_at = now
    goal.updated_at = now


def add_goal(user, case: Case, version, goal: dict) -> CarePlan:
    """A page's "add a goal": the plan as it is, with one goal more."""
    plan = plan_of(case)
    goals = [goal_json(g) for g in goals_of(plan)] + [goal]
    return save_plan(user, case, version, {"goals": goals})


def update_goal(user, case: Case, version, goal_id, changes: dict) -> CarePlan:
    plan = plan_of(case)
    goals = [goal_json(g) for g in goals_of(plan)]
    target = str(goal_id)
    if not any(g["id"] == target for g in goals):
        raise NotFound("goal")
    goals = [{**g, **changes} if g["id"] == target else g for g in goals]
    return save_plan(user, case, version, {"goals": goals})


def set_client_note(user, case: Case, version, note: str | None) -> CarePlan:
    return save_plan(user, case, version, {"client_note": note or ""})


# ------------------------------------------------------------------ reviews
def _new_review_task(user, case: Case, day: date, now: datetime) -> Task:
    """The next review, due 09:00 in the page's zone on `day`, for the case's social worker."""
    task = Task(case_id=case.id, kind=REVIEW, due_at=local_to_utc(day.isoformat(), None), created_at=now,
                assigned_to_id=case.assigned_social_worker_id or user.id)
    db.session.add(task)
    db.session.flush()
    record_event("create", "task", task.id, reason=REVIEW)
    return task


def record_review(user, case: Case, version, *, reviewed_on, summary, changes: dict | None = None,
                  next_review_on=None) -> CarePlanReview:
    """A progress review: its date and summary, goal status changes (`{goal id: {"status", "reason"}}`)
    and the next review date, which becomes a task (the open review task is done)."""
    require_recovery(case)
    version = _version(version)
    plan = plan_of(case)
    if plan is None:
        raise Conflict(_("Write the care plan before reviewing it."), current_version=0)
    if version != plan.version:
        raise Conflict(_("Someone else changed this care plan since you opened it."), current_version=plan.version)
    errors: dict = {}
    day = parse_day(reviewed_on, "reviewed_on", errors)
    today = local_today()
    if day is None and "reviewed_on" not in errors:
        errors["reviewed_on"] = _("Give the date of the review.")
    elif day is not None and day > today:
        errors["reviewed_on"] = _("The review date cannot be in the future.")
    elif day is not None and day < today - timedelta(days=366):
        errors["reviewed_on"] = _("Record reviews of the last twelve months only.")
    text = _text(summary, "summary", SUMMARY_MAX, errors, required=True)
    if text and len(text) < 10 and "summary" not in errors:
        errors["summary"] = _("Write a short summary of the review (at least 10 characters).")
    next_day = parse_day(next_review_on, "next_review_on", errors)
    if next_day is not None and (next_day <= today or next_day > today + timedelta(days=366)):
        errors["next_review_on"] = _("Choose a date after today and within a year.")
    goals = {str(g.id): g for g in goals_of(plan)}
    status_changes = []
    for goal_id, change in (changes or {}).items():
        goal = goals.get(str(goal_id))
        field = f"goal-{goal_id}"
        if goal is None:
            errors[field] = _("No such goal in this plan.")
            continue
        change = change if isinstance(change, dict) else {"status": change}
        status = _choice(GoalStatus, change.get("status") or goal.status, f"{field}-status", errors)
        reason = _text(change.get("reason"), f"{field}-reason", REASON_MAX, errors)
        if status is None or status == goal.status:
            continue
        if status == GoalStatus.DROPPED.value and not reason:
            errors[f"{field}-reason"] = _("Say why the goal is dropped.")
        status_changes.append((goal, status, reason))
    if errors:
        raise Invalid(errors)
    if status_changes and not leads(user):
        raise Forbidden(_("Social workers lead care plans: a counsellor's review cannot change goal statuses."),
                        "care_plan", plan.id, reason="care plan review status")
    now = utcnow()
    _bump(plan, version, user)
    recorded = []
    for goal, status, reason in status_changes:
        recorded.append({"goal_id": str(goal.id), "from": goal.status, "to": status, "reason": reason})
        goal.status, goal.status_changed_at, goal.updated_at = status, now, now
        goal.drop_reason = reason if status == GoalStatus.DROPPED.value else None
    close_review_tasks(user, case, now)
    task = _new_review_task(user, case, next_day, now) if next_day is not None else None
    review = CarePlanReview(plan_id=plan.id, case_id=case.id, reviewed_on=day, by_id=user.id, created_at=now,
                            next_review_on=next_day, task_id=task.id if task else None, plan_version=plan.version)
    review.summary = text
    review.changes = recorded or None
    db.session.add(review)
    _keep_version(plan, user, "review")
    add_event(case, "care_plan_reviewed", user, _("%(n)d goal status change(s)", n=len(recorded)))
    record_event("create", "care_plan_review", review.id)
    return review


def schedule_review(user, case: Case, day) -> Task:
    """Set the first (or next) review date without a review: the open review task moves."""
    require_recovery(case)
    errors: dict = {}
    parsed = parse_day(day, "next_review_on", errors)
    today = local_today()
    if parsed is None and not errors:
        errors["next_review_on"] = _("Give the date of the next review.")
    elif parsed is not None and (parsed <= today or parsed > today + timedelta(days=366)):
        errors["next_review_on"] = _("Choose a date after today and within a year.")
    if errors or parsed is None:
        raise Invalid(errors)
    task = next_review(case)
    if task is None:
        task = _new_review_task(user, case, parsed, utcnow())
    else:
        task.due_at = local_to_utc(parsed.isoformat(), None)
        record_event("update", "task", task.id, reason=REVIEW)
    add_event(case, "care_plan_review_scheduled", user, parsed.isoformat())
    return task


def close_review_tasks(user, case: Case, now: datetime | None = None) -> int:
    """The open review tasks are done (a review was recorded, or the case closes)."""
    now = now or utcnow()
    count = 0
    for task in db.session.scalars(select(Task).where(Task.case_id == case.id, Task.kind == REVIEW,
                                                      Task.done_at.is_(None))):
        task.done_at, task.done_by_id = now, user.id if user else None
        count += 1
    return count


# ------------------------------------------------------------------ the client's summary and sharing
def client_summary(plan: CarePlan | None, case: Case) -> dict:
    """What the client reads: the goals in plain words, who is doing what, the next review, and the
    note written for them. No review summaries, no notes, no screening results."""
    goals = goals_of(plan)
    review = next_review(case)
    return {
        "note": plan.client_note if plan else None,
        "working_on": [g for g in goals if g.open],
        "achieved": [g for g in goals if g.status == GoalStatus.ACHIEVED.value],
        "set_aside": [g for g in goals if g.status == GoalStatus.DROPPED.value],
        "next_review": review.due_at if review else None,
        "worker": case.social_worker or case.counsellor,
        "updated_at": plan.updated_at if plan else None,
    }


def share(user, case: Case) -> CarePlan:
    if not leads(user):
        raise Forbidden(_("The social worker leading the plan shares it with the client."), "case", case.id,
                        reason="care plan share")
    require_open(case)
    plan = plan_of(case)
    if plan is None or not goals_of(plan):
        raise Invalid({"share": _("Write the care plan before sharing it.")})
    if case.client.resident_user_id is None:
        raise Invalid({"share": _("The client has no linked account yet. Give them a link code from the care-plan "
                                  "page first.")})
    if plan.shared:
        return plan
    plan.shared_at, plan.shared_by_id, plan.share_ended_at = utcnow(), user.id, None
    db.session.flush()
    add_event(case, "care_plan_shared", user)
    record_event("share", "care_plan", plan.id)
    return plan


def stop_sharing(user, case: Case) -> CarePlan | None:
    if not leads(user):
        raise Forbidden(_("The social worker leading the plan shares it with the client."), "case", case.id,
                        reason="care plan unshare")
    plan = plan_of(case)
    if plan is None or not plan.shared:
        return plan
    plan.share_ended_at = utcnow()
    db.session.flush()
    add_event(case, "care_plan_unshared", user)
    record_event("unshare", "care_plan", plan.id)
    return plan


def shared_plan_for(resident) -> CarePlan | None:
    """The plan shared with this resident (through the client their account is linked to), or None."""
    return db.session.scalar(select(CarePlan).join(Case, Case.id == CarePlan.case_id)
                             .join(Client, Client.id == Case.client_id)
                             .where(Client.resident_user_id == resident.id, CarePlan.shared_at.is_not(None),
                                    CarePlan.share_ended_at.is_(None))
                             .order_by(CarePlan.shared_at.desc()).limit(1))
