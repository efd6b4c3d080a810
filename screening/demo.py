"""Demo data of the screening area: example crisis resources and the published library articles.

Both live as TOML files under `screening/demo_content/`. Loading is idempotent: a resource with
the same language and name, or an article with the same language and title, is left alone."""
from __future__ import annotations

import tomllib
from pathlib import Path

from sqlalchemy import select

from carecycle.accounts.models import User
from carecycle.audit import record_event
from carecycle.database import utcnow
from carecycle.extensions import db
from screening.models import Article, ArticleBandTag, ArticleStatus, ArticleTopic, CrisisResource

CONTENT = Path(__file__).resolve().parent / "demo_content"


def load_demo(echo=print) -> None:
    created = _load_resources()
    echo(f"screening: {created} example crisis resource(s) created")
    created, total = _load_articles()
    echo(f"screening: {created} article(s) created, {total - created} already there")


def _load_resources() -> int:
    data = tomllib.loads((CONTENT / "crisis_resources.toml").read_text(encoding="utf-8"))
    created = 0
    for entry in data["resource"]:
        exists = db.session.scalar(select(CrisisResource.id).where(CrisisResource.language == entry["language"],
                                                                   CrisisResource.name == entry["name"]))
        if exists:
            continue
        resource = CrisisResource(language=entry["language"], name=entry["name"], phone=entry["phone"],
                                  hours=entry["hours"], description=entry.get("description"),
                                  is_example=True, position=entry.get("position", 0))
        db.session.add(resource)
        db.session.flush()
        record_event("create", "crisis_resource", resource.id, reason="demo")
        created += 1
    return created


def article_files() -> list[Path]:
    return sorted((CONTENT / "articles").glob("*.toml"))


def _user(username: str):
    return db.session.scalar(select(User).where(User.username == username))


def _load_articles() -> tuple[int, int]:
    author, reviewer = _user("counsellor"), _user("supervisor")
    created = total = 0
    for path in article_files():
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        for language in ("en", "zh_Hant", "zh_Hans"):
            version = data.get(language)
            if version is None:
                continue
            total += 1
            exists = db.session.scalar(select(Article.id).where(Article.language == language,
                                                                Article.title == version["title"]))
            if exists:
                continue
            now = utcnow()
            article = Article(title=version["title"], summary=version["summary"], body=version["body"].strip(),
                              sources=version.get("sources", data.get("sources", "")).strip(), language=language,
                              audience=data.get("audience", "everyone"), status=ArticleStatus.PUBLISHED.value,
                              author_id=author.id if author else None, reviewer_id=reviewer.id if reviewer else None,
                              created_at=now, updated_at=now, submitted_at=now, published_at=now)
            article.topics = [ArticleTopic(topic=topic) for topic in data["topics"]]
            article.band_tags = [ArticleBandTag(instrument=tag.partition(":")[0], band=tag.partition(":")[2])
                                 for tag in data.get("tags", [])]
            db.session.add(article)
            db.session.flush()
            record_event("create", "article", article.id, reason="demo")
            created += 1
    return created, total
