"""Language choice: the user's setting, else the session's, else Accept-Language."""
from __future__ import annotations

from flask import current_app, has_request_context, request, session
from flask_login import current_user

TRADITIONAL = ("zh-tw", "zh-hk", "zh-mo", "zh-hant")


def match_accept_language(header_values) -> str:
    for value, _quality in header_values:
        tag = value.lower().replace("_", "-")
        if tag.startswith("en"):
            return "en"
        if tag.startswith("zh"):
            return "zh_Hant" if tag.startswith(TRADITIONAL) else "zh_Hans"
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if not request.path.startswith("/api/") and current_user and current_user.is_authenticated \
            and current_user.locale in languages:
        return current_user.locale
    if session.get("locale") in languages:
        return session["locale"]
    return match_accept_language(request.accept_languages)
