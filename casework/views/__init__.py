"""Casework pages. One Blueprint; one module per topic adds its routes.

A topic that shows something on the case page registers a section: a template fragment, a
function `(case) -> dict` giving the fragment's context, and where the section sits (its anchor,
its name in the page's section list, its order). The context may add rows to the summary at the
top of the page under the key `summary`: `SummaryRow`s answering "what needs doing for this
person now" (`register_client_section` likewise for the client page, without the summary)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint

from carecycle.areas import labels
from casework.enums import LANGUAGE_LABELS, SEX_LABELS, ClosureReason, ConsentScope, Phase, Priority, RiskLevel, Source
from casework.service.cases import describe_event

bp = Blueprint("casework", __name__)

@dataclass(frozen=True)
class CaseSection:
    template: str
    context: Callable
    anchor: str            # the id of the section's heading: the section list links to it
    label: object          # its name in the section list
    order: int             # top to bottom
    permission: object = None  # listed only for users who hold it (the fragment shows nothing otherwise)


@dataclass(frozen=True)
class SummaryRow:
    """One line of the case summary: what, the value in words, an optional class (risk, overdue)
    and the anchor of the section that holds the details; `order` places it."""
    order: int
    label: object
    value: object
    css: str | None = None
    anchor: str | None = None


CASE_SECTIONS: list[CaseSection] = []


def register_case_section(template: str, context: Callable, *, anchor: str, label, order: int,
                          permission=None) -> None:
    if template not in [s.template for s in CASE_SECTIONS]:
        CASE_SECTIONS.append(CaseSection(template, context, anchor, label, order, permission))
        CASE_SECTIONS.sort(key=lambda s: s.order)


CLIENT_SECTIONS: list[tuple[str, Callable]] = []


def register_client_section(template: str, context: Callable) -> None:
    """The same for the client page: a fragment and `(client) -> dict`."""
    if template not in [t for t, _ in CLIENT_SECTIONS]:
        CLIENT_SECTIONS.append((template, context))


REGISTER_ENTRY_SECTIONS: list[tuple[str, Callable]] = []


def register_entry_section(template: str, context: Callable) -> None:
    """The same for a register entry's page (what is recorded at outreach): a fragment and
    `(entry, here) -> dict`, where `here` is the page's own path to come back to."""
    if template not in [t for t, _ in REGISTER_ENTRY_SECTIONS]:
        REGISTER_ENTRY_SECTIONS.append((template, context))


def _memo(label_of):
    """A label function for one page render: each code is translated once (long lists repeat them)."""
    seen: dict = {}

    def label(code):
        if code not in seen:
            seen[code] = str(label_of(code))
        return seen[code]
    return label


def enum_label(enum):
    """A template label function for an enum's stored codes; an unknown code shows as itself."""
    def label_of(code):
        try:
            return enum(code).label
        except ValueError:
            return code
    return _memo(label_of)


# Casework's own words for its timeline events and task kinds; casework registers them with the shell
# (`add_labels`), where other areas add theirs, and the pages look codes up there.
EVENT_LABELS: dict[str, object] = {}
TASK_LABELS: dict[str, object] = {}


@bp.context_processor
def casework_labels():
    return {
        "phase_label": enum_label(Phase), "risk_label": enum_label(RiskLevel),
        "priority_label": enum_label(Priority), "source_label": enum_label(Source),
        "consent_label": enum_label(ConsentScope), "closure_reason_label": enum_label(ClosureReason),
        "event_label": _memo(lambda code: labels("case_event").get(code, code)),
        "event_detail": describe_event,
        "task_label": _memo(lambda code: labels("case_task").get(code, code)),
        "sex_label": _memo(lambda code: SEX_LABELS.get(code, code)),
        "language_label": _memo(lambda code: LANGUAGE_LABELS.get(code, code)),
    }


from casework.views import (  # noqa: E402,F401  (routes)
    assessments,
    careplans,
    cases,
    clients,
    followups,
    groupplans,
    groups,
    household,
    notes,
    outcomes,
    phases,
    procedures,
    records,
    recovery,
    register,
    safety,
    tasks,
    triage,
)
