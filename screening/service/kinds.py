"""The screening records `carecycle.lifecycle.load_visible` loads for a user, and who sees each.

A screening result is seen in the browser session that took it, or by the resident whose account
it is linked to (and then by no one else, and the read is audited); staff open articles that are
not someone else's draft, crisis resources, residents' contact requests (that read audited) and
questionnaire translation packs."""
from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import false, or_, true

from carecycle.audit import record_view
from carecycle.lifecycle import register_kind
from carecycle.urls import as_uuid
from screening.models import Article, ArticleStatus, ContactRequest, CrisisResource, ScreeningResult, TranslationPack
from screening.service.results import links_to_account


def _results(session_ids: Callable[[], list[str]]):
    def clause(user):
        own = ScreeningResult.user_id == user.id if links_to_account(user) else false()
        taken_here = [key for key in map(as_uuid, session_ids()) if key]
        anonymous = (ScreeningResult.user_id.is_(None) & ScreeningResult.id.in_(taken_here)) if taken_here else false()
        return or_(own, anonymous)
    return clause


def _audit_linked(result: ScreeningResult, _user) -> None:
    if result.user_id is not None:
        record_view("screening_result", result.id)


def _staff_articles(user):
    return or_(Article.status != ArticleStatus.DRAFT.value, Article.author_id == user.id)


def register_kinds(app, session_ids: Callable[[], list[str]]) -> None:
    """`session_ids`: the ids of the results taken in this browser session (the pages keep them)."""
    register_kind(app, "screening_result", ScreeningResult, _results(session_ids), audited=False,
                  on_load=_audit_linked)
    register_kind(app, "article", Article, _staff_articles, audited=False)
    register_kind(app, "crisis_resource", CrisisResource, lambda _user: true(), audited=False)
    register_kind(app, "contact_request", ContactRequest, lambda _user: true())
    # public text, no one's record: the pages' permission (translations_view) is the rule
    register_kind(app, "translation_pack", TranslationPack, lambda _user: true(), audited=False)
