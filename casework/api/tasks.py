"""Tasks and follow-ups API: the same service functions and rules as the task and follow-up pages.

A case's tasks (open ones by due time, the few recently done), the caller's own overdue or
due-later-today tasks ("My day"), scheduling the next contact, marking a task done; a closed case's
1-, 3- and 6-month follow-ups and recording one. Invisible case, task or follow-up -> 404, invalid
-> 422 with fields, a task already done, a follow-up already recorded or a case in the wrong phase
-> 409."""
from __future__ import annotations

from typing import Literal

from flask import request
from flask_login import current_user
from pydantic import Field

from carecycle.api import ApiError, json_body, refuse_unknown
from carecycle.lifecycle import load_visible
from carecycle.openapi import Closed, Empty, Open, Paging, body_fields, described
from carecycle.permissions import Permission, requires
from carecycle.validation import Invalid
from casework.api import api
from casework.api.common import iso, page_args
from casework.models import FollowUp, Task
from casework.service import caseload, followup, outcomes
from casework.service import tasks as service

MY_TASKS_PER_PAGE = 25  # as the page


# ------------------------------------------------------------------ what the endpoints take and answer
class TaskItem(Open):
    id: str
    case_id: str
    kind: str = Field(description="first_contact, next_contact, review, rescreen, follow_up, ...")
    due_at: str
    overdue: bool
    note: str | None
    created_at: str | None
    done_at: str | None


class TaskCaseList(Open):
    open: list[TaskItem] = Field(description="by due time")
    recently_done: list[TaskItem] = Field(description="the last five done, newest first")


class TaskMine(TaskItem):
    client_id: str
    client_label: str = Field(description='how working lists name the person: "Mei C. · C-7F3A"')
    risk_level: str


class TaskMineList(Open):
    tasks: list[TaskMine]
    when: str
    page: int
    per_page: int
    has_next: bool


class TaskMinePaging(Paging):
    when: Literal["overdue", "today"] = Field("overdue", description="overdue, or due later today")
    per_page: int = Field(MY_TASKS_PER_PAGE, ge=1, le=100)


class TaskNextContact(Closed):
    due_date: str = Field(description="ISO date in the service's time zone, 2026-12-02")
    due_time: str | None = Field(None, description="HH:MM (24-hour clock) in the service's time zone; 09:00 "
                                                   "when left out")
    note: str | None = Field(None, description="at most 500 characters")


class FollowUpItem(Open):
    id: str
    case_id: str
    months: int = Field(description="1, 3 or 6 months after the closure")
    closed_at: str | None = Field(description="the closure it follows")
    due_at: str
    overdue: bool
    state: Literal["due", "recorded", "cancelled"] = Field(
        description="cancelled: not needed, the case was reopened or closed again")
    recordable: bool = Field(description="still due and the case is closed")
    attempts: int = Field(description="times the person was not reached")
    status: str | None = Field(description="better, same or worse, once recorded")
    crisis: bool
    reopened: bool = Field(description="the follow-up reopened the case into triage")
    alert_id: str | None = Field(description="the triage alert it raised")
    recorded_at: str | None
    cancelled_at: str | None


class FollowUpList(Open):
    follow_ups: list[FollowUpItem]


class FollowUpSelfScreening(Open):
    result_id: str
    instrument: str
    score: int | None
    taken_at: str | None


class FollowUpDetail(FollowUpItem):
    note: str | None
    recorded_by: str | None
    closure_outcome: list[str] = Field(description="the outcomes at closure, in words")
    closure_goals: str | None = Field(description="how the care-plan goals ended, in words")
    self_screenings: list[FollowUpSelfScreening] = Field(
        description="while due: the client's own self-screenings not yet on the case (`screening.result_id`)")


class FollowUpScreening(Closed):
    """Either `result_id` (one of the client's own self-screenings) or `instrument` with `answers`."""

    result_id: str | None = None
    instrument: str | None = Field(None, description="an instrument with a total score, e.g. phq9")
    answers: list[int] | None = None
    sex: str | None = None


class FollowUpRecord(Closed):
    status: Literal["better", "same", "worse", "not_reached"] = Field(
        description="how the person is doing compared with the closure; not_reached: try again in 3 days")
    note: str | None = Field(None, description="at most 4000 characters")
    crisis: bool | None = None
    screening: FollowUpScreening | None = None


class FollowUpRecorded(FollowUpDetail):
    case_phase: str = Field(description="the case's phase afterwards (reopened when worse or in crisis)")


# ------------------------------------------------------------------ answers
def task_json(task: Task) -> dict:
    return {"id": str(task.id), "case_id": str(task.case_id), "kind": task.kind, "due_at": iso(task.due_at),
            "overdue": task.overdue, "note": task.note, "created_at": iso(task.created_at),
            "done_at": iso(task.done_at)}


def my_task_json(task: Task) -> dict:
    return {**task_json(task), "client_id": str(task.case.client_id), "client_label": task.case.client.list_label,
            "risk_level": task.case.risk_level}


def _state(item: FollowUp) -> str:
    if item.recorded_at is not None:
        return "recorded"
    return "cancelled" if item.cancelled_at is not None else "due"


def follow_up_json(case, item: FollowUp) -> dict:
    return {"id": str(item.id), "case_id": str(item.case_id), "months": item.months, "closed_at": iso(item.closed_at),
            "due_at": iso(item.due_at), "overdue": item.overdue, "state": _state(item),
            "recordable": not item.done and case.is_closed, "attempts": item.attempts or 0,
            "status": item.status if item.recorded_at is not None else None, "crisis": bool(item.crisis),
            "reopened": bool(item.reopened), "alert_id": str(item.alert_id) if item.alert_id else None,
            "recorded_at": iso(item.recorded_at), "cancelled_at": iso(item.cancelled_at)}


def follow_up_detail_json(case, item: FollowUp) -> dict:
    screenings = outcomes.resident_screenings(case) if not item.done else []
    return {**follow_up_json(case, item), "note": item.note,
            "recorded_by": item.recorded_by.username if item.recorded_by else None,
            "closure_outcome": followup.snapshot_statements(case.outcome_snapshot),
            "closure_goals": followup.goal_statement(case.outcome_snapshot),
            "self_screenings": [{"result_id": str(r.id), "instrument": r.instrument, "score": r.score,
                                 "taken_at": iso(r.created_at)} for r in screenings]}


# ------------------------------------------------------------------ tasks
@api.route("/cases/<case_id>/tasks", methods=["GET"])
@described(responses={200: TaskCaseList})
@requires(Permission.CASES_VIEW)
def api_case_tasks(case_id):
    """A case's open tasks by due time and the five most recently done (the read of the case is audited)."""
    case = load_visible("case", case_id, current_user)
    open_tasks, done_tasks = service.case_tasks(case)
    return {"open": [task_json(t) for t in open_tasks], "recently_done": [task_json(t) for t in done_tasks]}


@api.route("/tasks", methods=["GET"])
@described(query=TaskMinePaging, responses={200: TaskMineList})
@requires(Permission.CASES_VIEW)
def api_my_tasks():
    """My open tasks as on "My day": `?when=overdue` (default) or `?when=today` (due later today), by due time."""
    when = request.args.get("when", "overdue")
    if when not in ("overdue", "today"):
        raise ApiError(422, "Some fields are not valid.", {"when": "One of: overdue, today."})
    page, per_page = page_args(MY_TASKS_PER_PAGE, 100)
    tasks = caseload.task_page(current_user, when, page, per_page)
    return {"tasks": [my_task_json(t) for t in tasks.items], "when": when, "page": tasks.page,
            "per_page": per_page, "has_next": tasks.has_next}


@api.route("/cases/<case_id>/next-contact", methods=["PUT"])
@described(body=TaskNextContact, responses={200: TaskItem}, errors=(409,))
@requires(Permission.CASES_EDIT)
def api_next_contact(case_id):
    """Schedule the case's next contact; an open next-contact reminder is moved, not duplicated."""
    case = load_visible("case", case_id, current_user, audit=False)
    body = json_body()
    for name in ("due_date", "due_time", "note"):
        if body.get(name) is not None and not isinstance(body[name], str):
            raise ApiError(422, "Some fields are not valid.", {name: "A string."})
    due = service.local_to_utc(body.get("due_date"), body.get("due_time"))
    task = service.set_next_contact(current_user, case, due, body.get("note"))
    return task_json(task)


@api.route("/cases/<case_id>/tasks/<task_id>/done", methods=["POST"])
@described(body=Empty, body_optional=True, responses={200: TaskItem}, errors=(409,))
@requires(Permission.CASES_EDIT)
def api_task_done(case_id, task_id):
    """Mark a task of the case done (audited, on the timeline); 409 when it was already done."""
    case = load_visible("case", case_id, current_user, audit=False)
    json_body(optional=True)
    task = service.complete_task(current_user, case, task_id)
    return task_json(task)


# ------------------------------------------------------------------ follow-ups
@api.route("/cases/<case_id>/follow-ups", methods=["GET"])
@described(responses={200: FollowUpList})
@requires(Permission.CASES_VIEW)
def api_follow_ups(case_id):
    """The case's follow-ups after closure (1, 3 and 6 months), newest closure first (the read is audited)."""
    case = load_visible("case", case_id, current_user)
    return {"follow_ups": [follow_up_json(case, f) for f in followup.follow_ups_of(case)]}


@api.route("/cases/<case_id>/follow-ups/<follow_up_id>", methods=["GET"])
@described(responses={200: FollowUpDetail})
@requires(Permission.CASES_EDIT)
def api_follow_up(case_id, follow_up_id):
    """One follow-up with its note, the outcome at closure and, while due, the client's own self-screenings."""
    case = load_visible("case", case_id, current_user)
    item = load_visible("follow_up", follow_up_id, current_user, where=(FollowUp.case_id == case.id,))
    return follow_up_detail_json(case, item)


SCREENING_FIELDS = body_fields(FollowUpScreening)
OWN_FIELDS = ("status", "note", "crisis")


@api.route("/cases/<case_id>/follow-ups/<follow_up_id>/record", methods=["POST"])
@described(body=FollowUpRecord, responses={200: FollowUpRecorded}, errors=(409,))
@requires(Permission.CASES_EDIT)
def api_follow_up_record(case_id, follow_up_id):
    """Record how the person is doing; worse, a reliable deterioration or a crisis reopens the case into triage."""
    case = load_visible("case", case_id, current_user, audit=False)
    item = load_visible("follow_up", follow_up_id, current_user, where=(FollowUp.case_id == case.id,))
    body = json_body()
    screening = body.get("screening")
    if screening is not None and not isinstance(screening, dict):
        raise ApiError(422, "Some fields are not valid.", {"screening": "An object, or null."})
    if screening:
        refuse_unknown(screening, SCREENING_FIELDS, "screening.")
        screening = ({"result_id": screening["result_id"]} if screening.get("result_id") else
                     {"instrument": screening.get("instrument"), "answers": screening.get("answers"),
                      "sex": screening.get("sex") or None})
    if body.get("note") is not None and not isinstance(body["note"], str):
        raise ApiError(422, "Some fields are not valid.", {"note": "A string."})
    if body.get("crisis") is not None and not isinstance(body["crisis"], bool):
        raise ApiError(422, "Some fields are not valid.", {"crisis": "true or false."})
    try:
        item, _alert = followup.record_follow_up(current_user, case, item, status=body.get("status"),
                                                 note=body.get("note"), crisis=bool(body.get("crisis")),
                                                 screening=screening or None)
    except Invalid as error:  # the screening's own fields are named under `screening.`
        fields = {(k if k in OWN_FIELDS else f"screening.{k}"): v for k, v in error.fields.items()}
        raise ApiError(422, error.message or "Some fields are not valid.", fields) from error
    return {**follow_up_detail_json(case, item), "case_phase": case.phase}
