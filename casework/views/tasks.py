"""Task pages: "My day", next-contact reminders, marking a task done; the case page's task section."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from carecycle import localtime
from carecycle.database import utcnow
from carecycle.lifecycle import load_visible, undone_on_error
from carecycle.localtime import format_when
from carecycle.permissions import Permission, can, requires
from carecycle.urls import page_arg, safe_next
from carecycle.validation import Conflict, Invalid
from casework.forms import NextContactForm
from casework.service import caseload
from casework.service import tasks as service
from casework.views import EVENT_LABELS, TASK_LABELS, SummaryRow, bp, casework_labels, register_case_section
from casework.views.common import place_errors, refused_back_to

TASK_LABELS.update({service.FIRST_CONTACT: _l("First contact"), service.NEXT_CONTACT: _l("Next contact")})
EVENT_LABELS.update({
    "next_contact_set": _l("Next contact scheduled"), "next_contact_moved": _l("Next contact moved"),
    "first_contact_done": _l("First contact done"), "next_contact_done": _l("Next contact done"),
    "task_done": _l("Task done"),
})


def case_tasks_section(case):
    open_tasks, done_tasks = service.case_tasks(case)  # open ones by due time
    due = open_tasks[0] if open_tasks else None
    value = (_("%(task)s · %(when)s", task=TASK_LABELS.get(due.kind, due.kind), when=format_when(due.due_at))
             if due else _("Nothing due"))
    summary = SummaryRow(30, _l("Next due task"), value, "overdue" if due is not None and due.overdue else None,
                         "case-tasks-heading")
    return {"case_open_tasks": open_tasks, "case_done_tasks": done_tasks, "next_contact_form": NextContactForm(),
            "summary": [summary]}


register_case_section("casework/tasks/_case_tasks.html", case_tasks_section, anchor="case-tasks-heading",
                      label=_l("Tasks"), order=10)


@bp.route("/my-day")
@requires(Permission.CASES_VIEW)
def my_day():
    return my_day_page()


def my_day_page():
    """My day, also the staff's home page (served there by the shell, outside this blueprint: its
    labels come with the page)."""
    day = caseload.my_day(current_user)  # read only: nothing to commit (a commit would expire what was loaded)
    return render_template("casework/tasks/my_day.html", day=day, now=utcnow(), csrf=generate_csrf(),
                           may_edit=can(Permission.CASES_EDIT), back=url_for("web.home"), **casework_labels())


@bp.route("/my-day/tasks")
@requires(Permission.CASES_VIEW)
def my_tasks():
    """All overdue tasks (`?when=overdue`) or all due later today (`?when=today`), a page at a time."""
    when = "today" if request.args.get("when") == "today" else "overdue"
    tasks = caseload.task_page(current_user, when, page_arg())
    heading = _("Tasks due later today") if when == "today" else _("Overdue tasks")
    return render_template("casework/tasks/list.html", tasks=tasks, when=when, heading=heading,
                           csrf=generate_csrf(), may_edit=can(Permission.CASES_EDIT),
                           back=url_for("casework.my_tasks", when=when, page=tasks.page))


@bp.route("/cases/<case_id>/next-contact", methods=["GET", "POST"])
@requires(Permission.CASES_EDIT)
def next_contact(case_id):
    case = load_visible("case", case_id, current_user, audit=request.method == "GET")
    form = NextContactForm()
    if request.method == "GET":
        current = service.open_next_contact(case)
        if current is not None:
            local = localtime.local(current.due_at)
            form.due_date.data, form.due_time.data = local.strftime("%Y-%m-%d"), local.strftime("%H:%M")
            form.note.data = current.note
    if form.validate_on_submit():
        try:
            with undone_on_error():
                due = service.local_to_utc(form.due_date.data, form.due_time.data)
                service.set_next_contact(current_user, case, due, form.note.data)
        except Invalid as error:
            place_errors(form, error)
        except Conflict as error:
            return refused_back_to(error, url_for("casework.case_detail", case_id=case_id))
        else:
            flash(_("Next contact scheduled."), "success")
            return redirect(url_for("casework.case_detail", case_id=case.id))
    case = load_visible("case", case_id, current_user, audit=False)
    return render_template("casework/tasks/next_contact.html", form=form, case=case), 400 if form.errors else 200


@bp.route("/cases/<case_id>/tasks/<task_id>/done", methods=["POST"])
@requires(Permission.CASES_EDIT)
def task_done(case_id, task_id):
    case = load_visible("case", case_id, current_user, audit=False)
    back = safe_next(request.form.get("next")) or url_for("casework.case_detail", case_id=case.id)
    try:
        with undone_on_error():
            service.complete_task(current_user, case, task_id)
    except Conflict as error:
        return refused_back_to(error, back, "warning")
    flash(_("Task marked done."), "success")
    return redirect(back)
