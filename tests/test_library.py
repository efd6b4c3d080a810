"""The psychoeducation library: sanitised Markdown, the review workflow (nobody approves their own
article, every transition audited), public list with filter, search and pagination."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select

from carecycle.audit import AuditEvent
from screening.models import Article, ArticleBandTag, ArticleStatus, ArticleTopic
from screening.service.articles import render_markdown
from tests.conftest import csrf_from, form_post, sign_in
from tests.screening_helpers import statements_run
from tests.test_screening_pages import take_phq9


# ------------------------------------------------------------------ Markdown sanitising
@pytest.mark.parametrize("source", [
    "<script>alert(1)</script>",
    "hello <img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](  javascript:alert(1))",
    "<a href=\"javascript:alert(1)\">x</a>",
    "<div onclick=\"alert(1)\">x</div>",
    "![x](javascript:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "<iframe src=\"https://example.org\"></iframe>",
    "<style>body{display:none}</style>",
    "| a |\n|--:|\n| b |",
])
def test_markdown_output_has_no_script_handlers_styles_or_javascript_links(source):
    elements = parse(str(render_markdown(source)))
    for tag, attributes in elements:
        assert tag not in {"script", "style", "iframe", "img", "div"}, tag
        for name, value in attributes:
            assert not name.startswith("on") and name != "style", name
            if name in ("href", "src"):
                assert value.strip().lower().startswith(("http:", "https:", "/")), value


@pytest.mark.parametrize("href", ["//evil.example/phish", "/\\evil.example/phish", "\\\\evil.example",
                                  "/\n/evil.example", " //evil.example", "javascript:alert(1)", "data:text/html,x",
                                  "mailto:x@evil.example", "https://"])
def test_links_that_leave_the_site_unnoticed_are_dropped(href):
    """Protocol-relative links (and the forms browsers read as such) lose their href."""
    html = str(render_markdown(f"[help]({href})" if " " not in href and "\n" not in href
                               else f'<a href="{href}">help</a> [help](<{href}>)'))
    for _tag, attributes in parse(html):
        kept = dict(attributes).get("href")
        # dropped, or made harmless by the Markdown renderer (a backslash becomes the path's %5C)
        assert kept is None or (kept.startswith("/") and kept[1:2] not in ("/", "\\")), (href, html)


@pytest.mark.parametrize("href", ["https://www.who.int/health-topics", "http://example.org/a", "/library/sleep",
                                  "#section"])
def test_http_links_and_site_paths_are_kept(href):
    html = str(render_markdown(f"[help]({href})"))
    assert f'href="{href}"' in html


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.elements = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, attrs))


def parse(html: str) -> list:
    collector = _Collector()
    collector.feed(html)
    return collector.elements


def test_markdown_keeps_ordinary_formatting_and_safe_links():
    html = str(render_markdown("## Sleep\n\n- **Keep** a routine\n- see [the guide](https://example.org/a)"))
    assert "<h2>Sleep</h2>" in html and "<strong>Keep</strong>" in html
    assert '<a href="https://example.org/a" rel="noopener noreferrer nofollow">the guide</a>' in html


# ------------------------------------------------------------------ helpers
ARTICLE = {"title": "Sleeping after a disaster", "summary": "Why sleep is hard after a shock, and what helps.",
           "body": "## Why\n\nYour body stays on alert.", "sources": "WHO, Psychological first aid, 2011",
           "language": "en", "audience": "everyone", "topics": ["sleep", "trauma"], "tags": "pcl5, phq9:mild"}


def write_article(client, **changes):
    return form_post(client, "/library/manage/new", {**ARTICLE, **changes})


def act(client, article_id, action, **fields):
    page = f"/library/manage/{article_id}"
    token = csrf_from(client.get("/"))
    return client.post(f"{page}/{action}", data={"csrf_token": token, **fields})


def published_article(db, **fields) -> Article:
    values = {"title": "A", "summary": "S", "body": "B", "sources": "", "language": "en", "audience": "everyone",
              "status": ArticleStatus.PUBLISHED.value, **fields}
    topics = values.pop("topics", ["stress"])
    tags = values.pop("tags", [])
    article = Article(**values)
    from carecycle.database import utcnow
    article.published_at = values.get("published_at") or utcnow()
    article.topics = [ArticleTopic(topic=t) for t in topics]
    article.band_tags = [ArticleBandTag(instrument=i, band=b) for i, b in tags]
    db.session.add(article)
    db.session.commit()
    return article


# ------------------------------------------------------------------ workflow
def test_write_review_publish_and_archive(app, client, db, make_user):
    counsellor = make_user("counsellor")
    supervisor = make_user("supervisor")
    sign_in(client, counsellor.username)
    response = write_article(client)
    assert response.status_code == 302
    article = db.session.scalar(select(Article))
    assert article.status == "draft" and article.author_id == counsellor.id
    assert article.topic_codes == ["sleep", "trauma"] and sorted(article.tag_codes) == ["pcl5", "phq9:mild"]
    public = app.test_client()
    assert public.get(f"/library/{article.id}").status_code == 404
    assert "Sleeping after a disaster" not in public.get("/library/").get_data(as_text=True)

    assert act(client, article.id, "submit").status_code == 302
    reviewer = app.test_client()
    sign_in(reviewer, supervisor.username)
    assert act(reviewer, article.id, "publish").status_code == 302
    db.session.refresh(article)
    assert article.status == "published" and article.reviewer_id == supervisor.id
    page = public.get(f"/library/{article.id}").get_data(as_text=True)
    assert "<h2>Why</h2>" in page and "WHO, Psychological first aid, 2011" in page
    assert "Sleeping after a disaster" in public.get("/library/").get_data(as_text=True)

    assert act(reviewer, article.id, "archive").status_code == 302
    assert public.get(f"/library/{article.id}").status_code == 404
    reasons = [e.reason for e in db.session.scalars(select(AuditEvent).where(
        AuditEvent.object_type == "article", AuditEvent.action == "update").order_by(AuditEvent.seq))]
    assert reasons == ["draft->in_review", "in_review->published", "published->archived"]


def test_nobody_approves_their_own_article(client, db, make_user):
    supervisor = make_user("supervisor")
    sign_in(client, supervisor.username)
    write_article(client)
    article = db.session.scalar(select(Article))
    assert act(client, article.id, "submit").status_code == 302
    assert act(client, article.id, "publish").status_code == 403
    db.session.refresh(article)
    assert article.status == "in_review"
    denied = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "permission_denied",
                                                        AuditEvent.object_id == str(article.id)))
    assert denied is not None and "publish" in denied.reason


def test_writers_cannot_publish(app, client, db, make_user):
    sign_in(client, make_user("social_worker").username)
    write_article(client)
    article = db.session.scalar(select(Article))
    act(client, article.id, "submit")
    other = app.test_client()
    sign_in(other, make_user("counsellor").username)
    assert act(other, article.id, "publish").status_code == 403
    assert act(other, article.id, "withdraw").status_code == 403  # only the author withdraws
    db.session.refresh(article)
    assert article.status == "in_review"


def test_return_needs_a_note_and_goes_back_to_draft(app, client, db, make_user):
    sign_in(client, make_user("counsellor").username)
    write_article(client)
    article = db.session.scalar(select(Article))
    act(client, article.id, "submit")
    reviewer = app.test_client()
    sign_in(reviewer, make_user("supervisor").username)
    assert act(reviewer, article.id, "return").status_code == 400
    assert act(reviewer, article.id, "return", note="Please add a source for the second claim.").status_code == 302
    db.session.refresh(article)
    assert article.status == "draft" and article.review_note.startswith("Please add")
    assert "Please add a source" in client.get(f"/library/manage/{article.id}").get_data(as_text=True)


def test_other_peoples_drafts_are_hidden_and_not_editable(app, client, db, make_user):
    sign_in(client, make_user("counsellor").username)
    write_article(client)
    article = db.session.scalar(select(Article))
    other = app.test_client()
    sign_in(other, make_user("counsellor").username)
    assert other.get(f"/library/manage/{article.id}").status_code == 404
    assert other.get(f"/library/manage/{article.id}/edit").status_code == 404
    assert "Sleeping after a disaster" not in other.get("/library/manage").get_data(as_text=True)


def test_residents_and_admins_cannot_write(client, login_as):
    login_as("resident")
    assert client.get("/library/manage").status_code == 403
    assert client.get("/library/manage/new").status_code == 403


def test_admins_cannot_write_or_review(app, client, db, make_user):
    sign_in(client, make_user("counsellor").username)
    write_article(client)
    article = db.session.scalar(select(Article))
    act(client, article.id, "submit")
    admin = app.test_client()
    sign_in(admin, make_user("admin").username)
    assert admin.get("/library/manage").status_code == 403
    assert admin.get("/library/manage/new").status_code == 403
    assert admin.get(f"/library/manage/{article.id}").status_code == 403
    assert act(admin, article.id, "publish").status_code == 403
    db.session.refresh(article)
    assert article.status == "in_review"


def test_an_unknown_action_is_refused_and_audited(client, db, login_as):
    login_as("counsellor")
    write_article(client)
    article = db.session.scalar(select(Article))
    assert act(client, article.id, "delete").status_code == 403
    db.session.refresh(article)
    assert article.status == "draft"
    denied = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "permission_denied",
                                                        AuditEvent.object_id == str(article.id)))
    assert denied is not None and "delete" in denied.reason


def test_a_transition_without_csrf_token_changes_nothing(client, db, login_as):
    login_as("counsellor")
    write_article(client)
    article = db.session.scalar(select(Article))
    assert client.post(f"/library/manage/{article.id}/submit", data={}).status_code == 400
    db.session.refresh(article)
    assert article.status == "draft"


def test_an_article_in_review_is_no_longer_editable_by_its_author(client, db, login_as):
    login_as("counsellor")
    write_article(client)
    article = db.session.scalar(select(Article))
    act(client, article.id, "submit")
    edit = f"/library/manage/{article.id}/edit"
    assert client.get(edit).status_code == 403
    token = csrf_from(client.get(f"/library/manage/{article.id}"))
    assert client.post(edit, data={**ARTICLE, "title": "Changed in review", "csrf_token": token}).status_code == 403
    db.session.refresh(article)
    assert article.title == ARTICLE["title"] and article.status == "in_review"


def test_the_staff_list_reads_the_authors_in_one_query(app, client, db, make_user):
    sign_in(client, make_user("counsellor").username)

    def author_queries() -> int:
        with statements_run(db) as seen:
            assert client.get("/library/manage").status_code == 200
        return sum(1 for statement in seen if "FROM user_account" in statement)

    write_article(client)
    one = author_queries()
    for index in range(3):
        writer = app.test_client()
        sign_in(writer, make_user("social_worker").username)
        write_article(writer, title=f"Article {index}")
        act(writer, db.session.scalar(select(Article.id).where(Article.title == f"Article {index}")), "submit")
    page = client.get("/library/manage").get_data(as_text=True)
    assert all(f"Article {index}" in page for index in range(3))
    assert author_queries() == one


def test_bad_article_input_stores_nothing(client, db, login_as):
    login_as("counsellor")
    for changes, field in ((dict(title=""), "title"), (dict(topics=[]), "topics"),
                           (dict(tags="phq9:awful"), "tags"), (dict(tags="xyz"), "tags"),
                           (dict(language="fr"), "language"), (dict(topics=["gardening"]), "topics")):
        response = write_article(client, **changes)
        assert response.status_code == 400, changes
        assert f'id="{field}-error"' in response.get_data(as_text=True) or field == "topics", changes
    assert db.session.scalar(select(func.count()).select_from(Article)) == 0


def test_editing_a_draft_and_a_stale_edit_is_a_conflict(client, db, login_as):
    login_as("counsellor")
    write_article(client)
    article = db.session.scalar(select(Article))
    edit = f"/library/manage/{article.id}/edit"
    page = client.get(edit).get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)
    token = csrf_from(client.get(edit))
    data = {**ARTICLE, "title": "Sleep after a shock", "version": version, "csrf_token": token}
    assert client.post(edit, data=data).status_code == 302
    stale = client.post(edit, data={**data, "title": "Overwritten"})
    assert stale.status_code == 409
    db.session.refresh(article)
    assert article.title == "Sleep after a shock"


# ------------------------------------------------------------------ public pages
def test_topic_filter_search_and_pagination(client, db):
    for n in range(25):
        published_article(db, title=f"Stress note {n:02d}", summary="About stress", topics=["stress"])
    published_article(db, title="Grief after loss", summary="When someone dies", topics=["grief"])
    first = client.get("/library/?topic=stress").get_data(as_text=True)
    assert first.count('<li lang="en">') == 20 and "Grief after loss" not in first
    assert "Page 1 of 2" in first
    second = client.get("/library/?topic=stress&page=2").get_data(as_text=True)
    assert second.count('<li lang="en">') == 5
    found = client.get("/library/?q=dies").get_data(as_text=True)
    assert "Grief after loss" in found and "Stress note" not in found
    none = client.get("/library/?q=%25").get_data(as_text=True)  # LIKE wildcards are literal
    assert "No articles match" in none
    assert client.get("/library/?topic=bogus").status_code == 200
    assert client.get("/library/?page=x").status_code == 400  # a page number that is not one is refused


def test_language_preference_of_the_list(client, db):
    published_article(db, title="English piece", language="en")
    published_article(db, title="中文文章", language="zh_Hant")
    assert "中文文章" not in client.get("/library/").get_data(as_text=True)
    assert "中文文章" in client.get("/library/?language=all").get_data(as_text=True)
    token = csrf_from(client.get("/"))
    client.post("/language", data={"csrf_token": token, "language": "zh_Hans", "next": "/"})
    page = client.get("/library/").get_data(as_text=True)
    assert "中文文章" in page and "English piece" not in page


def test_article_page_shows_related_articles(client, db):
    main = published_article(db, title="Main", topics=["sleep"])
    published_article(db, title="Sibling", topics=["sleep", "stress"])
    published_article(db, title="Unrelated", topics=["alcohol"])
    published_article(db, title="Draft sibling", topics=["sleep"], status="draft")
    page = client.get(f"/library/{main.id}").get_data(as_text=True)
    assert "Sibling" in page and "Unrelated" not in page and "Draft sibling" not in page


def test_unknown_or_draft_article_is_404(client, db):
    draft = published_article(db, status="in_review")
    assert client.get(f"/library/{draft.id}").status_code == 404
    assert client.get("/library/not-a-uuid").status_code == 404


def test_result_page_links_articles_tagged_for_the_band(client, db):
    published_article(db, title="For mild low mood", tags=[("phq9", "mild")])
    published_article(db, title="For any PHQ-9", tags=[("phq9", "")])
    published_article(db, title="For severe", tags=[("phq9", "severe")])
    location = take_phq9(client, [1] * 6 + [0] * 3).headers["Location"]
    page = client.get(location).get_data(as_text=True)
    assert "For mild low mood" in page and "For any PHQ-9" in page and "For severe" not in page
