"""Inbound referrals: the public form (rate-limited, CSRF-protected) and the duty worker's view."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from carecycle import ratelimit
from carecycle.lifecycle import undone_on_error
from carecycle.permissions import PUBLIC, Permission, requires
from carecycle.urls import page_arg
from carecycle.validation import Invalid
from referrals.forms import InboundForm
from referrals.service import inbound as service
from referrals.views import bp, place_errors
from screening.service import crisis

FIELDS = ("relation", "referrer_name", "referrer_organisation", "referrer_contact", "person_name", "person_phone",
          "person_area", "concern", "danger_now", "person_knows")


@bp.route("/refer", methods=["GET", "POST"])
@requires(PUBLIC)
@ratelimit.counted("inbound_referral", "REFERRALS_INBOUND_RATE_LIMIT", "REFERRALS_INBOUND_RATE_WINDOW")
def inbound_form():
    form = InboundForm()
    status = 200
    if request.method == "POST" and not ratelimit.within_limit():
        flash(_("Several referrals were sent from your connection recently. Please call us instead, or try "
                "again later. If someone is in danger now, call your local emergency number."), "error")
        status = 429
    elif form.validate_on_submit():
        data = {name: form[name].data for name in FIELDS}
        data["language"] = str(get_locale())
        try:
            with undone_on_error():
                received = service.submit(data)
        except Invalid as error:
            place_errors(form, error)
            status = 400
        else:
            return redirect(url_for("referrals.inbound_thanks", danger="1" if received.danger_now else None))
    elif request.method == "POST":
        status = 400
    resources = crisis.for_language(str(get_locale()))
    return render_template("referrals/inbound/form.html", form=form, resources=resources), status


@bp.route("/refer/thanks")
@requires(PUBLIC)
def inbound_thanks():
    resources = crisis.for_language(str(get_locale()))
    return render_template("referrals/inbound/thanks.html", danger=request.args.get("danger") == "1",
                           resources=resources)


@bp.route("/inbound-referrals")
@requires(Permission.TRIAGE_WORK)
def inbound_list():
    pagination = service.recent(page=page_arg())
    return render_template("referrals/inbound/list.html", pagination=pagination)


@bp.route("/inbound-referrals/<inbound_id>")
@requires(Permission.TRIAGE_WORK)
def inbound_detail(inbound_id):
    received = service.load(inbound_id)
    alert = service.alert_of(received)
    return render_template("referrals/inbound/detail.html", inbound=received, alert=alert)
