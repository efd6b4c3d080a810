"""Taking a screening: score, store (anonymous unless a resident is signed in), and read back.

What is stored is instrument, version, answers (encrypted), score, band, flags, language and
time, and nothing that identifies the person; a signed-in resident's result is linked to the
account."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import cast

from flask import url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import Table, insert, select, update
from sqlalchemy import inspect as sa_inspect

from carecycle.audit import record_event
from carecycle.database import rows_changed
from carecycle.extensions import db
from carecycle.roles import Role
from screening.models import ScreeningResult
from screening.service import articles, get_instrument, instruments
from screening.service.definitions import Instrument
from screening.service.scoring import InvalidAnswers, Outcome, check_unscored, evaluate, score
from screening.service.translations import answered_in

# Shown instead of the band's meaning when a scored result meets the crisis rule (PHQ-9 item 9 >= 1
# with a low total): the band describes the total, and the total must not reassure.
CRISIS_NOTE = _l("Some of your answers are about thoughts of death or of hurting yourself. Those answers matter "
                 "more than the total score: whatever the score, please talk to someone today.")

CATALOGUE_ORDER = ("phq9", "phq2", "gad7", "gad2", "who5", "k10", "k6", "pcl5", "auditc", "cssrs")


_INSERT = insert(cast(Table, ScreeningResult.__table__))  # a mapped class's table is a Table
_COLUMNS = [(column.key, attribute.key) for attribute in sa_inspect(ScreeningResult).column_attrs
            for column in attribute.columns]


def _row(result: ScreeningResult) -> dict:
    """Column values of a new result, with the columns' Python defaults filled in."""
    row = {}
    for column_key, attribute in _COLUMNS:
        value = result.__dict__.get(attribute)
        if value is None:
            default = ScreeningResult.__table__.c[column_key].default
            if default is not None:
                value = default.arg({}) if default.is_callable else default.arg
        row[column_key] = value
    return row


def new_result(instrument: Instrument, outcome: Outcome, *, language: str, user_id=None,
               unscored: dict | None = None, translation: str | None = None) -> ScreeningResult:
    """The result row of a scored screening (answers and respondent encrypted), not yet stored."""
    result = ScreeningResult(instrument=instrument.id, instrument_version=instrument.version, score=outcome.score,
                             band=outcome.band, flags=" ".join(outcome.flags), crisis=outcome.crisis,
                             language=language, translation_sha256=translation, user_id=user_id)
    result.answers = list(outcome.answers)
    if outcome.sex:
        result.respondent = {"sex": outcome.sex}
    if unscored:
        result.unscored = dict(unscored)  # stored, never part of the score
    return result


def catalogue(all_instruments: dict[str, Instrument]) -> list[Instrument]:
    """The instruments in the order the list page shows them (added files come last, by id)."""
    rank = {ident: index for index, ident in enumerate(CATALOGUE_ORDER)}
    return sorted(all_instruments.values(), key=lambda i: (rank.get(i.id, len(rank)), i.id))


def links_to_account(user) -> bool:
    """Only a signed-in resident's screenings are kept in a history."""
    return bool(user is not None and getattr(user, "is_authenticated", False) and Role(user.role) is Role.RESIDENT)


def submit(instrument: Instrument, answers, *, sex: str | None = None, language: str = "en",
           user=None, unscored: dict | None = None,
           translation: str | None = None) -> tuple[ScreeningResult, Outcome]:
    """Score and store one screening (the caller commits). Raises InvalidAnswers (nothing stored).
    The per-address limit is counted by the routes (`ratelimit.counted`), before the body is read.

    The row is written with one Core insert of the built object's column values, outside the
    session's unit of work (this is the public hot path): the returned object is for reading its
    id and values, not attached to the session. `translation`: the SHA-256 of the pack whose text was
    answered (the score never depends on it)."""
    clean_unscored, unscored_errors = check_unscored(instrument, unscored)
    try:
        outcome = score(instrument, answers, sex=sex)
    except InvalidAnswers as invalid:
        raise InvalidAnswers({**invalid.fields, **unscored_errors}) from None
    if unscored_errors:
        raise InvalidAnswers(unscored_errors)
    owner = user if links_to_account(user) else None
    # Built (and encrypted) before the first statement, so the write transaction stays short.
    result = new_result(instrument, outcome, language=language, user_id=owner.id if owner else None,
                        unscored=clean_unscored, translation=translation)
    db.session.connection().execute(_INSERT, _row(result))
    if owner is not None:
        record_event("create", "screening_result", result.id, actor=owner)
    return result, outcome


@dataclass(frozen=True)
class ShownResult:
    """A stored result with what its page needs from the definition."""

    result: ScreeningResult
    instrument: Instrument

    @property
    def score(self):
        return self.result.score

    @property
    def percentage(self):
        factor = self.instrument.percentage_factor
        return self.result.score * factor if factor and self.result.score is not None else None

    @property
    def band(self):
        return self.instrument.band(self.result.band)

    @property
    def crisis_outweighs_band(self) -> bool:
        """A crisis on a scored instrument: the band speaks of the total, so its meaning is not shown.

        (A level instrument such as the C-SSRS has no total; its level is the suicide risk itself.)"""
        return bool(self.result.crisis) and self.result.score is not None

    @property
    def concern(self) -> int:
        """How strongly the score card is marked: the highest on any crisis result."""
        band = self.band
        return 3 if self.result.crisis else (band.concern if band else 0)

    @property
    def flags(self):
        return [flag for flag in (self.instrument.flag(code) for code in self.result.flag_codes) if flag]

    def _context(self) -> dict:
        answers = self.result.answers
        return {"answers": {i + 1: v for i, v in enumerate(answers)}, "total": self.result.score,
                "band": self.result.band, "respondent": self.result.respondent or {}}

    @property
    def follow_up(self):
        follow = self.instrument.follow_up
        if follow is None:
            return None
        return follow if evaluate(follow.when, self._context()) is True else None

    @property
    def unscored(self) -> list:
        """(question, chosen option) of the form's unscored questions the respondent answered."""
        given = self.result.unscored or {}
        out = []
        for item in self.instrument.unscored:
            option = next((o for o in item.options if o.value == given.get(item.code)), None)
            if option is not None:
                out.append((item, option))
        return out

    @property
    def notes(self):
        """The definition's notes whose condition holds for this result (e.g. which threshold applied)."""
        if not self.instrument.notes:
            return []
        context = self._context()
        return [note for note in self.instrument.notes if evaluate(note.when, context) is True]


def shown(result: ScreeningResult) -> ShownResult | None:
    """The result with its definition, in the text it was answered in (a translation pack's, by hash)."""
    instrument = get_instrument(result.instrument)
    if instrument is None:
        return None
    return ShownResult(result, answered_in(instrument, result.language, result.translation_sha256))


def claim(results: list[str], user) -> int:
    """Link anonymous results taken in this browser session to the resident who just registered."""
    keys = []
    for value in results:
        try:
            keys.append(uuid.UUID(value))
        except ValueError:
            continue
    if not keys or not links_to_account(user):
        return 0
    rows = rows_changed(db.session.execute(update(ScreeningResult).where(ScreeningResult.id.in_(keys),
                                                            ScreeningResult.user_id.is_(None))
                              .values(user_id=user.id)))
    if rows:
        record_event("update", "user", user.id, actor=user, reason=f"claimed {rows} screening result(s)")
    return rows


def history(user) -> list[tuple[Instrument, list[ScreeningResult]]]:
    """A resident's results grouped by instrument (catalogue order), oldest first within each."""
    rows = db.session.scalars(select(ScreeningResult).where(ScreeningResult.user_id == user.id)
                              .order_by(ScreeningResult.created_at)).all()
    grouped: dict[str, list[ScreeningResult]] = {}
    for row in rows:
        grouped.setdefault(row.instrument, []).append(row)
    out = []
    for instrument in catalogue(instruments()):
        if instrument.id in grouped:
            out.append((instrument, grouped[instrument.id]))
    if rows:
        record_event("view", "screening_history", user.id)
    return out


def crisis_guidance(instrument_id: str, band: str) -> dict:
    """What the API adds to a result that meets the crisis rule, in the request's language: the note
    that the answers on self-harm outweigh the total, and the articles to read, crisis ones first."""
    languages = articles.READER_LANGUAGES.get(str(get_locale() or "en"), ("en",))
    reading = articles.for_result(instrument_id, band, languages, crisis=True)
    return {"crisis_note": str(CRISIS_NOTE),
            "crisis_articles": [{"id": str(a.id), "title": a.title, "language": a.language,
                                 "url": url_for("library.article", article_id=a.id)} for a in reading]}
