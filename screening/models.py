"""Screening tables: results, contact requests, crisis resources and psychoeducation articles."""
from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carecycle.accounts.models import User
from carecycle.crypto import BlindIndex, Encrypted, Sealed, normalise_phone
from carecycle.database import UUIDPrimaryKey, utcnow
from carecycle.extensions import Model


class ScreeningResult(UUIDPrimaryKey, Model):
    """One completed self-screening. Anonymous unless a signed-in resident took it."""

    __tablename__ = "screening_result"

    instrument: Mapped[str] = mapped_column(String(20), index=True)
    instrument_version: Mapped[str] = mapped_column(String(20))
    _answers: Mapped[str] = mapped_column("answers", Sealed)
    answers = Encrypted("_answers", kind="json")
    _respondent: Mapped[str | None] = mapped_column("respondent", Sealed)
    respondent = Encrypted("_respondent", kind="json")  # {"sex": ...} when the instrument asks it
    _unscored: Mapped[str | None] = mapped_column("unscored", Sealed)
    unscored = Encrypted("_unscored", kind="json")  # the form's unscored questions {code: value}: never scored
    score: Mapped[int | None] = mapped_column(Integer)
    band: Mapped[str] = mapped_column(String(30))
    flags: Mapped[str] = mapped_column(String(200), default="")  # space-separated flag codes
    crisis: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str] = mapped_column(String(10))
    # the translation pack answered (its SHA-256), when the items were shown from one; None: the definition's text
    translation_sha256: Mapped[str | None] = mapped_column(String(64))
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    @property
    def flag_codes(self) -> list[str]:
        return self.flags.split() if self.flags else []


class TranslationPack(UUIDPrimaryKey, Model):
    """An official translation of an instrument, as one clinical staff member entered it (the file's
    exact bytes and their SHA-256), and the second person's approval. Only an approved pack is shown to
    residents; entering a changed file withdraws the pack it replaces (one current pack per instrument
    and language, kept by a partial unique index). Public text: nothing here is about a person."""

    __tablename__ = "translation_pack"
    __table_args__ = (
        Index("uq_translation_pack_current", "instrument", "language", unique=True,
              sqlite_where=text("withdrawn_at IS NULL"), postgresql_where=text("withdrawn_at IS NULL")),
    )

    instrument: Mapped[str] = mapped_column(String(20), index=True)
    language: Mapped[str] = mapped_column(String(10))
    translates: Mapped[str] = mapped_column(String(20))  # the definition version it translates
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    content: Mapped[str] = mapped_column(Text)           # the file as entered (UTF-8)
    file_name: Mapped[str] = mapped_column(String(200))
    entered_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))
    entered_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    approved_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]
    withdrawn_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    withdrawn_reason: Mapped[str | None] = mapped_column(String(300))

    entered_by: Mapped[User] = relationship(foreign_keys=[entered_by_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])
    withdrawn_by: Mapped[User | None] = relationship(foreign_keys=[withdrawn_by_id])


class ContactRequest(UUIDPrimaryKey, Model):
    """A request to be called back: who to call and when, with the consent given. Turned into an alert."""

    __tablename__ = "contact_request"

    result_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("screening_result.id"), index=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    alert_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("alert.id"), index=True)
    urgency: Mapped[str] = mapped_column(String(20))
    _name: Mapped[str] = mapped_column("name", Sealed)
    name = Encrypted("_name")
    _phone: Mapped[str] = mapped_column("phone", Sealed)
    phone = Encrypted("_phone", blind_index="phone_index", normalise=normalise_phone)
    phone_index: Mapped[str | None] = mapped_column(BlindIndex, index=True)
    preferred_time: Mapped[str] = mapped_column(String(20))
    consent_version: Mapped[str] = mapped_column(String(20))
    consented_at: Mapped[datetime]
    language: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    result: Mapped[ScreeningResult | None] = relationship()


class CrisisResource(UUIDPrimaryKey, Model):
    """A crisis line or service shown first on a crisis result. Public information, edited by admins."""

    __tablename__ = "crisis_resource"

    language: Mapped[str] = mapped_column(String(10), index=True)
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(String(40))
    hours: Mapped[str] = mapped_column(String(120))
    description: Mapped[str | None] = mapped_column(String(300))
    is_example: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ArticleStatus(StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    PUBLISHED = "published"
    ARCHIVED = "archived"

    @property
    def label(self):
        return ARTICLE_STATUS_LABELS[self]


ARTICLE_STATUS_LABELS = {
    ArticleStatus.DRAFT: _l("Draft"),
    ArticleStatus.IN_REVIEW: _l("In review"),
    ArticleStatus.PUBLISHED: _l("Published"),
    ArticleStatus.ARCHIVED: _l("Archived"),
}


class Article(UUIDPrimaryKey, Model):
    """A psychoeducation article: Markdown body, topics, and tags linking it to instrument bands."""

    __tablename__ = "article"

    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    sources: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(10), index=True)
    audience: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20), default=ArticleStatus.DRAFT.value, index=True)
    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    reviewer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    review_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None] = mapped_column(index=True)
    archived_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)

    topics: Mapped[list[ArticleTopic]] = relationship(cascade="all, delete-orphan", lazy="selectin",
                                                        order_by="ArticleTopic.topic")
    band_tags: Mapped[list[ArticleBandTag]] = relationship(cascade="all, delete-orphan", lazy="selectin",
                                                             order_by="(ArticleBandTag.instrument, "
                                                                      "ArticleBandTag.band)")
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    reviewer: Mapped[User | None] = relationship(foreign_keys=[reviewer_id])

    __mapper_args__ = {"version_id_col": version}

    @property
    def topic_codes(self) -> list[str]:
        return [t.topic for t in self.topics]

    @property
    def tag_codes(self) -> list[str]:
        return [f"{t.instrument}:{t.band}" if t.band else t.instrument for t in self.band_tags]

    @property
    def status_label(self):
        return ArticleStatus(self.status).label


class ArticleTopic(Model):
    __tablename__ = "article_topic"

    article_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("article.id", ondelete="CASCADE"), primary_key=True)
    topic: Mapped[str] = mapped_column(String(30), primary_key=True, index=True)


class ArticleBandTag(Model):
    """Links an article to an instrument's result: `band` empty means every band of it."""

    __tablename__ = "article_band_tag"

    article_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("article.id", ondelete="CASCADE"), primary_key=True)
    instrument: Mapped[str] = mapped_column(String(20), primary_key=True, index=True)
    band: Mapped[str] = mapped_column(String(30), primary_key=True, default="")


# ------------------------------------------------------------------ vocabularies (stable codes, translated labels)
TOPICS = {
    "anxiety": _l("Anxiety"),
    "depression": _l("Depression"),
    "sleep": _l("Sleep"),
    "grief": _l("Grief and loss"),
    "trauma": _l("Trauma and disasters"),
    "stress": _l("Stress"),
    "alcohol": _l("Alcohol"),
    "self_care": _l("Self-care"),
    "supporting_others": _l("Supporting someone else"),
    "crisis": _l("Crisis"),
}

AUDIENCES = {
    "everyone": _l("Everyone"),
    "young_people": _l("Young people"),
    "older_adults": _l("Older adults"),
    "carers": _l("Family and carers"),
    "frontline_workers": _l("Frontline workers"),
}

PREFERRED_TIMES = {
    "asap": _l("As soon as possible"),
    "morning": _l("Morning (9:00–12:00)"),
    "afternoon": _l("Afternoon (12:00–17:00)"),
    "evening": _l("Evening (17:00–20:00)"),
}

ARTICLE_LANGUAGES = ("en", "zh_Hant", "zh_Hans")
