"""Translations: both Chinese catalogs complete for the current source, and the language
chosen from the browser's Accept-Language or, for a signed-in user, from the language form."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

try:
    from babel.messages.frontend import parse_mapping_cfg
except ImportError:  # Babel < 2.15
    from babel.messages.frontend import parse_mapping as parse_mapping_cfg

from carecycle.extensions import db as _db
from tests.conftest import form_post, sign_in

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "carecycle" / "translations"
LOCALES = ("zh_Hant", "zh_Hans")
# The keywords of `make i18n-update` (pybabel's defaults plus -k _l -k lazy_gettext -k said).
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "said": None}
HOW_TO_FIX = "Run `make i18n-update` and translate them in carecycle/translations/*/LC_MESSAGES/messages.po."


def po_path(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"


def read_catalog(locale: str):
    with po_path(locale).open("rb") as handle:
        return read_po(handle, locale=locale)


def msgid_text(msgid) -> str:
    return msgid[0] if isinstance(msgid, (tuple, list)) else msgid


def is_translated(message) -> bool:
    strings = message.string if isinstance(message.string, (tuple, list)) else (message.string,)
    return bool(strings) and all(s and s.strip() for s in strings)


def extracted_messages() -> dict[tuple[str, str | None], str]:
    """Every translatable message in the source, as `make i18n-update` extracts it:
    {(msgid, context): "file:line"}."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle, str(ROOT / "babel.cfg"))
    found = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS):
        found.setdefault((msgid_text(message), context), f"{filename}:{lineno}")
    return found


@pytest.fixture(scope="module")
def compiled(app):
    """Compile a catalog whose .mo is missing or older than its .po (`make test` does this
    first), so the page tests never see stale translations."""
    changed = False
    for locale in LOCALES:
        po = po_path(locale)
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        catalog = read_catalog(locale)
        tmp = mo.with_name(f"{mo.name}.{os.getpid()}.tmp")
        try:
            with tmp.open("wb") as handle:
                write_mo(handle, catalog)
            os.replace(tmp, mo)  # atomic: a concurrent run never reads half a file
        finally:
            tmp.unlink(missing_ok=True)
        changed = True
    # Forget translations an earlier test may have loaded before the .mo was (re)compiled.
    domain = vars(app.extensions["babel"].instance).get("domain_instance")
    if changed and domain is not None:
        domain.cache.clear()


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_is_translated(locale):
    catalog = read_catalog(locale)
    assert not catalog.fuzzy, f"the header of {po_path(locale)} is marked fuzzy"
    messages = [m for m in catalog if m.id]
    assert messages, f"{po_path(locale)} has no messages"
    untranslated = [msgid_text(m.id) for m in messages if not is_translated(m)]
    fuzzy = [msgid_text(m.id) for m in messages if m.fuzzy]
    assert not untranslated and not fuzzy, (
        f"{po_path(locale)}:\n untranslated:\n  " + "\n  ".join(untranslated)
        + "\n fuzzy (check the translation, then remove the flag):\n  " + "\n  ".join(fuzzy))


@pytest.mark.parametrize("locale", LOCALES)
def test_placeholders_match(locale):
    """A translation keeps the msgid's placeholders (%(name)s, %(n)d), or formatting fails at run time."""
    problems = [f"{msgid_text(message.id)!r}: {'; '.join(map(str, errors))}"
                for message, errors in read_catalog(locale).check()]
    assert not problems, f"{locale}: bad placeholders:\n  " + "\n  ".join(problems)


def test_catalogs_are_complete_for_the_source():
    extracted = extracted_messages()
    assert ("Sign in", None) in extracted, "extraction found nothing; check babel.cfg"
    report = []
    for locale in LOCALES:
        catalog = read_catalog(locale)
        missing = []
        for (msgid, context), where in sorted(extracted.items(), key=lambda item: item[0][0]):
            message = catalog.get(msgid, context=context)
            if message is None or not is_translated(message) or message.fuzzy:
                missing.append(f"{msgid!r} ({where})")
        if missing:
            report.append(f"{locale}: {len(missing)} message(s) missing or untranslated:\n  " + "\n  ".join(missing))
    assert not report, "\n".join(report) + "\n" + HOW_TO_FIX


@pytest.mark.parametrize("header, lang, expected, absent", [
    ("zh-TW", "zh-Hant", ["登入", "忘記密碼"], ["登录", "Sign in"]),
    ("zh-HK,zh;q=0.9,en;q=0.8", "zh-Hant", ["登入", "忘記密碼"], ["登录", "Sign in"]),
    ("zh-CN", "zh-Hans", ["登录", "忘记密码"], ["登入", "Sign in"]),
    ("en", "en", ["Sign in", "Forgot your password?"], ["登入", "登录"]),
])
def test_login_page_follows_accept_language(client, compiled, header, lang, expected, absent):
    response = client.get("/login", headers={"Accept-Language": header})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f'<html lang="{lang}">' in page
    for text in expected:
        assert text in page, f"{text!r} not on the login page for Accept-Language: {header}"
    for text in absent:
        assert text not in page, f"{text!r} on the login page for Accept-Language: {header}"


def test_language_form_overrides_accept_language(app, client, db, login_as, compiled):
    user = login_as("counsellor")
    english = {"Accept-Language": "en"}
    before = client.get("/", headers=english).get_data(as_text=True)
    assert "My day" in before and "退出登录" not in before

    response = form_post(client, "/language", {"language": "zh_Hans", "next": "/"}, page="/", headers=english)
    assert response.status_code == 302

    page = client.get("/", headers=english).get_data(as_text=True)
    assert '<html lang="zh-Hans">' in page
    assert "今日工作" in page and "退出登录" in page and "辅导员" in page
    assert "My day" not in page and "Sign out" not in page

    # The choice is kept on the account: a new sign-in elsewhere starts in Simplified Chinese.
    _db.session.expire_all()
    assert _db.session.get(type(user), user.id).locale == "zh_Hans"
    other = app.test_client()
    response = sign_in(other, user.username, headers=english)
    assert response.status_code == 302
    assert "退出登录" in other.get("/", headers=english).get_data(as_text=True)


def test_unknown_language_is_refused(client, db, login_as):
    login_as("counsellor")
    response = form_post(client, "/language", {"language": "fr"}, page="/")
    assert response.status_code == 400


@pytest.mark.parametrize("language, required", [("zh-TW", "此欄位是必需的。"), ("zh-CN", "该字段是必填字段。"),
                                                ("en", "This field is required.")])
def test_wtforms_messages_come_in_the_pages_script_when_a_form_needs_them(app, language, required):
    """The catalogue is found on first use (a request that shows no form never looks the locale up)."""
    from flask_wtf import FlaskForm
    from wtforms import StringField
    from wtforms.validators import DataRequired

    from carecycle.i18n import load_wtforms_translations

    class Form(FlaskForm):
        class Meta:
            csrf = False
        name = StringField(validators=[DataRequired()])

    with app.test_request_context("/x", method="POST", data={}, headers={"Accept-Language": language}):
        load_wtforms_translations()
        form = Form()
        assert not form.validate()
        assert form.errors == {"name": [required]}
