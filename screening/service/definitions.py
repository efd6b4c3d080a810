"""Instrument definitions: the data files under `screening/instruments/`, their schema, and the
loader that validates every file at start-up.

A definition is plain data (see `screening/instruments/README.md`); this module turns a file
into frozen objects the scoring function reads, or stops with a message naming the file and
the problem. Conditions (crisis, flags, skip logic, levels) use the small language checked
by `_check_condition` and evaluated by `screening.service.scoring.evaluate`."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "instruments"
TEXT_LANGUAGES = ("en", "zh_Hant", "zh_Hans")
OPERATORS = ("==", "!=", ">=", "<=", ">", "<")
METHODS = ("sum", "levels")


class DefinitionError(Exception):
    """A definition file is invalid; the message names the file and the problem."""


# ------------------------------------------------------------------ the objects
@dataclass(frozen=True)
class Option:
    value: Any
    label: dict


@dataclass(frozen=True)
class Item:
    number: int
    text: dict
    options: tuple[Option, ...]
    ask_when: dict | None = None
    loinc: str | None = None

    @property
    def values(self) -> tuple:
        return tuple(option.value for option in self.options)

    @property
    def yes_no(self) -> bool:
        return all(isinstance(value, bool) for value in self.values)


@dataclass(frozen=True)
class Band:
    code: str
    label: dict
    meaning: dict
    min: int | None = None
    max: int | None = None
    when: dict | None = None
    concern: int = 0  # 0 reassuring .. 3 most concerning: chooses the colour, never the rule


@dataclass(frozen=True)
class Flag:
    code: str
    when: dict
    label: dict
    meaning: dict


@dataclass(frozen=True)
class UnscoredItem:
    """A question of the published form that is stored with the result and never scored
    (the PHQ-9's closing question on how difficult the problems have made daily life)."""
    code: str
    text: dict
    options: tuple[Option, ...]


@dataclass(frozen=True)
class Note:
    """Words on the result page when `when` holds (how the result was reached); never scored."""
    when: dict
    text: dict


@dataclass(frozen=True)
class RespondentField:
    name: str
    label: dict
    hint: dict
    options: tuple[Option, ...]


@dataclass(frozen=True)
class FollowUp:
    instrument: str
    when: dict
    text: dict


@dataclass(frozen=True)
class Instrument:
    id: str
    name: str
    version: str
    title: dict
    purpose: dict
    minutes: int
    languages: tuple[str, ...]
    recall_period: dict
    instructions: dict
    items: tuple[Item, ...]
    method: str
    min_score: int | None
    max_score: int | None
    percentage_factor: int | None
    level_name: str | None
    bands: tuple[Band, ...]
    crisis_when: dict | None
    flags: tuple[Flag, ...]
    notes: tuple[Note, ...]
    unscored: tuple[UnscoredItem, ...]
    follow_up: FollowUp | None
    respondent: tuple[RespondentField, ...]
    source: dict
    attribution: dict
    licence: dict
    loinc: dict
    topics: tuple[str, ...]
    data: dict  # the file as loaded, served by the API

    @property
    def item_count(self) -> int:
        return len(self.items)

    @property
    def has_skip_logic(self) -> bool:
        return any(item.ask_when for item in self.items)

    def band(self, code: str) -> Band | None:
        return next((band for band in self.bands if band.code == code), None)

    def flag(self, code: str) -> Flag | None:
        return next((flag for flag in self.flags if flag.code == code), None)

    @property
    def higher_is_better(self) -> bool:
        """True when the highest band is the least concerning (WHO-5), for chart captions."""
        return self.method == "sum" and self.bands[0].concern > self.bands[-1].concern

    def options_of(self, number: int) -> tuple[Option, ...]:
        return self.items[number - 1].options

    def offered_in(self, language: str) -> bool:
        return language in self.languages


def text(value: dict | None, language: str) -> str:
    """The text of a per-language dict in `language`, else English."""
    if not value:
        return ""
    return value.get(language) or value.get("en", "")


# ------------------------------------------------------------------ the schema
class _Checker:
    """Walks one definition, naming the path of the first problem."""

    def __init__(self, data: dict):
        self.data = data
        self.languages: tuple[str, ...] = ()

    def fail(self, path: str, problem: str) -> NoReturn:
        raise DefinitionError(f"{path}: {problem}" if path else problem)

    def field(self, obj: dict, key: str, kind, path: str, required: bool = True):
        if key not in obj:
            if required:
                self.fail(path, f"'{key}' is required")
            return None
        value = obj[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds:
            self.fail(f"{path}.{key}" if path else key, f"must be {self._kind_name(kinds)}, not true/false")
        if not isinstance(value, kinds):
            self.fail(f"{path}.{key}" if path else key, f"must be {self._kind_name(kinds)}")
        return value

    @staticmethod
    def _kind_name(kinds) -> str:
        names = {str: "text", int: "a whole number", list: "a list", dict: "an object", bool: "true or false"}
        return " or ".join(names.get(k, k.__name__) for k in kinds)

    def no_extra(self, obj: dict, allowed: set[str], path: str):
        extra = sorted(set(obj) - allowed)
        if extra:
            self.fail(path or "(top level)", f"unknown key(s) {', '.join(extra)}")

    def texts(self, obj: dict, key: str, path: str, required: bool = True, item_text: bool = False) -> dict:
        value = self.field(obj, key, dict, path, required)
        if value is None:
            return {}
        where = f"{path}.{key}" if path else key
        if not value.get("en") or not isinstance(value.get("en"), str):
            self.fail(where, "needs English text under 'en'")
        for language, string in value.items():
            if language not in TEXT_LANGUAGES:
                self.fail(where, f"unknown language '{language}' (use {', '.join(TEXT_LANGUAGES)})")
            if not isinstance(string, str) or not string.strip():
                self.fail(f"{where}.{language}", "must be non-empty text")
        if item_text:
            missing = [lang for lang in self.languages if lang not in value]
            if missing:
                self.fail(where, f"has no text in {', '.join(missing)}, a language the instrument declares")
            unofficial = [lang for lang in value if lang not in self.languages]
            if unofficial:
                self.fail(where, f"has text in {', '.join(unofficial)}, which 'languages' does not declare "
                                 "(item text comes only from published official translations)")
        return value

    def options(self, raw, path: str) -> tuple[Option, ...]:
        if not isinstance(raw, list) or len(raw) < 2:
            self.fail(path, "must be a list of at least two options")
        options, seen = [], set()
        for index, option in enumerate(raw):
            where = f"{path}[{index}]"
            if not isinstance(option, dict):
                self.fail(where, "must be an object with 'value' and 'label'")
            self.no_extra(option, {"value", "label"}, where)
            if "value" not in option:
                self.fail(where, "'value' is required")
            value = option["value"]
            if not isinstance(value, (int, bool)):
                self.fail(f"{where}.value", "must be a whole number or true/false")
            key = (type(value), value)
            if key in seen:
                self.fail(f"{where}.value", f"{json.dumps(value)} appears twice")
            seen.add(key)
            options.append(Option(value, self.texts(option, "label", where, item_text=True)))
        if len({type(o.value) for o in options}) > 1:
            self.fail(path, "mixes numbers and true/false")
        return tuple(options)

    def condition(self, cond, path: str, *, items: int, before: int | None = None,
                  bands: set[str] | None = None, respondent: set[str] | None = None, total: bool = True):
        """Check a condition: which tests it may use depends on where it stands."""
        if not isinstance(cond, dict) or "test" not in cond:
            self.fail(path, "must be an object with a 'test'")
        test = cond["test"]
        kwargs: dict[str, Any] = dict(items=items, before=before, bands=bands, respondent=respondent, total=total)

        def item_number(value, where):
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= items:
                self.fail(where, f"must be an item number from 1 to {items}")
            if before is not None and value >= before:
                self.fail(where, f"may refer only to items before item {before}")
            return value

        def operator(where):
            if cond.get("op") not in OPERATORS:
                self.fail(where, f"'op' must be one of {' '.join(OPERATORS)}")
            if "value" not in cond or isinstance(cond["value"], (dict, list)):
                self.fail(where, "'value' is required (a number, true/false or text)")

        if test in ("any", "all"):
            self.no_extra(cond, {"test", "of"}, path)
            parts = cond.get("of")
            if not isinstance(parts, list) or not parts:
                self.fail(path, f"'{test}' needs a non-empty list 'of'")
            for index, part in enumerate(parts):
                self.condition(part, f"{path}.of[{index}]", **kwargs)
        elif test == "not":
            self.no_extra(cond, {"test", "of"}, path)
            self.condition(cond.get("of"), f"{path}.of", **kwargs)
        elif test == "item":
            self.no_extra(cond, {"test", "item", "op", "value"}, path)
            item_number(cond.get("item"), f"{path}.item")
            operator(path)
        elif test == "any_item":
            self.no_extra(cond, {"test", "op", "value", "items"}, path)
            operator(path)
            for index, number in enumerate(cond.get("items", [])):
                item_number(number, f"{path}.items[{index}]")
        elif test == "count":
            self.no_extra(cond, {"test", "items", "op", "value", "at_least"}, path)
            operator(path)
            numbers = cond.get("items")
            if not isinstance(numbers, list) or not numbers:
                self.fail(path, "'count' needs a non-empty list 'items'")
            for index, number in enumerate(numbers):
                item_number(number, f"{path}.items[{index}]")
            at_least = cond.get("at_least")
            if isinstance(at_least, bool) or not isinstance(at_least, int) or not 1 <= at_least <= len(numbers):
                self.fail(f"{path}.at_least", f"must be a whole number from 1 to {len(numbers)}")
        elif test == "total":
            if not total:
                self.fail(path, "'total' cannot be used here")
            self.no_extra(cond, {"test", "op", "value"}, path)
            operator(path)
        elif test == "band":
            if bands is None:
                self.fail(path, "'band' cannot be used here")
            self.no_extra(cond, {"test", "in"}, path)
            codes = cond.get("in")
            if not isinstance(codes, list) or not codes:
                self.fail(path, "'band' needs a non-empty list 'in'")
            unknown = [code for code in codes if code not in bands]
            if unknown:
                self.fail(path, f"unknown band(s) {', '.join(map(str, unknown))}")
        elif test == "respondent":
            if not respondent:
                self.fail(path, "'respondent' needs the field declared under 'respondent'")
            self.no_extra(cond, {"test", "field", "op", "value"}, path)
            if cond.get("field") not in respondent:
                self.fail(f"{path}.field", f"must be one of {', '.join(sorted(respondent))}")
            if cond.get("op") not in ("==", "!="):
                self.fail(path, "'op' must be == or != for a respondent field")
        else:
            self.fail(path, f"unknown test '{test}' (use item, any_item, count, total, band, respondent, "
                            "any, all, not)")


TOP_KEYS = {"id", "name", "version", "title", "purpose", "minutes", "languages", "recall_period",
            "instructions", "options", "items", "scoring", "bands", "crisis_when", "flags", "follow_up",
            "respondent", "source", "attribution", "licence", "loinc", "topics", "notes", "unscored",
            "$comment"}


def build_instrument(data: Any) -> Instrument:
    """Validate one definition and build its objects; DefinitionError names the path at fault."""
    check = _Checker(data)
    if not isinstance(data, dict):
        check.fail("", "the file must hold one JSON object")
    check.no_extra(data, TOP_KEYS, "")
    ident = check.field(data, "id", str, "")
    if not ident.isascii() or not ident.replace("_", "").isalnum() or ident != ident.lower() or len(ident) > 20:
        check.fail("id", "use 1 to 20 lowercase letters, digits or underscores")
    name = check.field(data, "name", str, "")
    version = check.field(data, "version", str, "")
    minutes = check.field(data, "minutes", int, "")
    if minutes < 1:
        check.fail("minutes", "must be at least 1")
    languages = check.field(data, "languages", list, "")
    if "en" not in languages or any(lang not in TEXT_LANGUAGES for lang in languages) \
            or len(set(languages)) != len(languages):
        check.fail("languages", f"must list 'en' and only {', '.join(TEXT_LANGUAGES)}, each once")
    check.languages = tuple(languages)
    title = check.texts(data, "title", "")
    purpose = check.texts(data, "purpose", "")
    recall = check.texts(data, "recall_period", "")
    instructions = check.texts(data, "instructions", "", item_text=True)
    default_options = check.options(data["options"], "options") if "options" in data else None

    raw_items = check.field(data, "items", list, "")
    if not raw_items:
        check.fail("items", "needs at least one item")
    count = len(raw_items)
    respondent_fields = []
    for index, raw in enumerate(check.field(data, "respondent", list, "", required=False) or []):
        where = f"respondent[{index}]"
        if not isinstance(raw, dict):
            check.fail(where, "must be an object")
        check.no_extra(raw, {"field", "label", "hint", "options"}, where)
        field_name = check.field(raw, "field", str, where)
        if field_name != "sex":
            check.fail(f"{where}.field", "the only respondent field is 'sex'")
        options = []
        for o_index, option in enumerate(check.field(raw, "options", list, where)):
            o_where = f"{where}.options[{o_index}]"
            if not isinstance(option, dict) or not isinstance(option.get("value"), str):
                check.fail(o_where, "must be an object with a text 'value' and a 'label'")
            options.append(Option(option["value"], check.texts(option, "label", o_where)))
        respondent_fields.append(RespondentField(field_name, check.texts(raw, "label", where),
                                                 check.texts(raw, "hint", where, required=False),
                                                 tuple(options)))
    respondent_names = {f.name for f in respondent_fields}

    items = []
    for index, raw in enumerate(raw_items):
        where = f"items[{index}]"
        if not isinstance(raw, dict):
            check.fail(where, "must be an object")
        check.no_extra(raw, {"text", "options", "ask_when", "loinc"}, where)
        item_options = check.options(raw["options"], f"{where}.options") if "options" in raw else default_options
        if item_options is None:
            check.fail(where, "has no 'options' and the instrument has no default 'options'")
        ask_when = raw.get("ask_when")
        if ask_when is not None:
            check.condition(ask_when, f"{where}.ask_when", items=count, before=index + 1, total=False)
        loinc = check.field(raw, "loinc", str, where, required=False)
        items.append(Item(index + 1, check.texts(raw, "text", where, item_text=True), item_options, ask_when, loinc))
    yes_no = [item.yes_no for item in items]

    scoring = check.field(data, "scoring", dict, "")
    check.no_extra(scoring, {"method", "percentage_factor", "level_name"}, "scoring")
    method = scoring.get("method")
    if method not in METHODS:
        check.fail("scoring.method", f"must be one of {', '.join(METHODS)}")
    min_score = max_score = percentage = level_name = None
    if method == "sum":
        if any(yes_no) or any(item.ask_when for item in items):
            check.fail("scoring", "'sum' needs numbered options on every item and no skip logic")
        min_score = sum(min(item.values) for item in items)
        max_score = sum(max(item.values) for item in items)
        percentage = check.field(scoring, "percentage_factor", int, "scoring", required=False)
        if percentage is not None and percentage < 1:
            check.fail("scoring.percentage_factor", "must be at least 1")
    else:
        level_name = check.field(scoring, "level_name", str, "scoring", required=False)
        if level_name is not None and (not level_name.isidentifier() or level_name in
                                       {"id", "instrument", "score", "max_score", "band", "flags", "crisis",
                                        "crisis_note", "crisis_articles"}):
            check.fail("scoring.level_name", "must be a simple name that is not already a result key")

    raw_bands = check.field(data, "bands", list, "")
    if not raw_bands:
        check.fail("bands", "needs at least one band")
    band_codes = [b.get("code") if isinstance(b, dict) else None for b in raw_bands]
    bands = []
    for index, raw in enumerate(raw_bands):
        where = f"bands[{index}]"
        if not isinstance(raw, dict):
            check.fail(where, "must be an object")
        check.no_extra(raw, {"code", "min", "max", "when", "label", "meaning", "concern"}, where)
        code = check.field(raw, "code", str, where)
        if not code.replace("_", "").isalnum() or code != code.lower():
            check.fail(f"{where}.code", "use lowercase letters, digits and underscores")
        low = check.field(raw, "min", int, where, required=method == "sum")
        high = check.field(raw, "max", int, where, required=method == "sum")
        if method == "levels" and (low is not None or high is not None):
            check.fail(where, "levels have no 'min' or 'max'")
        if method == "sum" and low > high:
            check.fail(where, "'min' is above 'max'")
        when = raw.get("when")
        if when is not None:
            check.condition(when, f"{where}.when", items=count, respondent=respondent_names,
                            total=method == "sum")
        concern = check.field(raw, "concern", int, where, required=False) or 0
        if not 0 <= concern <= 3:
            check.fail(f"{where}.concern", "must be 0 to 3")
        bands.append(Band(code, check.texts(raw, "label", where), check.texts(raw, "meaning", where),
                          low, high, when, concern))
    if method == "sum":
        assert min_score is not None and max_score is not None  # set for "sum" above
        _check_band_coverage(check, bands, min_score, max_score, respondent_fields)
    else:
        if bands[-1].when is not None:
            check.fail(f"bands[{len(bands) - 1}]", "the last level must have no 'when' (it is the fallback)")
        if any(band.when is None for band in bands[:-1]):
            check.fail("bands", "every level but the last needs a 'when'")

    band_set = set(c for c in band_codes if c)
    crisis_when = data.get("crisis_when")
    if crisis_when is not None:
        check.condition(crisis_when, "crisis_when", items=count, bands=band_set, respondent=respondent_names,
                        total=method == "sum")
    flags = []
    for index, raw in enumerate(check.field(data, "flags", list, "", required=False) or []):
        where = f"flags[{index}]"
        if not isinstance(raw, dict):
            check.fail(where, "must be an object")
        check.no_extra(raw, {"code", "when", "label", "meaning"}, where)
        code = check.field(raw, "code", str, where)
        check.condition(raw.get("when"), f"{where}.when", items=count, bands=band_set,
                        respondent=respondent_names, total=method == "sum")
        flags.append(Flag(code, raw["when"], check.texts(raw, "label", where), check.texts(raw, "meaning", where)))
    if len({flag.code for flag in flags}) != len(flags):
        check.fail("flags", "a flag code appears twice")
    notes = []
    for index, raw in enumerate(check.field(data, "notes", list, "", required=False) or []):
        where = f"notes[{index}]"
        if not isinstance(raw, dict):
            check.fail(where, "must be an object")
        check.no_extra(raw, {"when", "text"}, where)
        check.condition(raw.get("when"), f"{where}.when", items=count, bands=band_set,
                        respondent=respondent_names, total=method == "sum")
        notes.append(Note(raw["when"], check.texts(raw, "text", where)))
    unscored = []
    for index, raw in enumerate(check.field(data, "unscored", list, "", required=False) or []):
        where = f"unscored[{index}]"
        if not isinstance(raw, dict):
            check.fail(where, "must be an object with 'code', 'text' and 'options'")
        check.no_extra(raw, {"code", "text", "options"}, where)
        code = check.field(raw, "code", str, where)
        if not re.fullmatch(r"[a-z][a-z_]{0,29}", code):
            check.fail(f"{where}.code", "1-30 lowercase letters or _")
        unscored.append(UnscoredItem(code, check.texts(raw, "text", where, item_text=True),
                                     check.options(raw.get("options"), f"{where}.options")))
    if len({u.code for u in unscored}) != len(unscored):
        check.fail("unscored", "a code appears twice")

    follow_up = None
    raw_follow = check.field(data, "follow_up", dict, "", required=False)
    if raw_follow is not None:
        check.no_extra(raw_follow, {"instrument", "when", "text"}, "follow_up")
        check.condition(raw_follow.get("when"), "follow_up.when", items=count, bands=band_set,
                        respondent=respondent_names, total=method == "sum")
        follow_up = FollowUp(check.field(raw_follow, "instrument", str, "follow_up"), raw_follow["when"],
                             check.texts(raw_follow, "text", "follow_up"))

    source = check.texts(data, "source", "")
    attribution = check.texts(data, "attribution", "")
    licence = check.texts(data, "licence", "")
    loinc = check.field(data, "loinc", dict, "", required=False) or {}
    for key, value in loinc.items():
        if key not in ("panel", "total") or not isinstance(value, str) or not value:
            check.fail(f"loinc.{key}", "only 'panel' and 'total', as text")
    topics = check.field(data, "topics", list, "", required=False) or []
    return Instrument(
        id=ident, name=name, version=version, title=title, purpose=purpose, minutes=minutes,
        languages=tuple(languages), recall_period=recall, instructions=instructions, items=tuple(items),
        method=method, min_score=min_score, max_score=max_score, percentage_factor=percentage,
        level_name=level_name, bands=tuple(bands), crisis_when=crisis_when, flags=tuple(flags),
        notes=tuple(notes), unscored=tuple(unscored), follow_up=follow_up, respondent=tuple(respondent_fields),
        source=source, attribution=attribution, licence=licence, loinc=loinc, topics=tuple(topics), data=data)


def _check_band_coverage(check: _Checker, bands, low: int, high: int, respondent) -> None:
    """Every possible total, for every respondent answer, falls in a band. The first matching band
    wins (so sex-specific bands come before the general ones); two bands with the same condition
    must not overlap."""
    from screening.service.scoring import evaluate

    contexts: list[dict[str, Any]] = [{}]
    for field in respondent:
        contexts = [{**c, field.name: option.value} for c in contexts for option in field.options] + \
                   [{**c, field.name: None} for c in contexts]
    for band in bands:
        if band.min < low or band.max > high:
            check.fail(f"band {band.code}", f"reaches outside the possible totals {low} to {high}")
    for context in contexts:
        for total in range(low, high + 1):
            matches = [band for band in bands if band.min <= total <= band.max
                       and (band.when is None or evaluate(band.when, {"respondent": context}) is True)]
            described = f"total {total}" + (f" with {context}" if any(v for v in context.values()) else "")
            if not matches:
                check.fail("bands", f"no band covers {described}")
            same_rule = [band.code for band in matches if band.when == matches[0].when]
            if len(same_rule) > 1:
                check.fail("bands", f"{described} falls in more than one band ({', '.join(same_rule)})")


# ------------------------------------------------------------------ loading
def load_file(path: Path) -> Instrument:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise DefinitionError(f"{path}: not valid JSON (line {error.lineno}, column {error.colno}: "
                              f"{error.msg})") from error
    except (OSError, UnicodeDecodeError) as error:
        raise DefinitionError(f"{path}: cannot be read ({error})") from error
    try:
        instrument = build_instrument(data)
    except DefinitionError as error:
        raise DefinitionError(f"{path}: {error}") from error
    if instrument.id != path.stem:
        raise DefinitionError(f"{path}: id '{instrument.id}' must match the file name '{path.stem}.json'")
    return instrument


def load_instruments(directories: list[Path | str]) -> dict[str, Instrument]:
    """Every `*.json` definition in the directories, validated; the first problem stops loading."""
    found: dict[str, Instrument] = {}
    for directory in directories:
        directory = Path(directory)
        if not directory.is_dir():
            raise DefinitionError(f"{directory}: the instruments folder does not exist")
        for path in sorted(directory.glob("*.json")):
            instrument = load_file(path)
            if instrument.id in found:
                raise DefinitionError(f"{path}: instrument '{instrument.id}' is defined twice")
            found[instrument.id] = instrument
    for instrument in found.values():
        if instrument.follow_up and instrument.follow_up.instrument not in found:
            raise DefinitionError(f"{instrument.id}.json: follow_up names unknown instrument "
                                  f"'{instrument.follow_up.instrument}'")
    if not found:
        raise DefinitionError("no instrument definitions found")
    return found
