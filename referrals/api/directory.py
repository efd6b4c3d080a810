"""Directory API: the directory as HSDS 3.0 JSON, and importing a file."""
from __future__ import annotations

from flask import request
from flask_login import current_user

from carecycle.api import ApiError
from carecycle.lifecycle import undone_on_error
from carecycle.openapi import described
from carecycle.permissions import Permission, requires
from referrals.api import api, schemas
from referrals.service import hsds


@api.route("/directory", methods=["GET"])
@described(responses={200: schemas.Directory})
@requires(Permission.DIRECTORY_VIEW)
def api_directory():
    payload = hsds.export_directory()
    return payload


@api.route("/directory/import", methods=["POST"])
@described(body=schemas.HsdsFile, query=schemas.ImportOptions, responses={200: schemas.ImportReport})
@requires(Permission.DIRECTORY_EDIT)
def api_directory_import():
    payload = request.get_json(silent=True)
    if not isinstance(payload, (dict, list)):
        raise ApiError(400, "The body must be HSDS JSON (Content-Type: application/json).")
    default_tier = (request.args.get("default_tier") or "").strip() or None  # blank: no default
    try:
        with undone_on_error():
            report = hsds.import_directory(payload, current_user, default_tier)
    except hsds.ImportRefused as refused:
        raise ApiError(422, refused.message, refused.fields, code="import_refused") from refused
    return {"organizations_created": report.organisations_created,
            "organizations_updated": report.organisations_updated,
            "services_created": report.services_created, "services_updated": report.services_updated}
