"""Questionnaire translations: the list, entering a pack (upload), the side-by-side review and the
second person's approval or withdrawal. Residents never reach these pages; a pack in review is
shown here for checking and nowhere else."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from carecycle.forms import chosen_file, place_errors
from carecycle.i18n import language_name
from carecycle.lifecycle import attempt, load_visible
from carecycle.permissions import Permission, requires, user_has
from screening.forms import TranslationApproveForm, TranslationUploadForm, TranslationWithdrawForm
from screening.service import get_instrument
from screening.service import translations as service
from screening.views import screening


@screening.app_template_global("translation_status")
def translation_status(code: str) -> str:
    return service.status_label(code)


@screening.route("/screening/translations")
@requires(Permission.TRANSLATIONS_VIEW)
def translations():
    return render_template("screening/translations/index.html", listed=service.overview(),
                           language_name=language_name,
                           may_upload=user_has(current_user, Permission.TRANSLATIONS_IMPORT))


@screening.route("/screening/translations/upload", methods=["GET", "POST"])
@requires(Permission.TRANSLATIONS_IMPORT)
def translation_upload():
    form = TranslationUploadForm()
    status = 200
    if form.validate_on_submit():
        upload = chosen_file(form.file)
        if upload is None:
            status = 400
        else:
            content = upload.read(service.MAX_BYTES + 1)
            outcome = attempt(lambda: service.import_pack(content, upload.filename, current_user))
            if not outcome.ok:
                place_errors(form, outcome.error)
                status = 400
            else:
                row, created = outcome.result
                if created:
                    flash(_("Entered for review. A supervisor other than you compares it with the source document "
                            "and approves it; until then residents get the English version."), "success")
                else:
                    flash(_("This exact file is already entered; nothing changed."), "info")
                return redirect(url_for("screening.translation_review", pack_id=row.id))
    elif request.method == "POST":
        status = 400
    return render_template("screening/translations/upload.html", form=form), status


def _pack(pack_id):
    row = load_visible("translation_pack", pack_id, current_user)
    if get_instrument(row.instrument) is None:  # its definition file was removed since
        abort(404)
    return row


def _render_review(row, approve_form=None, withdraw_form=None, checked=(), problems=()):
    pack = service.pack_of(row)
    return render_template("screening/translations/review.html", row=row, pack=pack if isinstance(pack, service.Pack)
                           else None, problem=None if isinstance(pack, service.Pack) else str(pack),
                           instrument=get_instrument(row.instrument), rows=service.review_rows(row),
                           state=service.status(row), language_name=language_name,
                           file=service.pack_files().get((row.instrument, row.language)),
                           history=service.history(row.instrument, row.language),
                           approve_form=approve_form or TranslationApproveForm(sha256=row.sha256),
                           withdraw_form=withdraw_form or TranslationWithdrawForm(), checked=set(checked),
                           may_decide=user_has(current_user, Permission.TRANSLATIONS_APPROVE),
                           own=row.entered_by_id == current_user.id, problems=list(problems))


@screening.route("/screening/translations/<pack_id>")
@requires(Permission.TRANSLATIONS_VIEW)
def translation_review(pack_id):
    return _render_review(_pack(pack_id))


@screening.route("/screening/translations/<pack_id>/approve", methods=["POST"])
@requires(Permission.TRANSLATIONS_APPROVE)
def translation_approve(pack_id):
    row = _pack(pack_id)
    form = TranslationApproveForm()
    if not form.validate_on_submit():
        abort(400)
    checked = set(request.form.getlist("checked"))
    outcome = attempt(lambda: service.approve(row, current_user, sha256=form.sha256.data or "", checked=checked))
    if not outcome.ok:
        return _render_review(row, approve_form=form, checked=checked,
                              problems=[str(m) for m in outcome.error.fields.values()]), 400
    flash(_("Approved. Residents choosing %(language)s now get this translation.",
            language=language_name(row.language)), "success")
    return redirect(url_for("screening.translation_review", pack_id=row.id))


@screening.route("/screening/translations/<pack_id>/withdraw", methods=["POST"])
@requires(Permission.TRANSLATIONS_APPROVE)
def translation_withdraw(pack_id):
    row = _pack(pack_id)
    form = TranslationWithdrawForm()
    if not form.validate_on_submit():
        return _render_review(row, withdraw_form=form), 400
    outcome = attempt(lambda: service.withdraw(row, current_user, form.reason.data))
    if not outcome.ok:
        place_errors(form, outcome.error)
        return _render_review(row, withdraw_form=form), 400
    flash(_("Withdrawn. Residents get the English version until a new translation is approved."), "success")
    return redirect(url_for("screening.translation_review", pack_id=row.id))
