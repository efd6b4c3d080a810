"""Language choice: the user's setting, else the session's, else Accept-Language."""
from __future__ import annotations

from functools import cache, lru_cache
from typing import Any, cast

from babel import Locale, UnknownLocaleError
from flask import current_app, has_request_context, request, session
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from carecycle.permissions import is_api_request

TRADITIONAL = ("zh-tw", "zh-hk", "zh-mo", "zh-hant")


def match_accept_language(header_values) -> str:
    for value, _quality in header_values:
        tag = value.lower().replace("_", "-")
        if tag.startswith("en"):
            return "en"
        if tag.startswith("zh"):
            return "zh_Hant" if tag.startswith(TRADITIONAL) else "zh_Hans"
    return current_app.config["BABEL_DEFAULT_LOCALE"]


WTFORMS_LOCALES = {"zh_Hant": "zh_TW", "zh_Hans": "zh", "en": "en"}


def load_wtforms_translations() -> None:
    """WTForms' own messages (e.g. "This field is required.") in the page's script: its `zh`
    catalogue is Simplified, so Traditional pages take its `zh_TW` one. The API renders no forms."""
    if is_api_request():
        return
    # read by Flask-WTF from the request object (an attribute Werkzeug's Request does not declare);
    # the page's language is only looked up when a form message is translated (a request that shows
    # no form, such as /healthz, never resolves the locale and the signed-in user for it)
    cast(Any, request).wtforms_translations = _PageCatalogue()


class _PageCatalogue:
    """WTForms' catalogue in the page's script, found on first use."""

    __slots__ = ("_found",)

    def __init__(self):
        self._found = None

    def _catalogue(self):
        if self._found is None:
            from flask_babel import get_locale
            self._found = _wtforms_catalogue(WTFORMS_LOCALES.get(str(get_locale()), "en"))
        return self._found

    def ugettext(self, string):
        return self._catalogue().ugettext(string)

    def ungettext(self, singular, plural, n):
        return self._catalogue().ungettext(singular, plural, n)


@cache
def _wtforms_catalogue(locale: str):
    """Read once per process: the catalogues are only looked up, never changed."""
    from babel import support
    from flask_wtf.i18n import messages_path
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if not is_api_request() and current_user and current_user.is_authenticated \
            and current_user.locale in languages:
        return current_user.locale
    if session.get("locale") in languages:
        return session["locale"]
    return match_accept_language(request.accept_languages)


# Codes Unicode's language names lack, or name otherwise than a service would.
_OWN_LANGUAGE_NAMES = {"cmn": _l("Mandarin"), "sgn": _l("Sign language"), "zh": _l("Chinese (written)"),
                       "other": _l("Other")}


@lru_cache(maxsize=1024)
def _language_name(code: str, reader: str) -> str | None:
    try:
        locale = Locale.parse(reader)
        name = locale.languages.get(code)
        if name is None and code:
            name = Locale.parse(code.replace("-", "_")).get_display_name(locale)
        return name
    except (ValueError, TypeError, UnknownLocaleError):
        return None


def language_name(code: str, fallback: str | None = None) -> str:
    """A language code (ISO 639 such as `hi` or `yue`, or a page language such as `zh_Hant`) named
    in the reader's language, from Unicode's locale data; unknown codes show `fallback` or the code."""
    if code in _OWN_LANGUAGE_NAMES:
        return str(_OWN_LANGUAGE_NAMES[code])
    return _language_name(code, str(get_locale())) or fallback or code
