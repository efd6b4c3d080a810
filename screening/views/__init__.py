"""Screening pages: the catalogue, one form per instrument (server-side steps for skip logic),
results, "ask to be contacted", history, resident sign-up, crisis resources, and the library."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from carecycle import ratelimit
from carecycle.accounts import service as accounts
from carecycle.forms import ConfirmForm, place_errors
from carecycle.lifecycle import attempt, load_visible
from carecycle.permissions import PUBLIC, Permission, requires
from carecycle.urls import page_arg
from screening.forms import ArticleForm, ContactForm, CrisisResourceForm, RegisterForm, TransitionForm
from screening.models import AUDIENCES, PREFERRED_TIMES, TOPICS, ArticleStatus
from screening.service import articles as library_service
from screening.service import (
    charts,
    contact,
    crisis,
    get_instrument,
    instruments,
    results,
    scoring,
    text,
    translations,
)
from screening.service.scoring import InvalidAnswers

screening = Blueprint("screening", __name__)
library = Blueprint("library", __name__, url_prefix="/library")

SESSION_RESULTS = "screening_results"
KEEP_IN_SESSION = 20


@screening.app_template_global("localized")
def localized(value, language=None) -> str:
    """A per-language text of a definition in the reader's language (or the one given), else English."""
    return text(value, language or locale())


@screening.app_template_global("emergency_number")
def emergency_number() -> str:
    """The emergency number the service is in (CARECYCLE_SCREENING_EMERGENCY_NUMBER), or "" when not set."""
    return current_app.config.get("SCREENING_EMERGENCY_NUMBER", "")


@screening.app_template_global("form_value")
def form_value(value) -> str:
    """An answer as the radio value of the form: yes/no for true/false, digits for numbers."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def locale() -> str:
    return str(get_locale() or "en")


def reader_languages() -> tuple[str, ...]:
    return library_service.READER_LANGUAGES.get(locale(), ("en",))


def session_results() -> list[str]:
    return list(session.get(SESSION_RESULTS, []))


def remember_result(result_id) -> None:
    kept = [value for value in session_results() if value != str(result_id)]
    session[SESSION_RESULTS] = (kept + [str(result_id)])[-KEEP_IN_SESSION:]


# ------------------------------------------------------------------ catalogue and forms
@screening.route("/screening/")
@requires(PUBLIC)
def index():
    return render_template("screening/index.html", instruments=results.catalogue(instruments()))


def _parse_value(item, raw: str):
    """A submitted radio value as the printed value, or raise ValueError (tampered or unknown)."""
    if item.yes_no:
        if raw in ("yes", "no"):
            return raw == "yes"
        raise ValueError(raw)
    if not raw.lstrip("-").isdigit() or len(raw) > 4:
        raise ValueError(raw)
    value = int(raw)
    if value not in item.values:
        raise ValueError(raw)
    return value


def _read_form(instrument, form):
    """Given answers, per-item errors, the sex answer and the item numbers shown on the submitted step."""
    given, errors = {}, {}
    for item in instrument.items:
        raw = form.get(f"item-{item.number}")
        if raw is None or raw == "":
            continue
        try:
            given[item.number] = _parse_value(item, raw)
        except ValueError:
            errors[item.number] = _("This answer is not one of the choices. Choose one of them.")
    shown = set()
    for raw in form.getlist("shown"):
        if raw.isdigit() and 1 <= int(raw) <= instrument.item_count:
            shown.add(int(raw))
    sex = form.get("sex") or None
    return given, errors, sex, shown


def _read_unscored(instrument, form) -> tuple[dict, dict]:
    """The form's unscored questions (optional): ({code: value}, {"unscored-<code>": message})."""
    given, errors = {}, {}
    for item in instrument.unscored:
        raw = form.get(f"unscored-{item.code}")
        if raw is None or raw == "":
            continue
        value = int(raw) if raw.lstrip("-").isdigit() else None
        if value is None or value not in [o.value for o in item.options]:
            errors[f"unscored-{item.code}"] = _("This answer is not one of the choices. Choose one of them.")
        else:
            given[item.code] = value
    return given, errors


@screening.route("/screening/<instrument_id>", methods=["GET", "POST"])
@requires(PUBLIC)
@ratelimit.counted("screening", "SCREENING_RATE_LIMIT", "SCREENING_RATE_WINDOW")
def take(instrument_id):
    definition = get_instrument(instrument_id)
    if definition is None:
        abort(404)
    version = translations.for_reader(definition, locale())
    instrument, language = version.instrument, version.language
    given, errors, sex, shown, general, unscored = {}, {}, None, set(), [], {}
    step = scoring.plan(instrument, {})
    if request.method == "POST" and not ratelimit.within_limit():
        flash(_("Many screenings were sent from your connection in a short time. Wait a few minutes "
                "and try again."), "error")
        return _render_form(version, step, given, errors, sex, shown, general, unscored), 429
    if request.method == "POST":
        answered = _answered_version(definition, request.form.get("translation"), version)
        instrument, language = answered.instrument, answered.language
        given, errors, sex, shown = _read_form(instrument, request.form)
        unscored, unscored_errors = _read_unscored(instrument, request.form)
        errors.update(unscored_errors)
        step = scoring.plan(instrument, given)
        tampered = [number for number in sorted(given) if number in step.skipped]
        if tampered:
            general.append(_("An answer was sent for question %(n)d, which is not asked after your earlier "
                             "answers; the form may have been changed. Nothing was saved: please start again.",
                             n=tampered[0]))
        sex_problem = scoring.check_respondent(instrument, sex)
        if sex_problem:
            errors["sex"] = str(sex_problem["sex"])
        for item in step.ask:
            if item.number in shown:
                errors[item.number] = _("Choose an answer for this question.")
        if not errors and not general and step.complete:
            answers = [step.known[item.number] for item in instrument.items]
            try:
                result, _outcome = results.submit(instrument, answers, sex=sex, language=language,
                                                  user=current_user, unscored=unscored,
                                                  translation=answered.pack.sha256 if answered.pack else None)
            except InvalidAnswers as invalid:  # the form checks first; this is the service's word (400)
                for key, message in invalid.fields.items():
                    index = key[len("answers["):-1] if key.startswith("answers[") else None
                    if index and index.isdigit():
                        errors[int(index) + 1] = str(message)
                    else:
                        general.append(str(message))
            else:
                remember_result(result.id)
                return redirect(url_for("screening.result", result_id=result.id))
    status = 400 if errors or general else 200
    return _render_form(version, step, given, errors, sex, shown, general, unscored), status


def _answered_version(definition, shown_hash, offered):
    """The version the submitted page showed: the pack it names (kept with the result even when the
    pack was replaced while the resident answered), else what is offered now."""
    if shown_hash and (offered.pack is None or offered.pack.sha256 != shown_hash):
        row = translations.by_hash(definition.id, locale(), shown_hash)
        pack = translations.pack_of(row) if row is not None else None
        if isinstance(pack, translations.Pack):
            return translations.ReaderVersion(translations.translated(definition, pack), pack.language, pack)
    return offered


def _render_form(version, step, given, errors, sex, shown, general, unscored):
    instrument, language = version.instrument, version.language
    skipped = step.skipped
    numbers = {item.number for item in step.ask}
    if errors or general:  # show the submitted step again, with its answers and messages
        numbers |= {n for n in shown if n not in skipped}
        numbers |= {n for n in errors if isinstance(n, int) and n not in skipped}
    page = [item for item in instrument.items if item.number in numbers]
    hidden = {n: v for n, v in step.known.items() if n not in numbers and v is not None}
    first_page = not page or page[0].number == 1 or not step.known
    return render_template("screening/take.html", instrument=instrument, language=language, pack=version.pack,
                           page=page,
                           given=given, hidden=hidden, errors=errors, sex=sex, general=general,
                           unscored=unscored,
                           ask_sex=bool(instrument.respondent) and first_page,
                           final=not instrument.has_skip_logic,
                           unexpected=any(n in skipped for n in given))


# ------------------------------------------------------------------ results
def _shown_result(result_id):
    result = load_visible("screening_result", result_id, current_user)
    shown = results.shown(result)
    if shown is None:
        abort(404)
    return result, shown


@screening.route("/screening/results/<result_id>")
@requires(PUBLIC)
def result(result_id):
    stored, shown = _shown_result(result_id)
    resources = crisis.for_language(locale()) if stored.crisis else []
    related = library_service.for_result(stored.instrument, stored.band, reader_languages(), crisis=stored.crisis)
    requested = contact.existing_request(stored)
    return render_template("screening/result.html", result=stored, shown=shown, instrument=shown.instrument,
                           resources=resources, articles=related, requested=requested, form=ContactForm(),
                           crisis_note=results.CRISIS_NOTE)


@screening.route("/screening/results/<result_id>/contact", methods=["GET", "POST"])
@requires(PUBLIC)
@ratelimit.counted("contact_request", "SCREENING_CONTACT_RATE_LIMIT", "SCREENING_CONTACT_RATE_WINDOW")
def contact_request(result_id):
    stored, _shown = _shown_result(result_id)
    requested = contact.existing_request(stored)
    form = ContactForm()
    status = 200
    if request.method == "POST" and requested is None and not ratelimit.within_limit():
        flash(_("Several requests were sent from your connection recently. If you need help now, call one of "
                "the numbers below."), "error")
        status = 429
    elif request.method == "POST" and requested is None:
        try:
            requested = contact.request_contact(stored, name=form.name.data, phone=form.phone.data,
                                                preferred_time=form.preferred_time.data,
                                                consent=bool(form.consent.data), language=locale(),
                                                user=current_user if current_user.is_authenticated else None)
        except contact.ContactError as error:
            place_errors(form, error)
            status = 400
        else:
            flash(_("Thank you. The duty counsellor has your request and will call you."), "success")
            return redirect(url_for("screening.contact_request", result_id=stored.id))
    resources = crisis.for_language(locale())
    return render_template("screening/contact.html", result=stored, form=form, requested=requested,
                           resources=resources), status


@screening.route("/screening/history")
@requires(Permission.SCREENING_HISTORY)
def history():
    groups = results.history(current_user)
    rows = [(instrument, items, charts.score_chart(instrument, items)) for instrument, items in groups]
    return render_template("screening/history.html", groups=rows)


# ------------------------------------------------------------------ resident sign-up
@screening.route("/register", methods=["GET", "POST"])
@requires(PUBLIC)
@ratelimit.counted("register", "SCREENING_REGISTER_RATE_LIMIT", "SCREENING_REGISTER_RATE_WINDOW")
def register():
    if current_user.is_authenticated:
        return redirect(url_for("web.home"))
    form = RegisterForm()
    pending = session_results()
    status = 200
    if request.method == "POST" and not ratelimit.within_limit():
        flash(_("Too many accounts were created from your connection. Try again later."), "error")
        return render_template("screening/register.html", form=form, pending=pending), 429
    if form.validate_on_submit():
        problem = contact.phone_problem(form.phone.data) if form.phone.data else None
        if problem:
            form.phone.errors = [str(problem)]
        else:
            try:
                user = accounts.create_user(form.username.data, form.password.data, "resident",
                                            phone=form.phone.data or None)
            except accounts.AccountError as error:
                place_errors(form, error)  # shown again with 400: nothing is kept
            else:
                claimed = results.claim(pending, user) if form.keep_results.data else 0
                accounts.sign_in(user)  # keeps the language chosen before signing up
                flash(_("Your account is ready. Your screenings are private to you.") + (
                    " " + _("%(n)d screening(s) from this visit were added to your history.", n=claimed)
                    if claimed else ""), "success")
                return redirect(url_for("screening.history"))
    if request.method == "POST":
        status = 400
    return render_template("screening/register.html", form=form, pending=pending), status


# ------------------------------------------------------------------ staff: contact requests
@screening.route("/screening/contact-requests")
@requires(Permission.ALERTS_VIEW)
def contact_requests():
    return render_template("screening/contact_requests.html", pagination=contact.open_requests(page=page_arg()),
                           preferred_times=PREFERRED_TIMES)


@screening.route("/screening/contact-requests/<request_id>")
@requires(Permission.ALERTS_VIEW)
def contact_request_detail(request_id):
    item = load_visible("contact_request", request_id, current_user)
    stored = item.result
    shown = results.shown(stored) if stored else None
    return render_template("screening/contact_request.html", item=item, result=stored, shown=shown,
                           alert=contact.alert_of(item), preferred_times=PREFERRED_TIMES)


# ------------------------------------------------------------------ admin: crisis resources
@screening.route("/screening/crisis-resources")
@requires(Permission.CRISIS_RESOURCES_EDIT)
def crisis_resources():
    return render_template("screening/crisis_resources.html", resources=crisis.all_resources())


def _form_values(form) -> dict:
    return {name: form[name].data for name in ("language", "name", "phone", "hours", "description", "position",
                                               "is_example")}


def _saved(form, save):
    """Run a service call on a submitted form. Returns what the call returned (True for nothing), or
    None when the service refused the input: its work undone, its messages on the form."""
    outcome = attempt(save)
    if not outcome.ok:
        place_errors(form, outcome.error)
        return None
    return outcome.result if outcome.result is not None else True


def _form_status(form) -> int:
    return 400 if form.errors else 200


@screening.route("/screening/crisis-resources/new", methods=["GET", "POST"])
@requires(Permission.CRISIS_RESOURCES_EDIT)
def crisis_resource_new():
    form = CrisisResourceForm()
    if form.validate_on_submit() and _saved(form, lambda: crisis.create(_form_values(form))):
        flash(_("Crisis resource added."), "success")
        return redirect(url_for("screening.crisis_resources"))
    return render_template("screening/crisis_resource_form.html", form=form, resource=None), _form_status(form)


@screening.route("/screening/crisis-resources/<resource_id>", methods=["GET", "POST"])
@requires(Permission.CRISIS_RESOURCES_EDIT)
def crisis_resource_edit(resource_id):
    resource = load_visible("crisis_resource", resource_id, current_user)
    form = CrisisResourceForm(obj=resource if request.method == "GET" else None)
    if form.validate_on_submit() and _saved(form, lambda: crisis.update(resource, _form_values(form))):
        flash(_("Crisis resource saved."), "success")
        return redirect(url_for("screening.crisis_resources"))
    return render_template("screening/crisis_resource_form.html", form=form, resource=resource), \
        _form_status(form)


@screening.route("/screening/crisis-resources/<resource_id>/delete", methods=["GET", "POST"])
@requires(Permission.CRISIS_RESOURCES_EDIT)
def crisis_resource_delete(resource_id):
    resource = load_visible("crisis_resource", resource_id, current_user)
    form = ConfirmForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        crisis.delete(resource)
        flash(_("Crisis resource removed."), "success")
        return redirect(url_for("screening.crisis_resources"))
    return render_template("screening/crisis_resource_delete.html", resource=resource, form=form)


# ------------------------------------------------------------------ library: public
def _language_filter():
    chosen = request.args.get("language", "")
    if chosen == "all":
        return "all", None
    if chosen in library_service.READER_LANGUAGES:
        return chosen, (chosen,)
    return "", reader_languages()


@library.route("/", endpoint="index")
@requires(PUBLIC)
def library_index():
    topic = request.args.get("topic") or None
    if topic not in TOPICS:
        topic = None
    query = " ".join((request.args.get("q") or "").split())[:100]
    language, languages = _language_filter()
    pagination = library_service.library(languages=languages, topic=topic, query=query or None, page=page_arg())
    return render_template("screening/library/index.html", pagination=pagination, topics=TOPICS, topic=topic, q=query,
                           language=language)


@library.route("/<article_id>")
@requires(PUBLIC)
def article(article_id):
    item = library_service.published(article_id)
    if item is None:
        abort(404)
    return render_template("screening/library/article.html", article=item,
                           body=library_service.render_markdown(item.body), related=library_service.related(item),
                           topics=TOPICS, audiences=AUDIENCES)


# ------------------------------------------------------------------ library: writing and review
@library.route("/manage")
@requires(Permission.ARTICLES_WRITE)
def manage():
    status = request.args.get("status") or None
    return render_template("screening/library/manage.html", statuses=list(ArticleStatus), status=status,
                           pagination=library_service.manage_list(current_user, status, page_arg()))


def _article_values(form) -> dict:
    return {name: form[name].data for name in ("title", "summary", "body", "sources", "language", "audience",
                                               "topics", "tags")}


@library.route("/manage/new", methods=["GET", "POST"])
@requires(Permission.ARTICLES_WRITE)
def new():
    form = ArticleForm()
    if request.method == "GET":
        form.language.data = locale()
    if form.validate_on_submit():
        item = _saved(form, lambda: library_service.create(current_user, _article_values(form)))
        if item:
            flash(_("Draft saved. Send it for review when it is ready."), "success")
            return redirect(url_for("library.detail", article_id=item.id))
    return render_template("screening/library/edit.html", form=form, article=None), _form_status(form)


def _submitted_version(form) -> int | None:
    return int(form.version.data) if (form.version.data or "").isdigit() else None


def _render_detail(item, form):
    return render_template("screening/library/detail.html", article=item,
                           body=library_service.render_markdown(item.body),
                           transitions=library_service.allowed_transitions(current_user, item), form=form,
                           may_edit=library_service.may_edit(current_user, item), topics=TOPICS,
                           audiences=AUDIENCES)


@library.route("/manage/<article_id>")
@requires(Permission.ARTICLES_WRITE)
def detail(article_id):
    item = load_visible("article", article_id, current_user)
    return _render_detail(item, TransitionForm(version=item.version))


@library.route("/manage/<article_id>/edit", methods=["GET", "POST"])
@requires(Permission.ARTICLES_WRITE)
def edit(article_id):
    item = load_visible("article", article_id, current_user)
    if not library_service.may_edit(current_user, item):
        abort(403)
    form = ArticleForm(obj=item if request.method == "GET" else None)
    if request.method == "GET":
        form.topics.data = item.topic_codes
        form.tags.data = ", ".join(item.tag_codes)
        form.version.data = item.version
    if form.validate_on_submit():
        saved = _saved(form, lambda: library_service.update(current_user, item, _article_values(form),
                                                            _submitted_version(form)))
        if saved:
            flash(_("Draft saved."), "success")
            return redirect(url_for("library.detail", article_id=item.id))
    return render_template("screening/library/edit.html", form=form, article=item), _form_status(form)


@library.route("/manage/<article_id>/<action>", methods=["POST"])
@requires(Permission.ARTICLES_WRITE)
def act(article_id, action):
    item = load_visible("article", article_id, current_user)
    form = TransitionForm()
    if not form.validate_on_submit():
        abort(400)
    outcome = attempt(lambda: library_service.transition(current_user, item, action, form.note.data,
                                                         _submitted_version(form)))
    if not outcome.ok:
        place_errors(form, outcome.error)
        return _render_detail(item, form), 400
    flash(_("Article is now: %(status)s.", status=ArticleStatus(item.status).label), "success")
    return redirect(url_for("library.detail", article_id=item.id))



from screening.views import translation_packs as _translation_packs  # noqa: E402,F401 (its routes, on this blueprint)
