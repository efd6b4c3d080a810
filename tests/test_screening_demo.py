"""Demo data of the screening area: example crisis resources and at least 12 sourced articles in
English and Traditional Chinese covering every topic; loading twice creates nothing new."""
from __future__ import annotations

import tomllib

from sqlalchemy import func, select

from screening.demo import article_files, load_demo
from screening.models import TOPICS, Article, ArticleStatus, CrisisResource
from screening.service.definitions import BUILTIN_DIR, load_instruments


def test_demo_load_is_idempotent(db, make_user):
    author = make_user("counsellor", username="counsellor")
    make_user("supervisor", username="supervisor")
    said = []
    load_demo(said.append)
    db.session.commit()
    articles = db.session.scalar(select(func.count()).select_from(Article))
    resources = db.session.scalar(select(func.count()).select_from(CrisisResource))
    assert resources == 9 and articles >= 24
    load_demo(said.append)
    db.session.commit()
    assert said[-2:] == ["screening: 0 example crisis resource(s) created",
                         f"screening: 0 article(s) created, {articles} already there"]
    assert db.session.scalar(select(func.count()).select_from(Article)) == articles
    assert db.session.scalar(select(func.count()).select_from(CrisisResource)) == resources
    assert all(r.is_example for r in db.session.scalars(select(CrisisResource)))
    rows = db.session.scalars(select(Article)).all()
    by_language = {lang: [a for a in rows if a.language == lang] for lang in ("en", "zh_Hant")}
    assert len(by_language["en"]) >= 12 and len(by_language["zh_Hant"]) >= 12
    assert all(a.status == ArticleStatus.PUBLISHED and a.sources.strip() and a.author_id == author.id for a in rows)
    assert {t for a in by_language["en"] for t in a.topic_codes} == set(TOPICS)
    assert {t for a in by_language["zh_Hant"] for t in a.topic_codes} == set(TOPICS)


def test_demo_articles_are_well_formed():
    known = load_instruments([BUILTIN_DIR])
    assert len(article_files()) >= 12
    for path in article_files():
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        assert set(data["topics"]) <= set(TOPICS), path.name
        assert len(data["sources"].strip().splitlines()) >= 1, path.name
        for tag in data.get("tags", []):
            ident, _, band = tag.partition(":")
            assert ident in known and (not band or known[ident].band(band)), f"{path.name}: {tag}"
        for language in ("en", "zh_Hant"):
            version = data[language]
            assert version["title"] and version["summary"] and len(version["body"]) > 300, path.name
