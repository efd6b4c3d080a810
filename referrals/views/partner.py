"""The partner's page, reached by the link in the referral letter, without an account.

It shows the shared fields and nothing else, and lets the partner acknowledge, accept, decline,
start and complete the referral with a note. Every view and action is audited; the link is
rate-limited; an expired, revoked or unknown link shows a plain message only.

The token never stays in a URL (access logs, browser history): the first visit of `/p/<token>`
checks it, moves it into a short-lived signed cookie (HttpOnly, SameSite=Lax, Path=/p, Secure in
production) and redirects to `/p/`, which and whose form work from the cookie."""
from __future__ import annotations

from flask import current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeTimedSerializer

from carecycle.audit import record_event
from carecycle.lifecycle import attempt, keep_refusal
from carecycle.permissions import PUBLIC, requires
from carecycle.validation import Invalid
from referrals.forms import PartnerForm
from referrals.service import links, sharing
from referrals.service import referrals as service
from referrals.service.common import TransitionRefused
from referrals.views import bp


def _gone(state: str):
    """The same plain page whatever the reason; only the status differs (unknown 404, expired or revoked 410)."""
    return render_template("referrals/partner/gone.html"), 404 if state == "unknown" else 410


def _limited():
    return render_template("referrals/partner/limited.html"), 429


def _page(link, form=None, *, status=200, error=None, notice=None):
    referral = link.referral
    return render_template("referrals/partner/page.html", referral=referral, link=link,
                           lines=sharing.shared_lines(referral), actions=service.partner_moves(referral),
                           form=form or PartnerForm(), error=error, notice=notice), status


PARTNER_COOKIE = "carecycle_partner"
PARTNER_COOKIE_MAX_AGE = 30 * 60  # seconds; the signature carries the time, so an older cookie is refused too


def _cookie_signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="carecycle.partner-link")


def _token_from_cookie() -> str:
    """The token the first visit put in the cookie, or "" (none, tampered with or older than 30 minutes)."""
    raw = request.cookies.get(PARTNER_COOKIE)
    if not raw:
        return ""
    try:
        token = _cookie_signer().loads(raw, max_age=PARTNER_COOKIE_MAX_AGE)
    except BadSignature:  # SignatureExpired is one
        return ""
    return token if isinstance(token, str) else ""


@bp.route("/p/<token>", methods=["GET", "POST"])
@requires(PUBLIC)
def partner_page(token):
    """The link in the letter: check the token once, hand it to the cookie and go on to `/p/` without it.
    A POST here (a form from before the hand-over) is answered as before, from the URL's token."""
    if request.method == "POST":
        return _partner(token)
    try:
        resolved = links.resolve(token, request.remote_addr, action="open_link")
    except links.RateLimited:
        keep_refusal()
        return _limited()
    if not resolved.ok:
        keep_refusal()  # the refused opening stays audited
        return _gone(resolved.state)
    response = redirect(url_for("referrals.partner_current"), 303)
    response.set_cookie(PARTNER_COOKIE, _cookie_signer().dumps(token), max_age=PARTNER_COOKIE_MAX_AGE,
                        path="/p", httponly=True, samesite="Lax",
                        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")))
    return response


@bp.route("/p/", methods=["GET", "POST"])
@requires(PUBLIC)
def partner_current():
    """The partner's page, working from the cookie; without a valid cookie, the plain "not valid" page."""
    return _partner(_token_from_cookie())


def _partner(token: str):
    action = "view" if request.method == "GET" else "partner_action"
    try:
        resolved = links.resolve(token, request.remote_addr, action=action)
    except links.RateLimited:
        keep_refusal()
        return _limited()
    if not resolved.ok:
        keep_refusal()  # the refused visit stays audited
        return _gone(resolved.state)
    link = resolved.link
    if request.method == "GET":
        return _page(link)
    form = PartnerForm()
    if not form.validate_on_submit():
        keep_refusal()  # the visit stays audited
        return _page(link, form, status=400, error=_("The form expired. Reload the page and try again."))
    referral = link.referral
    wanted = form.action.data or ""
    if wanted not in [a.value for a in service.partner_moves(referral)]:
        keep_refusal()
        return _page(link, form, status=409, error=_("This step is not possible any more: the referral is now "
                                                     "'%(status)s'.", status=referral.status_enum.label))
    outcome = attempt(lambda: service.change_status(None, referral, wanted, note=form.note.data,
                                                    via_partner_link=True), contain=(Invalid, TransitionRefused))
    if isinstance(outcome.error, Invalid):
        for name, message in outcome.error.fields.items():
            if name in form:
                form[name].errors = [message]
        response = _page(link, form, status=400, error=next(iter(outcome.error.fields.values())))
        keep_refusal()  # the visit stays audited; the refused change was undone
        return response
    if isinstance(outcome.error, TransitionRefused):
        record_event("partner_action", "partner_link", link.id, outcome="denied", reason="invalid_transition")
        keep_refusal()
        return render_template("referrals/partner/done.html", message=outcome.error.message), 409
    if referral.status_enum.final:
        return render_template("referrals/partner/done.html", referral=referral,
                               message=_("Thank you. Your answer is recorded and the referring worker can see it. "
                                         "This link now closes: the client's details are no longer shown.")), 200
    return _page(link, PartnerForm(), notice=_("Thank you, recorded: %(status)s.", status=referral.status_enum.label))
