"""Translation packs: an official translation of an instrument's text, taken in safely.

A pack is a JSON file, one per instrument and language (`phq9.zh_Hans.json`), holding the title,
the instruction, every item and every answer option in that language, with its provenance
(`source`, `licence`, `citation`) and the definition version it translates (`translates`). It must
match its instrument exactly: the same items, the same options with the same values in the same
order. Scoring reads only the values, so it never depends on the language.

Files in the `translations/` folder beside the definitions (built in, and under
CARECYCLE_INSTRUMENTS_DIR) are validated at start-up like definitions; a mismatch stops the app
naming the file, the item and the problem. A pack reaches residents only after two people: one
clinical staff member enters it (`carecycle instruments translation import FILE`, or the upload
page), and a second one, a supervisor, compares it item by item with the source document and
approves it. The approval is bound to the pack's SHA-256: entering a changed file withdraws the
pack it replaces, and a file in a translations folder that no longer matches the approved bytes
takes the approved pack off the pages until the file is entered and approved again."""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any, NoReturn

from flask import current_app, g
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from carecycle.audit import record_event
from carecycle.database import utcnow
from carecycle.extensions import db
from carecycle.lifecycle import Forbidden
from carecycle.permissions import Permission, role_has
from carecycle.roles import Role
from carecycle.validation import Conflict, Invalid
from screening.models import TranslationPack
from screening.service import get_instrument, instruments
from screening.service.definitions import BUILTIN_DIR, Instrument

FILES_KEY = "screening_translation_files"
MAX_BYTES = 256 * 1024
PACK_KEYS = {"$comment", "instrument", "language", "translates", "source", "licence", "citation", "title",
             "instructions", "options", "items", "unscored"}
LANGUAGE_CODE = re.compile(r"[a-z]{2,3}(_[A-Z][a-z]{3}|_[A-Z]{2})?")
ENTERING_ROLES = (Role.COUNSELLOR, Role.SUPERVISOR)  # clinical staff

class PackState(StrEnum):
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    FILE_CHANGED = "file_changed"
    MISMATCH = "mismatch"
    WITHDRAWN = "withdrawn"
    NOT_ENTERED = "not_entered"


STATUS_LABELS = {
    PackState.IN_REVIEW: _l("In review: not shown to residents"),
    PackState.APPROVED: _l("Approved: shown to residents"),
    PackState.FILE_CHANGED: _l("Withdrawn: the file changed after approval"),
    PackState.MISMATCH: _l("Not shown: no longer matches the questionnaire"),
    PackState.WITHDRAWN: _l("Withdrawn"),
    PackState.NOT_ENTERED: _l("In the folder, not entered yet"),
}


class PackError(Exception):
    """A pack does not match its instrument; the message names the file, the item and the problem."""


# ------------------------------------------------------------------ the pack
@dataclass(frozen=True)
class Pack:
    instrument: str
    language: str
    translates: str
    source: str
    licence: str
    citation: str
    title: str
    instructions: str
    items: tuple[str, ...]                   # item text, by item number - 1
    options: tuple[dict, ...]                # per item: {value: label}
    unscored: dict                           # code -> (text, {value: label})
    sha256: str

    @property
    def short_hash(self) -> str:
        return self.sha256[:12]


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


class _Check:
    def __init__(self, where: str):
        self.where = where

    def fail(self, path: str, problem: str) -> NoReturn:
        raise PackError(f"{self.where}: {path}: {problem}" if path else f"{self.where}: {problem}")

    def text(self, obj: dict, key: str, path: str, required: bool = True) -> str:
        where = f"{path}.{key}" if path else key
        if key not in obj:
            if required:
                self.fail(path or where, f"'{key}' is missing")
            return ""
        value = obj[key]
        if not isinstance(value, str) or not value.strip():
            self.fail(where, "must be non-empty text")
        return value.strip()

    def options(self, raw: Any, expected, path: str) -> dict:
        """The labels of a translated option list, whose values must be the definition's, in its order."""
        if not isinstance(raw, list):
            self.fail(path, "must be a list of {\"value\", \"label\"} in the printed order")
        wanted = [option.value for option in expected]
        labels: dict = {}
        given = []
        for index, option in enumerate(raw):
            where = f"{path}[{index}]"
            if not isinstance(option, dict) or set(option) != {"value", "label"}:
                self.fail(where, "must be an object with exactly 'value' and 'label'")
            value = option["value"]
            if not any(type(value) is type(w) and value == w for w in wanted):
                self.fail(f"{where}.value", f"{json.dumps(value)} is not a value of this question "
                                            f"(its values are {', '.join(json.dumps(w) for w in wanted)})")
            given.append(value)
            labels[value] = self.text(option, "label", where)
        for value in wanted:
            if not any(type(value) is type(v) and value == v for v in given):
                self.fail(path, f"the option with value {json.dumps(value)} is missing")
        in_order = len(given) == len(wanted) and all(type(a) is type(b) and a == b
                                                     for a, b in zip(given, wanted, strict=True))
        if not in_order:
            self.fail(path, f"options must be given once each, in the printed order "
                            f"{', '.join(json.dumps(w) for w in wanted)}")
        return labels


def parse(content: bytes, instrument_set: dict[str, Instrument], where: str,
          languages: tuple[str, ...] | None = None) -> Pack:
    """Validate one pack against its instrument; PackError names `where`, the item and the problem."""
    check = _Check(where)
    if len(content) > MAX_BYTES:
        check.fail("", f"the file is larger than {MAX_BYTES // 1024} KB")
    try:
        data = json.loads(content.decode("utf-8-sig"))
    except UnicodeDecodeError:
        check.fail("", "the file is not UTF-8 text")
    except json.JSONDecodeError as error:
        check.fail("", f"not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})")
    if not isinstance(data, dict):
        check.fail("", "the file must hold one JSON object")
    extra = sorted(set(data) - PACK_KEYS)
    if extra:
        check.fail("(top level)", f"unknown key(s) {', '.join(extra)}")
    ident = check.text(data, "instrument", "")
    instrument = instrument_set.get(ident)
    if instrument is None:
        check.fail("instrument", f"there is no instrument '{ident[:40]}' "
                                 f"(use one of {', '.join(sorted(instrument_set))})")
    language = check.text(data, "language", "")
    if not LANGUAGE_CODE.fullmatch(language) or language == "en":
        check.fail("language", "must be a language code other than en, such as zh_Hans or zh_Hant")
    if languages is not None and language not in languages:
        check.fail("language", f"'{language}' is not a language this service offers ({', '.join(languages)})")
    if language in instrument.languages:
        check.fail("language", f"{instrument.name} already has its {language} text in the definition file")
    translates = check.text(data, "translates", "")
    if translates != instrument.version:
        check.fail("translates", f"the pack translates version {translates} of {instrument.name}, but the "
                                 f"definition is version {instrument.version}: compare it with that version "
                                 "and set 'translates' to it")
    source = check.text(data, "source", "")
    licence = check.text(data, "licence", "")
    citation = check.text(data, "citation", "", required=False)
    title = check.text(data, "title", "")
    instructions = check.text(data, "instructions", "")

    definition_items = instrument.data.get("items", [])
    common = next((item for index, item in enumerate(instrument.items)
                   if not definition_items[index].get("options")), None)  # an item answered with the common options
    shared = None
    if common is not None:
        if "options" not in data:
            check.fail("options", f"is missing: {instrument.name} has common answer options "
                                  f"({', '.join(json.dumps(o.value) for o in common.options)})")
        shared = check.options(data["options"], common.options, "options")
    elif "options" in data:
        check.fail("options", f"{instrument.name} has no common options; give each item's options with the item")

    raw_items = data.get("items")
    if not isinstance(raw_items, list):
        check.fail("items", "is missing: a list with one object per item, in order")
    count = instrument.item_count
    for index, raw in enumerate(raw_items):
        if not isinstance(raw, dict):
            check.fail(f"items[{index}]", "must be an object with 'number' and 'text'")
        number = raw.get("number")
        if isinstance(number, bool) or not isinstance(number, int) or number != index + 1:
            check.fail(f"items[{index}]", f"'number' must be {index + 1} (items are given in order, from 1)")
    if len(raw_items) < count:
        check.fail("items", f"item {len(raw_items) + 1} is missing: {instrument.name} has {count} items, "
                            f"the pack {len(raw_items)}")
    if len(raw_items) > count:
        check.fail(f"items[{count}]", f"item {count + 1} is one too many: {instrument.name} has {count} items")
    texts, options = [], []
    for index, (raw, item) in enumerate(zip(raw_items, instrument.items, strict=True)):
        path = f"item {item.number}"
        extra = sorted(set(raw) - {"number", "text", "options"})
        if extra:
            check.fail(path, f"unknown key(s) {', '.join(extra)}")
        texts.append(check.text(raw, "text", path))
        own = bool(definition_items[index].get("options"))
        if own:
            if "options" not in raw:
                check.fail(path, "'options' is missing: this question has its own answer options")
            options.append(check.options(raw["options"], item.options, f"{path}.options"))
        else:
            if "options" in raw:
                check.fail(f"{path}.options", "this question uses the common options given under 'options'")
            options.append(shared or {})

    unscored: dict = {}
    raw_unscored = data.get("unscored", [])
    if instrument.unscored or raw_unscored:
        if not isinstance(raw_unscored, list):
            check.fail("unscored", "must be a list")
        codes = [u.code for u in instrument.unscored]
        given_codes = [u.get("code") if isinstance(u, dict) else None for u in raw_unscored]
        for code in codes:
            if code not in given_codes:
                check.fail("unscored", f"the unscored question '{code}' is missing")
        for index, raw in enumerate(raw_unscored):
            path = f"unscored[{index}]"
            if not isinstance(raw, dict) or raw.get("code") not in codes:
                check.fail(path, f"must be an object whose 'code' is one of {', '.join(codes) or '(none)'}")
            extra = sorted(set(raw) - {"code", "text", "options"})
            if extra:
                check.fail(path, f"unknown key(s) {', '.join(extra)}")
            question = next(u for u in instrument.unscored if u.code == raw["code"])
            unscored[question.code] = (check.text(raw, "text", path),
                                       check.options(raw.get("options"), question.options, f"{path}.options"))
    return Pack(instrument=ident, language=language, translates=translates, source=source, licence=licence,
                citation=citation, title=title, instructions=instructions, items=tuple(texts),
                options=tuple(options), unscored=unscored, sha256=sha256_of(content))


def translated(instrument: Instrument, pack: Pack) -> Instrument:
    """The instrument with the pack's text added in its language: the same items, values, scoring
    rules and LOINC codes (a copy: the loaded definition is never changed)."""
    language = pack.language

    def add(texts: dict, value: str) -> dict:
        return {**texts, language: value}

    def relabel(options, labels: dict):
        return tuple(replace(option, label=add(option.label, labels[option.value])) for option in options)

    items = tuple(replace(item, text=add(item.text, pack.items[index]),
                          options=relabel(item.options, pack.options[index]))
                  for index, item in enumerate(instrument.items))
    unscored = tuple(replace(question, text=add(question.text, pack.unscored[question.code][0]),
                             options=relabel(question.options, pack.unscored[question.code][1]))
                     for question in instrument.unscored)
    return replace(instrument, title=add(instrument.title, pack.title),
                   instructions=add(instrument.instructions, pack.instructions), items=items, unscored=unscored,
                   languages=(*instrument.languages, language))


# ------------------------------------------------------------------ files in the translations folders
def folders(app) -> list[Path]:
    """The translations folders: beside the built-in definitions and in every added instruments folder."""
    return [BUILTIN_DIR / "translations", *(Path(d) / "translations" for d in app.config["SCREENING_INSTRUMENT_DIRS"])]


@dataclass(frozen=True)
class PackFile:
    path: Path
    pack: Pack


def load_files(app, instrument_set: dict[str, Instrument]) -> dict[tuple[str, str], PackFile]:
    """Every pack file in the translations folders, validated; the first problem raises PackError."""
    languages = tuple(app.config.get("LANGUAGES", {"en": "English"}))
    found: dict[tuple[str, str], PackFile] = {}
    for folder in folders(app):
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.json")):
            try:
                content = path.read_bytes()
            except OSError as error:
                raise PackError(f"{path}: cannot be read ({error})") from error
            pack = parse(content, instrument_set, str(path), languages)
            if path.name != f"{pack.instrument}.{pack.language}.json":
                raise PackError(f"{path}: the file name must be {pack.instrument}.{pack.language}.json "
                                "(instrument.language.json)")
            key = (pack.instrument, pack.language)
            if key in found:
                raise PackError(f"{path}: {pack.instrument} in {pack.language} is also in {found[key].path}")
            found[key] = PackFile(path, pack)
    return found


def pack_files() -> dict[tuple[str, str], PackFile]:
    return current_app.extensions.get(FILES_KEY, {})


# ------------------------------------------------------------------ entered packs
_PARSED: dict[tuple[str, str, str], Pack | PackError] = {}  # content-addressed: (sha256, instrument version, langs)


def pack_of(row: TranslationPack) -> Pack | PackError:
    """The stored pack checked against the definition loaded now (a newer definition version makes an
    older pack not match); remembered by content hash, which no edit can change."""
    instrument = get_instrument(row.instrument)
    key = (row.sha256, instrument.version if instrument else "", row.language)
    if key not in _PARSED:
        if len(_PARSED) > 200:
            _PARSED.clear()
        try:
            _PARSED[key] = parse(row.content.encode("utf-8"), instruments(), row.file_name)
        except PackError as error:
            _PARSED[key] = error
    return _PARSED[key]


def status(row: TranslationPack) -> PackState:
    if row.withdrawn_at is not None:
        return PackState.WITHDRAWN
    if isinstance(pack_of(row), PackError):
        return PackState.MISMATCH
    if row.approved_at is None:
        return PackState.IN_REVIEW
    on_disk = pack_files().get((row.instrument, row.language))
    if on_disk is not None and on_disk.pack.sha256 != row.sha256:
        return PackState.FILE_CHANGED
    return PackState.APPROVED


def status_label(code: str) -> str:
    return str(STATUS_LABELS[PackState(code)])


def current(instrument_id: str, language: str, *, lock: bool = False) -> TranslationPack | None:
    stmt = select(TranslationPack).where(TranslationPack.instrument == instrument_id,
                                         TranslationPack.language == language,
                                         TranslationPack.withdrawn_at.is_(None))
    return db.session.scalar(stmt.with_for_update() if lock else stmt)


def by_hash(instrument_id: str, language: str, sha256: str) -> TranslationPack | None:
    """A pack entered with these exact bytes (withdrawn or not): what an earlier result was answered in."""
    if not isinstance(sha256, str) or not re.fullmatch(r"[0-9a-f]{64}", sha256):
        return None
    return db.session.scalar(select(TranslationPack).where(
        TranslationPack.instrument == instrument_id, TranslationPack.language == language,
        TranslationPack.sha256 == sha256).limit(1))


def offered(instrument: Instrument, language: str) -> Pack | None:
    """The approved pack residents get for the instrument in `language`, or None (once per request)."""
    if language == "en" or instrument.offered_in(language):
        return None
    cache = g.setdefault("_offered_packs", {})
    key = (instrument.id, language)
    if key not in cache:
        row = current(instrument.id, language)
        pack = pack_of(row) if row is not None and status(row) is PackState.APPROVED else None
        cache[key] = pack if isinstance(pack, Pack) else None
    return cache[key]


def approved_languages() -> dict[str, list[str]]:
    """The languages of approved packs, by instrument id (one query for the whole catalogue)."""
    rows = db.session.scalars(select(TranslationPack).where(TranslationPack.withdrawn_at.is_(None),
                                                            TranslationPack.approved_at.is_not(None)))
    found: dict[str, list[str]] = {}
    for row in rows:
        if status(row) is PackState.APPROVED:
            found.setdefault(row.instrument, []).append(row.language)
    return {ident: sorted(languages) for ident, languages in found.items()}


def offered_languages(instrument: Instrument, approved: dict[str, list[str]] | None = None) -> list[str]:
    """The languages a resident can take the instrument in: the definition's, then approved packs."""
    approved = approved_languages() if approved is None else approved
    return [*instrument.languages, *approved.get(instrument.id, [])]


@dataclass(frozen=True)
class ReaderVersion:
    instrument: Instrument     # with the pack's text when one is used
    language: str              # the language the items are shown in
    pack: Pack | None


def for_reader(instrument: Instrument, locale: str) -> ReaderVersion:
    """What a reader in `locale` answers: the definition's own text in that language, else an approved
    pack's, else English (and the page says so)."""
    if instrument.offered_in(locale):
        return ReaderVersion(instrument, locale, None)
    pack = offered(instrument, locale)
    if pack is not None:
        return ReaderVersion(translated(instrument, pack), locale, pack)
    return ReaderVersion(instrument, "en", None)


def answered_in(instrument: Instrument, language: str, sha256: str | None) -> Instrument:
    """The instrument as a stored result was answered: with that pack's text when it named one."""
    if not sha256 or instrument.offered_in(language):
        return instrument
    row = by_hash(instrument.id, language, sha256)
    pack = pack_of(row) if row is not None else None
    return translated(instrument, pack) if isinstance(pack, Pack) else instrument


# ------------------------------------------------------------------ the workflow
def import_pack(content: bytes, file_name: str, entered_by) -> tuple[TranslationPack, bool]:
    """Enter a pack for review (the caller commits). Returns (pack, False) when these exact bytes are
    already the current pack. A changed file withdraws the pack it replaces, approved or not."""
    if Role(entered_by.role) not in ENTERING_ROLES or not entered_by.is_active:
        raise Forbidden(_("Only clinical staff (a counsellor or a supervisor) enter questionnaire translations."),
                        "translation_pack", None, reason="translation import")
    name = Path(file_name or "pack.json").name[:200]
    try:
        pack = parse(content, instruments(), name, tuple(current_app.config.get("LANGUAGES", {"en": "English"})))
    except PackError as error:
        raise Invalid({"file": str(error)}) from None
    existing = current(pack.instrument, pack.language, lock=True)
    if existing is not None and existing.sha256 == pack.sha256:
        return existing, False
    now = utcnow()
    if existing is not None:
        existing.withdrawn_at, existing.withdrawn_by_id = now, entered_by.id
        existing.withdrawn_reason = f"replaced by {name} (sha256 {pack.short_hash})"
        record_event("withdraw", "translation_pack", existing.id, actor=entered_by,
                     reason=f"{existing.instrument} {existing.language} sha256:{existing.sha256[:12]} replaced")
        db.session.flush()  # the one-current index sees the old pack withdrawn before the new one
    row = TranslationPack(instrument=pack.instrument, language=pack.language, translates=pack.translates,
                          sha256=pack.sha256, content=content.decode("utf-8-sig"), file_name=name,
                          entered_by_id=entered_by.id, entered_at=now)
    db.session.add(row)
    db.session.flush()
    record_event("import", "translation_pack", row.id, actor=entered_by,
                 reason=f"{pack.instrument} {pack.language} sha256:{pack.short_hash} from {name}")
    return row, True


@dataclass(frozen=True)
class ReviewRow:
    key: str            # what the reviewer ticks
    label: str
    english: list[str]
    translated: list[str]


def review_rows(row: TranslationPack) -> list[ReviewRow]:
    """Everything the pack translates, beside the English: one row to compare per part of the form."""
    instrument = get_instrument(row.instrument)
    pack = pack_of(row)
    if instrument is None or not isinstance(pack, Pack):
        return []
    view = translated(instrument, pack)
    language = pack.language

    def options(opts, lang):
        return [f"{json.dumps(o.value)}: {o.label.get(lang) or o.label.get('en', '')}" for o in opts]

    rows = [ReviewRow("title", str(_l("Title")), [instrument.title["en"]], [pack.title]),
            ReviewRow("instructions", str(_l("Instruction")), [instrument.instructions["en"]], [pack.instructions])]
    definition_items = instrument.data.get("items", [])
    common = next((item for i, item in enumerate(view.items) if not definition_items[i].get("options")), None)
    if common is not None:
        rows.append(ReviewRow("options", str(_l("Answer options")), options(common.options, "en"),
                              options(common.options, language)))
    for index, item in enumerate(view.items):
        rows.append(ReviewRow(f"item-{item.number}", _("Item %(n)d", n=item.number), [item.text["en"]],
                              [item.text[language]]))
        if definition_items[index].get("options"):
            rows.append(ReviewRow(f"item-{item.number}-options", _("Item %(n)d: answer options", n=item.number),
                                  options(item.options, "en"), options(item.options, language)))
    for question in view.unscored:
        rows.append(ReviewRow(f"unscored-{question.code}", str(_l("Unscored question")),
                              [question.text["en"], *options(question.options, "en")],
                              [question.text[language], *options(question.options, language)]))
    return rows


def _may_decide(user, row: TranslationPack, action: str) -> None:
    if not role_has(user.role, Permission.TRANSLATIONS_APPROVE):
        raise Forbidden(_("Only a supervisor approves or withdraws a questionnaire translation."),
                        "translation_pack", row.id, reason=f"translation {action}")


def approve(row: TranslationPack, approver, *, sha256: str, checked: set[str]) -> None:
    """The second check (the caller commits): the supervisor compared every row with the source."""
    _may_decide(approver, row, "approval")
    if row.entered_by_id == approver.id:
        raise Forbidden(_("You entered this translation, so a second person must check and approve it."),
                        "translation_pack", row.id, reason="translation self-approval")
    state = status(row)
    if state is PackState.WITHDRAWN:
        raise Conflict(_("This translation was withdrawn; approve the pack that replaced it."))
    if sha256 != row.sha256:
        raise Conflict(_("This translation changed since you opened it. Compare it again."))
    if state is PackState.MISMATCH:
        raise Conflict(_("This translation no longer matches the questionnaire; it cannot be approved."))
    on_disk = pack_files().get((row.instrument, row.language))
    if on_disk is not None and on_disk.pack.sha256 != row.sha256:
        raise Conflict(_("The file in %(folder)s differs from the pack entered. Enter that file and compare it "
                         "again.", folder=str(on_disk.path.parent)))
    if row.approved_at is not None:
        raise Conflict(_("This translation is already approved."))
    missing = [r.label for r in review_rows(row) if r.key not in checked]
    if missing:
        raise Invalid({"checked": _("Tick each row once you have compared it with the source document. Not "
                                    "ticked: %(rows)s.", rows=", ".join(missing))})
    row.approved_by_id, row.approved_at = approver.id, utcnow()
    record_event("approve", "translation_pack", row.id, actor=approver,
                 reason=f"{row.instrument} {row.language} sha256:{row.sha256[:12]} entered by {row.entered_by_id}")


def withdraw(row: TranslationPack, user, reason: str) -> None:
    _may_decide(user, row, "withdrawal")
    reason = " ".join((reason or "").split())
    if not reason:
        raise Invalid({"reason": _("Say why the translation is withdrawn.")})
    if row.withdrawn_at is not None:
        raise Conflict(_("This translation is already withdrawn."))
    row.withdrawn_at, row.withdrawn_by_id, row.withdrawn_reason = utcnow(), user.id, reason[:300]
    record_event("withdraw", "translation_pack", row.id, actor=user,
                 reason=f"{row.instrument} {row.language} sha256:{row.sha256[:12]}: {reason}"[:300])


@dataclass(frozen=True)
class Listed:
    instrument: Instrument
    language: str
    row: TranslationPack | None
    file: PackFile | None
    status: PackState


def overview() -> list[Listed]:
    """Every current pack and every file in the folders not entered yet, by instrument and language."""
    rows = db.session.scalars(select(TranslationPack).where(TranslationPack.withdrawn_at.is_(None))).all()
    keys = {(r.instrument, r.language): r for r in rows}
    files = pack_files()
    order = {ident: index for index, ident in enumerate(instruments())}
    out = []
    for key in sorted(set(keys) | set(files), key=lambda k: (order.get(k[0], 99), k[1])):
        instrument = get_instrument(key[0])
        if instrument is None:
            continue
        row, file = keys.get(key), files.get(key)
        state = PackState.NOT_ENTERED if row is None else status(row)
        out.append(Listed(instrument, key[1], row, file, state))
    return out


def in_review(limit: int) -> list[TranslationPack]:
    """Current packs waiting for the second person's check, longest waiting first."""
    rows = db.session.scalars(select(TranslationPack).where(TranslationPack.withdrawn_at.is_(None),
                                                            TranslationPack.approved_at.is_(None))
                              .order_by(TranslationPack.entered_at).limit(limit))
    return [row for row in rows if status(row) is PackState.IN_REVIEW]


def history(instrument_id: str, language: str) -> list[TranslationPack]:
    return list(db.session.scalars(select(TranslationPack).where(TranslationPack.instrument == instrument_id,
                                                                TranslationPack.language == language)
                                   .order_by(TranslationPack.entered_at.desc()).limit(50)))
