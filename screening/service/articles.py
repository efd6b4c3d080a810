"""The psychoeducation library: writing, review and publishing, and the public queries.

Workflow: draft -> in_review -> published -> archived (a reviewer may send an article in review
back to draft with a note; its author may withdraw it). Counsellors and social workers write,
a supervisor reviews and publishes; nobody approves their own article. Every transition is
audited."""
from __future__ import annotations

import re
from dataclasses import dataclass

import nh3
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markdown_it import MarkdownIt
from markupsafe import Markup
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from carecycle.audit import record_event
from carecycle.database import utcnow
from carecycle.extensions import db
from carecycle.lifecycle import Conflict, Forbidden, Invalid
from carecycle.permissions import Permission, role_has
from carecycle.urls import as_uuid
from screening.models import ARTICLE_LANGUAGES, AUDIENCES, TOPICS, Article, ArticleBandTag, ArticleStatus, ArticleTopic
from screening.service import instruments

PER_PAGE = 20

# Readers of one script usually read the other too: Chinese readers get both, their own first.
READER_LANGUAGES = {"en": ("en",), "zh_Hant": ("zh_Hant", "zh_Hans"), "zh_Hans": ("zh_Hans", "zh_Hant")}


class ArticleError(Invalid):
    """An article refused: `fields` maps each bad field to its message."""


class TransitionRefused(Forbidden):
    """The action is not allowed for this user or this state (403, audited as permission_denied)."""

    def __init__(self, article: Article, reason: str):
        super().__init__(_("You cannot do this to the article in its present state."), "article", article.id,
                         reason=reason)


class EditConflict(Conflict):
    """The article changed since the form was opened (409)."""

    def __init__(self, article: Article):
        super().__init__(_("Someone else changed this article since you opened it. Reload it to see the "
                           "current version."), current_version=article.version)


# ------------------------------------------------------------------ Markdown
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")

ALLOWED_TAGS = {"p", "h2", "h3", "h4", "ul", "ol", "li", "strong", "em", "a", "blockquote", "code", "pre", "hr",
                "br", "table", "thead", "tbody", "tr", "th", "td"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = {"http", "https"}


def _safe_link(tag: str, attribute: str, value: str) -> str | None:
    """Links to `http:`/`https:` addresses and to paths of this site only: a protocol-relative
    `//host/...` (or `/\\host`, which browsers read the same way) would leave the site unnoticed."""
    if tag != "a" or attribute != "href":
        return value
    link = re.sub(r"[\t\n\r]", "", value).strip()  # browsers drop these inside a URL: "/\n/host" is "//host"
    lowered = link.lower()
    if lowered.startswith(("https://", "http://")) and len(link) > len("https://"):
        return link
    if link.startswith("/") and not link.startswith(("//", "/\\")):
        return link
    if link.startswith("#"):
        return link
    return None


def render_markdown(source: str) -> Markup:
    """Markdown to HTML that is safe to show: no raw HTML, scripts, event handlers, styles, and links
    only to http(s) addresses and this site's own paths."""
    html = _markdown.render(source or "")
    return Markup(nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes=URL_SCHEMES,
                            attribute_filter=_safe_link, link_rel="noopener noreferrer nofollow",
                            strip_comments=True))


# ------------------------------------------------------------------ validation
def parse_tags(raw: str) -> list[tuple[str, str]]:
    """`phq9:moderate, gad7` -> [("phq9", "moderate"), ("gad7", "")]; ArticleError naming unknown ones."""
    known = instruments()
    tags, bad = [], []
    for part in re.split(r"[\s,]+", raw or ""):
        if not part:
            continue
        ident, _, band = part.partition(":")
        instrument = known.get(ident.lower())
        if instrument is None or (band and instrument.band(band.lower()) is None):
            bad.append(part)
            continue
        tag = (instrument.id, band.lower())
        if tag not in tags:
            tags.append(tag)
    if bad:
        raise ArticleError({"tags": _l("Unknown instrument or band: %(tags)s. Write instrument:band, for example "
                                       "phq9:moderate, or just the instrument.", tags=", ".join(bad))})
    return tags


def _clean(values: dict) -> dict:
    data = {key: (values.get(key) or "").strip() for key in ("title", "summary", "body", "sources", "language",
                                                             "audience")}
    data["title"] = " ".join(data["title"].split())
    data["summary"] = " ".join(data["summary"].split())
    topics = [t for t in (values.get("topics") or []) if t]
    errors = {}
    for key, limit in (("title", 200), ("summary", 500), ("body", 20000)):
        if not data[key]:
            errors[key] = _l("Required.")
        elif len(data[key]) > limit:
            errors[key] = _l("Use at most %(n)d characters.", n=limit)
    if len(data["sources"]) > 4000:
        errors["sources"] = _l("Use at most %(n)d characters.", n=4000)
    if data["language"] not in ARTICLE_LANGUAGES:
        errors["language"] = _l("Choose a language.")
    if data["audience"] not in AUDIENCES:
        errors["audience"] = _l("Choose an audience.")
    if not topics:
        errors["topics"] = _l("Choose at least one topic.")
    elif any(t not in TOPICS for t in topics):
        errors["topics"] = _l("Choose topics from the list.")
    try:
        data["tags"] = parse_tags(values.get("tags") or "")
    except ArticleError as error:
        errors.update(error.fields)
    if errors:
        raise ArticleError(errors)
    data["topics"] = list(dict.fromkeys(topics))
    return data


def _apply(article: Article, data: dict) -> None:
    for key in ("title", "summary", "body", "sources", "language", "audience"):
        setattr(article, key, data[key])
    article.topics = [ArticleTopic(topic=t) for t in data["topics"]]
    article.band_tags = [ArticleBandTag(instrument=i, band=b) for i, b in data["tags"]]
    article.updated_at = utcnow()


# ------------------------------------------------------------------ writing
def create(author, values: dict) -> Article:
    data = _clean(values)
    article = Article(status=ArticleStatus.DRAFT.value, author_id=author.id if author else None)
    _apply(article, data)
    db.session.add(article)
    db.session.flush()
    record_event("create", "article", article.id)
    return article


def may_edit(user, article: Article) -> bool:
    return (article.status == ArticleStatus.DRAFT and role_has(user.role, Permission.ARTICLES_WRITE)
            and article.author_id == user.id)


def update(user, article: Article, values: dict, version: int | None) -> None:
    if not may_edit(user, article):
        raise TransitionRefused(article, f"article edit in {article.status}")
    if version is not None and version != article.version:
        raise EditConflict(article)
    _apply(article, _clean(values))
    record_event("update", "article", article.id)


@dataclass(frozen=True)
class Transition:
    action: str
    source: ArticleStatus
    target: ArticleStatus
    permission: Permission
    by_author: bool | None  # True: only the author; False: never the author; None: anyone with the permission
    label: object


TRANSITIONS = {
    "submit": Transition("submit", ArticleStatus.DRAFT, ArticleStatus.IN_REVIEW, Permission.ARTICLES_WRITE, True,
                         _l("Send for review")),
    "withdraw": Transition("withdraw", ArticleStatus.IN_REVIEW, ArticleStatus.DRAFT, Permission.ARTICLES_WRITE,
                           True, _l("Withdraw to draft")),
    "return": Transition("return", ArticleStatus.IN_REVIEW, ArticleStatus.DRAFT, Permission.ARTICLES_REVIEW,
                         False, _l("Send back for changes")),
    "publish": Transition("publish", ArticleStatus.IN_REVIEW, ArticleStatus.PUBLISHED, Permission.ARTICLES_REVIEW,
                          False, _l("Approve and publish")),
    "archive": Transition("archive", ArticleStatus.PUBLISHED, ArticleStatus.ARCHIVED, Permission.ARTICLES_REVIEW,
                          None, _l("Archive")),
}


def allowed_transitions(user, article: Article) -> list[Transition]:
    out = []
    for transition in TRANSITIONS.values():
        if transition.source != article.status or not role_has(user.role, transition.permission):
            continue
        is_author = article.author_id == user.id
        if transition.by_author is True and not is_author:
            continue
        if transition.by_author is False and is_author:
            continue
        out.append(transition)
    return out


def transition(user, article: Article, action: str, note: str | None = None, version: int | None = None) -> None:
    """Move the article along the workflow (the caller commits); TransitionRefused when not allowed."""
    chosen = TRANSITIONS.get(action)
    if chosen is None or chosen not in allowed_transitions(user, article):
        raise TransitionRefused(article, f"article {action} from {article.status}")
    if version is not None and version != article.version:
        raise EditConflict(article)
    note = (note or "").strip()
    if action == "return" and not note:
        raise ArticleError({"note": _l("Say what should change.")})
    if len(note) > 2000:
        raise ArticleError({"note": _l("Use at most %(n)d characters.", n=2000)})
    now = utcnow()
    previous = article.status
    article.status = chosen.target.value
    if action == "submit":
        article.submitted_at, article.review_note = now, None
    elif action == "return":
        article.review_note, article.reviewer_id = note, user.id
    elif action == "publish":
        article.published_at, article.reviewer_id = now, user.id
    elif action == "archive":
        article.archived_at = now
    article.updated_at = now
    record_event("update", "article", article.id, reason=f"{previous}->{article.status}")


# ------------------------------------------------------------------ reading
def get(article_id) -> Article | None:
    key = as_uuid(article_id)
    if key is None:
        return None
    return db.session.get(Article, key)


def published(article_id) -> Article | None:
    """A published article, or None (drafts, reviews and archived articles are not public)."""
    article = get(article_id)
    return article if article is not None and article.status == ArticleStatus.PUBLISHED else None


def library(*, languages: tuple[str, ...] | None, topic: str | None, query: str | None, page: int):
    stmt = select(Article).where(Article.status == ArticleStatus.PUBLISHED.value)
    if languages:
        stmt = stmt.where(Article.language.in_(languages))
    if topic:
        stmt = stmt.where(Article.topics.any(ArticleTopic.topic == topic))
    if query:
        stmt = stmt.where(or_(Article.title.icontains(query, autoescape=True),
                              Article.summary.icontains(query, autoescape=True)))
    stmt = stmt.order_by(Article.published_at.desc(), Article.title)
    return db.paginate(stmt, page=page, per_page=PER_PAGE, error_out=False)


def related(article: Article, limit: int = 4) -> list[Article]:
    """Published articles in the same language sharing a topic, newest first."""
    topics = article.topic_codes
    if not topics:
        return []
    stmt = (select(Article).where(Article.status == ArticleStatus.PUBLISHED.value, Article.id != article.id,
                                  Article.language == article.language,
                                  Article.topics.any(ArticleTopic.topic.in_(topics)))
            .order_by(Article.published_at.desc()).limit(limit))
    return list(db.session.scalars(stmt))


CRISIS_TOPIC = "crisis"
CRISIS_FIRST = 2  # crisis articles put before the band's own on a crisis result


def _published_where(condition, languages: tuple[str, ...], limit: int) -> list[Article]:
    """Published articles meeting `condition` in the reader's languages (else in any), newest first."""
    base = select(Article).where(Article.status == ArticleStatus.PUBLISHED.value, condition)
    order = (Article.published_at.desc(), Article.title)
    rows = list(db.session.scalars(base.where(Article.language.in_(languages)).order_by(*order).limit(limit)))
    if not rows:
        rows = list(db.session.scalars(base.order_by(*order).limit(limit)))
    return rows


def for_result(instrument_id: str, band: str, languages: tuple[str, ...], limit: int = 5, *,
               crisis: bool = False) -> list[Article]:
    """Published articles tagged for this instrument and band (or the instrument as a whole).

    On a result that meets the crisis rule the library's Crisis articles (suicide prevention) come
    first, whatever the band: a low total says nothing about the answers on self-harm."""
    tagged = Article.band_tags.any((ArticleBandTag.instrument == instrument_id)
                                   & ArticleBandTag.band.in_([band, ""]))
    rows = _published_where(tagged, languages, limit)
    if not crisis:
        return rows
    first = _published_where(Article.topics.any(ArticleTopic.topic == CRISIS_TOPIC), languages, CRISIS_FIRST)
    return (first + [row for row in rows if row not in first])[:limit]


def manage_list(user, status: str | None, page: int):
    """Staff list: every article except other people's drafts."""
    stmt = select(Article).where(or_(Article.status != ArticleStatus.DRAFT.value, Article.author_id == user.id))
    if status in {s.value for s in ArticleStatus}:
        stmt = stmt.where(Article.status == status)
    stmt = stmt.options(selectinload(Article.author)).order_by(Article.updated_at.desc())
    return db.paginate(stmt, page=page, per_page=PER_PAGE, error_out=False)

