"""Reserve pages: the team's reserves at the three levels with what needs attention first, the form to
record a new item, and an item's page with its stock history and the form to record a movement.
Staff of a team see its reserves (a household one only with the person's register entry); social
workers and supervisors record them."""
from __future__ import annotations

from types import SimpleNamespace

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from carecycle.extensions import db
from carecycle.lifecycle import load_visible, undone_on_error
from carecycle.localtime import today as local_today
from carecycle.permissions import Permission, access_held, refuse_held, requires, user_has
from carecycle.urls import safe_next
from carecycle.validation import Conflict, Invalid
from referrals.enums import ReserveLevel
from referrals.forms import MovementForm, ReserveItemForm
from referrals.models import Organisation, PartnerAgreement
from referrals.service import reserves as service
from referrals.views import bp, conflict_page, place_errors


@bp.route("/reserves")
@requires(Permission.RESERVES_VIEW)
def reserves():
    level = request.args.get("level") or None
    if level not in (None, *[lv.value for lv in ReserveLevel]):
        level = None
    attention = request.args.get("attention") == "1"
    try:
        page = max(1, min(int(request.args.get("page", "1")), 10_000))
    except ValueError:
        page = 1
    today = local_today()
    rows, more = service.items(current_user, level, attention, today, page)
    pagination = SimpleNamespace(page=page, pages=None, has_prev=page > 1, has_next=more, prev_num=page - 1,
                                 next_num=page + 1)
    return render_template("referrals/reserves/list.html", items=rows, pagination=pagination, level=level,
                           attention=attention, levels=list(ReserveLevel), marks=service.marks, today=today,
                           can_manage=user_has(current_user, Permission.RESERVES_MANAGE))


def _holder_choices(form: ReserveItemForm) -> None:
    none = [("", _("None"))]
    orgs = db.session.scalars(select(Organisation).where(Organisation.archived_at.is_(None))
                              .order_by(Organisation.name)).all()
    form.organization_id.choices = none + [(str(o.id), o.name) for o in orgs]
    agreements = db.session.scalars(select(PartnerAgreement).join(Organisation)
                                    .where(Organisation.archived_at.is_(None))
                                    .order_by(Organisation.name, PartnerAgreement.title)).all()
    form.agreement_id.choices = none + [(str(a.id), f"{a.organisation.name}: {a.title}") for a in agreements]
    entries = sorted(service.household_choices(current_user), key=lambda e: (e.client.display_name or "").lower())
    form.register_entry_id.choices = none + [(str(e.id), e.client.display_name) for e in entries]


@bp.route("/reserves/new", methods=["GET", "POST"])
@requires(Permission.RESERVES_MANAGE)
def reserve_new():
    if access_held(current_user):
        refuse_held()
    form = ReserveItemForm()
    _holder_choices(form)
    if request.method == "GET":  # a link may choose the level and the person (from a register entry)
        if request.args.get("level") in [lv.value for lv in ReserveLevel]:
            form.level.data = request.args["level"]
        if request.args.get("register_entry_id") in [value for value, _label in form.register_entry_id.choices]:
            form.register_entry_id.data = request.args["register_entry_id"]
        form.next.data = safe_next(request.args.get("next")) or ""
    if form.validate_on_submit():
        data = {name: form[name].data for name in ("level", "kind", "name", "unit", "quantity", "low_at",
                                                   "expires_on", "location", "organization_id", "agreement_id",
                                                   "register_entry_id")}
        try:
            with undone_on_error():
                item = service.create_item(current_user, data)
        except Invalid as error:
            place_errors(form, error)
        else:
            flash(_("Reserve recorded."), "success")
            return redirect(safe_next(form.next.data) or url_for("referrals.reserve_detail", reserve_id=item.id))
    return render_template("referrals/reserves/form.html", form=form), 400 if form.errors else 200


def _detail_page(item, form: MovementForm, status: int = 200):
    return render_template("referrals/reserves/detail.html", item=item, form=form,
                           movements=service.movements(item), marks=service.marks(item),
                           can_manage=user_has(current_user, Permission.RESERVES_MANAGE)), status


@bp.route("/reserves/<reserve_id>")
@requires(Permission.RESERVES_VIEW)
def reserve_detail(reserve_id):
    item = load_visible("reserve_item", reserve_id, current_user)
    form = MovementForm()
    form.version.data = item.version
    return _detail_page(item, form)


@bp.route("/reserves/<reserve_id>/movements", methods=["POST"])
@requires(Permission.RESERVES_MANAGE)
def reserve_movement(reserve_id):
    if access_held(current_user):
        refuse_held()
    item = load_visible("reserve_item", reserve_id, current_user)
    form = MovementForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        with undone_on_error():
            service.record_movement(current_user, item, {"kind": form.kind.data, "quantity": form.quantity.data,
                                                         "note": form.note.data}, form.version.data)
    except Invalid as error:
        place_errors(form, error)
        return _detail_page(item, form, 400)
    except Conflict as error:
        return conflict_page(error, url_for("referrals.reserve_detail", reserve_id=item.id))
    flash(_("Stock recorded for %(name)s: %(n)d %(unit)s on hand.", name=item.name, n=item.quantity, unit=item.unit),
          "success")
    return redirect(safe_next(form.next.data) or url_for("referrals.reserve_detail", reserve_id=item.id))


def register_section(entry, here: str) -> dict:
    """The household reserves on a register entry's page (casework shows it; referrals fills it): what
    the person holds at home, a stock count for each item at this visit, and a link to record another."""
    if not user_has(current_user, Permission.RESERVES_VIEW) or access_held(current_user) \
            or entry.team_id != current_user.team_id:
        return {"household_reserves": None}
    today = local_today()
    rows = service.household_items(current_user, entry, today)
    return {"household_reserves": [(row, service.marks(row, today)) for row in rows],
            "household_reserves_manage": user_has(current_user, Permission.RESERVES_MANAGE) and entry.on_register,
            "household_reserves_back": here}
