"""Scoring: a pure function over an instrument definition and one respondent's answers.

`score(instrument, answers, sex=None)` checks the answers (one printed value per item, in item
order; `None` where the skip logic does not ask an item) and returns an `Outcome`, or raises
`InvalidAnswers` whose `fields` name every bad item as `answers[<index>]`. Nothing here touches
the database or the request."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

from screening.service.definitions import Instrument, Item

UNKNOWN = None  # a condition that depends on an item not answered yet


class InvalidAnswers(ValueError):
    """The answers cannot be scored; `fields` maps `answers[i]` (and `answers`, `sex`) to messages."""

    def __init__(self, fields: dict[str, Any]):
        super().__init__("invalid answers: " + ", ".join(sorted(fields)))
        self.fields = fields


@dataclass(frozen=True)
class Outcome:
    instrument: str
    version: str
    answers: tuple
    score: int | None
    min_score: int | None
    max_score: int | None
    band: str
    flags: tuple[str, ...]
    crisis: bool
    percentage: int | None = None
    level_name: str | None = None
    sex: str | None = None
    follow_up: str | None = None

    def as_dict(self, result_id=None) -> dict:
        """The result shape of the API: id, instrument, score, max_score, band, flags, crisis, and the
        instrument's level (C-SSRS `risk`) or percentage (WHO-5) when it has one."""
        body = {"id": str(result_id) if result_id is not None else None, "instrument": self.instrument,
                "score": self.score, "max_score": self.max_score, "band": self.band,
                "flags": list(self.flags), "crisis": self.crisis}
        if self.level_name:
            body[self.level_name] = self.band
        if self.percentage is not None:
            body["percentage"] = self.percentage
        return body


# ------------------------------------------------------------------ conditions
def _compare(left, op: str, right) -> bool:
    if left is None or isinstance(left, bool) != isinstance(right, bool):
        return op == "!="
    if isinstance(left, str) != isinstance(right, str):
        return op == "!="
    if op == "==":
        return left == right
    if op == "!=":
        return left != right
    if isinstance(left, (bool, str)):
        return False  # order comparisons only between numbers
    return {">=": left >= right, "<=": left <= right, ">": left > right, "<": left < right}[op]


def evaluate(cond: dict, context: dict):
    """True, False, or UNKNOWN when the condition depends on an item not answered yet.

    `context`: `answers` {item number: value, None when skipped}, `total`, `band`, `respondent`."""
    test = cond["test"]
    answers = context.get("answers", {})
    if test in ("any", "all"):
        results = [evaluate(part, context) for part in cond["of"]]
        decisive = test == "any"
        if decisive in results:
            return decisive
        return UNKNOWN if UNKNOWN in results else not decisive
    if test == "not":
        inner = evaluate(cond["of"], context)
        return UNKNOWN if inner is UNKNOWN else not inner
    if test == "item":
        if cond["item"] not in answers:
            return UNKNOWN
        return _compare(answers[cond["item"]], cond["op"], cond["value"])
    if test == "any_item":
        numbers = cond.get("items") or sorted(answers)
        if any(n not in answers for n in numbers):
            return UNKNOWN
        return any(_compare(answers[n], cond["op"], cond["value"]) for n in numbers)
    if test == "count":
        if any(n not in answers for n in cond["items"]):
            return UNKNOWN
        hits = sum(1 for n in cond["items"] if _compare(answers[n], cond["op"], cond["value"]))
        return hits >= cond["at_least"]
    if test == "total":
        total = context.get("total")
        return UNKNOWN if total is None else _compare(total, cond["op"], cond["value"])
    if test == "band":
        band = context.get("band")
        return UNKNOWN if band is None else band in cond["in"]
    if test == "respondent":
        return _compare(context.get("respondent", {}).get(cond["field"]), cond["op"], cond["value"])
    raise ValueError(f"unknown test {test}")


# ------------------------------------------------------------------ skip logic
@dataclass
class Step:
    """Where a respondent stands: which items are settled and which to ask next."""

    known: dict[int, Any]            # item number -> answer (None when skipped)
    skipped: set[int]
    ask: list[Item]                  # the items to show now
    complete: bool


def plan(instrument: Instrument, given: dict[int, Any]) -> Step:
    """The next step of the form from the answers given so far (server-side skip logic).

    Items are asked in order; an item whose `ask_when` depends on an unanswered item waits for
    the next step. Answers given for items the skip logic does not ask are left out of `known`
    (the caller reports them as tampering)."""
    known: dict[int, Any] = {}
    skipped: set[int] = set()
    ask: list[Item] = []
    for item in instrument.items:
        asked = True if item.ask_when is None else evaluate(item.ask_when, {"answers": known})
        if asked is UNKNOWN:
            break
        if asked is False:
            skipped.add(item.number)
            known[item.number] = None
            continue
        if item.number in given and given[item.number] is not None:
            known[item.number] = given[item.number]
            continue
        ask.append(item)
    complete = not ask and len(known) == instrument.item_count
    return Step(known, skipped, ask, complete)


# ------------------------------------------------------------------ validation and scoring
def _allowed(item: Item) -> str:
    if item.yes_no:
        return "true, false"
    return ", ".join(str(v) for v in item.values)


def check_answers(instrument: Instrument, answers) -> dict[str, Any]:
    """Messages per bad item; empty when the answers can be scored."""
    if not isinstance(answers, (list, tuple)):
        return {"answers": _l("Give a list with one answer per item (%(n)d items).", n=instrument.item_count)}
    if len(answers) > instrument.item_count:  # refused before any per-item work: one short error
        return {"answers": _l("There are %(given)d answers; this questionnaire has %(count)d items.",
                              given=len(answers), count=instrument.item_count)}
    errors: dict[str, Any] = {}
    known: dict[int, Any] = {}
    for item in instrument.items:
        key = f"answers[{item.number - 1}]"
        if item.number > len(answers):
            errors[key] = _l("Item %(n)d is missing.", n=item.number)
            continue
        value = answers[item.number - 1]
        if item.ask_when is not None:
            asked = evaluate(item.ask_when, {"answers": known})
            if asked is UNKNOWN:  # depends on an item that was itself invalid
                continue
            if asked is False:
                if value is not None:
                    errors[key] = _l("Item %(n)d is not asked after the earlier answers; leave it empty (null).",
                                     n=item.number)
                known[item.number] = None
                continue
        if value is None:
            errors[key] = _l("Item %(n)d must be answered.", n=item.number)
            continue
        if not any(type(value) is type(allowed) and value == allowed for allowed in item.values):
            errors[key] = _l("Item %(n)d: %(value)s is not an allowed answer; use one of %(allowed)s.",
                             n=item.number, value=_show(value), allowed=_allowed(item))
            continue
        known[item.number] = value
    return errors


def _show(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value[:20])
    if isinstance(value, (int, float)):
        return str(value)
    return type(value).__name__


def check_respondent(instrument: Instrument, sex) -> dict[str, Any]:
    declared = {f.name: f for f in instrument.respondent}
    if "sex" not in declared or sex is None:
        return {}
    allowed = [option.value for option in declared["sex"].options]
    if not isinstance(sex, str) or sex not in allowed:
        return {"sex": _l("Sex must be one of %(allowed)s, or left out.", allowed=", ".join(allowed))}
    return {}


def check_unscored(instrument: Instrument, given) -> tuple[dict, dict[str, Any]]:
    """The answers to the form's unscored questions (each optional): ({code: value}, errors).
    They are stored with the result and never change its score."""
    if given in (None, {}):
        return {}, {}
    if not isinstance(given, dict):
        return {}, {"unscored": _l("Give the unscored answers as an object of question code to value.")}
    known = {item.code: item for item in instrument.unscored}
    clean, errors = {}, {}
    for code, value in given.items():
        item = known.get(code)
        if item is None:
            errors[f"unscored.{code}"] = _l("This questionnaire has no such question.")
        elif value is None:
            continue
        elif isinstance(value, bool) or not isinstance(value, int) or value not in [o.value for o in item.options]:
            errors[f"unscored.{code}"] = _l("This answer is not one of the choices. Choose one of them.")
        else:
            clean[code] = value
    return clean, errors


def score(instrument: Instrument, answers, *, sex: str | None = None) -> Outcome:
    """Score the answers exactly as the definition says, or raise InvalidAnswers."""
    errors = {**check_answers(instrument, answers), **check_respondent(instrument, sex)}
    if errors:
        raise InvalidAnswers(errors)
    if not any(f.name == "sex" for f in instrument.respondent):
        sex = None
    values = {item.number: answers[item.number - 1] for item in instrument.items}
    respondent = {"sex": sex}
    total = sum(values.values()) if instrument.method == "sum" else None
    context = {"answers": values, "total": total, "respondent": respondent}
    band = _band(instrument, context)
    context["band"] = band
    crisis = bool(instrument.crisis_when and evaluate(instrument.crisis_when, context) is True)
    flags = tuple(flag.code for flag in instrument.flags if evaluate(flag.when, context) is True)
    follow_up = None
    if instrument.follow_up and evaluate(instrument.follow_up.when, context) is True:
        follow_up = instrument.follow_up.instrument
    percentage = total * instrument.percentage_factor if instrument.percentage_factor and total is not None \
        else None
    return Outcome(instrument=instrument.id, version=instrument.version, answers=tuple(answers), score=total,
                   min_score=instrument.min_score, max_score=instrument.max_score, band=band, flags=flags,
                   crisis=crisis, percentage=percentage, level_name=instrument.level_name, sex=sex,
                   follow_up=follow_up)


def _band(instrument: Instrument, context: dict) -> str:
    total = context["total"]
    for band in instrument.bands:
        if band.min is not None and not band.min <= total <= band.max:
            continue
        if band.when is None or evaluate(band.when, context) is True:
            return band.code
    raise AssertionError(f"{instrument.id}: no band matched; the loader checks coverage")
