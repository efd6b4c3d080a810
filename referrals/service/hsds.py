"""Open Referral HSDS 3.0 JSON: export the directory, import a file all or nothing.

The export is a list of HSDS `organization` objects, each with its `locations` and, as the
HSDS API's full-service form does, its `services` (with `phones`, `schedules`, `languages`,
`service_areas` and `service_at_locations`). What HSDS has no field for travels as HSDS
`attributes` with CareCycle taxonomy terms: the organisation's tier, standing agreement and
example mark; a service's types, capacity (the attribute's value is when it was last
updated), and whether it is public or a crisis line. Identifiers of values that have no row
of their own (an attribute, an address, an organisation phone) are derived from their owner's
id, so an export imported into an empty database exports again byte for byte.

A file from another system keeps what CareCycle has no field for. Each organisation, location
and service imported keeps the object as it came (`hsds_source`) and CareCycle's own export of it
right after the import (`hsds_image`). The export starts from CareCycle's record and, for every
field not changed here since the import, writes the source's own value: its ids, its spelling of
times, its phones with their extensions, its contacts, legal status, fees, service areas with
their descriptions, virtual locations with their urls, nested locations, and its attributes of
other taxonomies, which travel beside CareCycle's own. A field edited here is exported as edited.

An import is validated completely before anything is written; a refused file names each row
(`organizations[2].services[0]`) and field that failed, and changes nothing."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from carecycle import localtime
from carecycle.audit import record_event
from carecycle.database import utcnow
from carecycle.extensions import db
from carecycle.validation import Invalid, iso_datetime
from referrals.enums import Capacity, ServiceType, Tier
from referrals.models import Location, Organisation, Service, ServiceAtLocation
from referrals.service import directory
from referrals.service.common import as_uuid
from referrals.service.common import derived_id as _derived_id

HSDS_VERSION = "3.0"
TAXONOMY = {
    "tier": "https://carecycle.example/taxonomy/responder-tier",
    "type": "https://carecycle.example/taxonomy/service-type",
    "capacity": "https://carecycle.example/taxonomy/capacity",
    "flag": "https://carecycle.example/taxonomy/flag",
}
MAX_ERRORS = 50


def derived_id(owner, what: str) -> str:
    return str(_derived_id(owner, what))


def _term(kind: str, code: str, name, description) -> dict:
    return {"id": derived_id(TAXONOMY[kind], code), "code": code, "name": str(name),
            "description": str(description), "taxonomy": TAXONOMY[kind]}


def _attribute(owner_id, entity: str, kind: str, code: str, name, description, value: str | None = None) -> dict:
    term = _term(kind, code, name, description)
    attribute = {"id": derived_id(owner_id, f"attribute:{kind}:{code}"), "link_id": str(owner_id),
                 "link_type": kind, "link_entity": entity, "taxonomy_term_id": term["id"], "taxonomy_term": term}
    if value is not None:
        attribute["value"] = value
    return attribute


def _offset_hours(minutes: int | None) -> int | float | None:
    """A schedule's own zone as HSDS writes it: the UTC offset in hours (8, -5, 5.5)."""
    if minutes is None:
        return None
    return minutes // 60 if minutes % 60 == 0 else minutes / 60


def _with_offset(clock: str, minutes: int | None) -> str:
    """"09:00" of a schedule in its own zone -> "09:00+08:00", as the specification recommends. A
    schedule in the service's zone (CARECYCLE_TIMEZONE) is written with that zone's offset when it
    has one all year (Asia/Hong_Kong: +08:00, UTC: +00:00); a zone with summer time has no single
    offset, so its times stay as written."""
    if minutes is None:
        minutes = localtime.fixed_offset_minutes()
    if minutes is None:
        return clock
    sign = "-" if minutes < 0 else "+"
    return f"{clock}{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _compact(obj: dict) -> dict:
    return {key: value for key, value in obj.items() if value is not None}


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


# ------------------------------------------------------------------ the source's own values
_MISSING = object()


def _ours(attribute) -> bool:
    term = attribute.get("taxonomy_term") if isinstance(attribute, dict) else None
    return isinstance(term, dict) and term.get("taxonomy") in TAXONOMY.values()


def _reconciled(record, own: dict, *, ours_only: tuple[str, ...] = ()) -> dict:
    """`own` (CareCycle's export of the record now) with the source's value of every field that has
    not changed here since the import, and every field of the source CareCycle has none for."""
    source, image = record.hsds_source, record.hsds_image or {}
    if not isinstance(source, dict):
        return own
    result = {}
    for key, value in own.items():
        if key == "attributes":
            foreign = [a for a in source.get("attributes") or [] if not _ours(a)]
            result[key] = foreign + value if foreign else value
        elif key not in ours_only and key in source and value == image.get(key, _MISSING):
            result[key] = source[key]
        else:
            result[key] = value
    for key, value in source.items():
        if key in result or key in ours_only or key in image:
            continue  # a field CareCycle has and that is empty here now: removed, not sent again
        if key == "attributes":
            foreign = [a for a in value or [] if not _ours(a)]
            if foreign:
                result[key] = foreign
            continue
        result[key] = value
    return result


def keep_source(record, source: dict, own: dict) -> None:
    """Remember the object as it came and as CareCycle exported it just after the import."""
    record.hsds_source = source
    record.hsds_image = own


# ------------------------------------------------------------------ export
def export_directory() -> dict:
    """The whole directory (not archived) as HSDS 3.0 JSON; the export is audited (the caller commits)."""
    with force_locale("en"):
        organisations = sorted(directory.all_organisations(), key=lambda o: (o.name, str(o.id)))
        payload = {"hsds_version": HSDS_VERSION, "organizations": [organisation_json(org) for org in organisations]}
    record_event("export", "partner_directory", None, reason=f"organisations:{len(payload['organizations'])}")
    return payload


def organisation_json(org: Organisation) -> dict:
    own = _organisation_own(org)
    services = [s for s in org.services if s.archived_at is None]
    own["locations"] = [location_json(loc) for loc in sorted(org.locations, key=lambda x: (x.name, str(x.id)))]
    own["services"] = [service_json(s) for s in sorted(services, key=lambda x: (x.name, str(x.id)))]
    return _reconciled(org, own, ours_only=("locations", "services"))


def _organisation_own(org: Organisation) -> dict:
    """CareCycle's fields of the organisation, without its locations and services."""
    attributes = [_attribute(org.id, "organization", "tier", org.tier_enum.value, org.tier_enum.label,
                             org.tier_enum.meaning)]
    if org.has_agreement:
        period = f"{org.agreement_start.isoformat() if org.agreement_start else ''}/" \
                 f"{org.agreement_end.isoformat() if org.agreement_end else ''}"
        attributes.append(_attribute(org.id, "organization", "flag", "standing_agreement",
                                     "Standing cooperation agreement",
                                     "A cooperation agreement signed in normal times; the value is its period "
                                     "(start/end, ISO dates, either may be empty).", period))
        if org.agreement_note:
            attributes.append(_attribute(org.id, "organization", "flag", "agreement_note", "Agreement note",
                                         "What the standing agreement covers.", org.agreement_note))
    if org.is_example:
        attributes.append(_attribute(org.id, "organization", "flag", "example", "Example",
                                     "A placeholder of a demonstration, not a real organisation.", "true"))
    phones = []
    if org.phone:
        phones.append({"id": derived_id(org.id, "phone"), "organization_id": str(org.id), "number": org.phone,
                       "type": "voice"})
    return _compact({
        "id": str(org.id), "name": org.name, "alternate_name": org.alternate_name,
        "description": org.description or "", "email": org.email, "website": org.website,
        "phones": phones,
        "attributes": sorted(attributes, key=lambda a: a["id"]),
    })


def location_json(loc: Location) -> dict:
    return _reconciled(loc, _location_own(loc))


def _location_own(loc: Location) -> dict:
    addresses = []
    if loc.address_1:
        addresses.append(_compact({
            "id": derived_id(loc.id, "address"), "location_id": str(loc.id), "address_1": loc.address_1,
            "address_2": loc.address_2, "city": loc.city or "", "region": loc.region,
            "state_province": loc.state_province or "", "postal_code": loc.postal_code or "",
            "country": loc.country or "", "address_type": "physical"}))
    return _compact({
        "id": str(loc.id), "location_type": "physical", "organization_id": str(loc.organisation_id),
        "name": loc.name, "description": loc.description, "transportation": loc.transportation,
        "latitude": float(loc.latitude) if loc.latitude else None,
        "longitude": float(loc.longitude) if loc.longitude else None,
        "addresses": addresses,
    })


def service_json(service: Service) -> dict:
    return _reconciled(service, _service_own(service))


def _service_own(service: Service) -> dict:
    sid = str(service.id)
    attributes = [_attribute(sid, "service", "type", code, ServiceType(code).label, ServiceType(code).label)
                  for code in service.type_codes if code in ServiceType._value2member_map_]
    capacity = Capacity(service.capacity)
    attributes.append(_attribute(sid, "service", "capacity", capacity.value, capacity.label,
                                 "How many new people the service can take; the value is when this was last "
                                 "updated (UTC).", _stamp(service.capacity_updated_at)))
    if service.public:
        attributes.append(_attribute(sid, "service", "flag", "public", "Public",
                                     "Listed on the public Find help page.", "true"))
    if service.crisis_line:
        attributes.append(_attribute(sid, "service", "flag", "crisis_line", "Crisis line",
                                     "Shown first on the public Find help page.", "true"))
    schedules = [_compact({"id": str(row.id), "service_id": sid, "freq": "WEEKLY", "byday": row.byday,
                           "opens_at": _with_offset(row.opens_at, row.utc_offset_minutes),
                           "closes_at": _with_offset(row.closes_at, row.utc_offset_minutes),
                           "description": row.description,
                           "timezone": _offset_hours(row.utc_offset_minutes)})
                 for row in service.schedules]
    if service.hours_note:
        schedules.append({"id": derived_id(sid, "hours_note"), "service_id": sid, "description": service.hours_note})
    return _compact({
        "id": sid, "organization_id": str(service.organisation_id), "name": service.name,
        "alternate_name": service.alternate_name, "description": service.description or "",
        "url": service.url, "email": service.email, "status": service.status,
        "eligibility_description": service.eligibility, "minimum_age": service.minimum_age,
        "maximum_age": service.maximum_age, "application_process": service.application_process,
        "phones": [_compact({"id": p["id"], "service_id": sid, "number": p["number"], "type": p.get("type"),
                             "description": p.get("description")}) for p in (service.phones or [])],
        "schedules": schedules,
        "service_areas": ([{"id": derived_id(sid, "service_area"), "service_id": sid, "name": service.service_area}]
                          if service.service_area else []),
        "languages": [_compact({"id": str(lang.id), "service_id": sid, "name": lang.name, "code": lang.code,
                                "note": lang.note}) for lang in service.languages],
        "service_at_locations": [{"id": derived_id(sid, f"at:{link.location_id}"), "service_id": sid,
                                  "location_id": str(link.location_id)}
                                 for link in sorted(service.at_locations, key=lambda x: str(x.location_id))],
        "attributes": sorted(attributes, key=lambda a: a["id"]),
    })


# ------------------------------------------------------------------ import
@dataclass
class ImportProblem:
    row: str       # e.g. "organizations[2].services[0]"
    field: str     # e.g. "name"
    message: str

    @property
    def path(self) -> str:
        return f"{self.row}.{self.field}" if self.field else self.row


class ImportRefused(Invalid):
    """The file was refused; nothing was imported. `problems` name each row and field."""

    def __init__(self, problems: list[ImportProblem]):
        self.problems = problems[:MAX_ERRORS]
        super().__init__({p.path: p.message for p in self.problems},
                         _("The file was not imported: %(n)d problem(s). Nothing was changed.", n=len(problems)))


@dataclass
class ImportReport:
    organisations_created: int = 0
    organisations_updated: int = 0
    services_created: int = 0
    services_updated: int = 0
    locations: int = 0


def _organisation_list(payload) -> list:
    """The organisations of a file: a list of them, an object with an "organizations" list, the
    specification's paged list (`total_items`, `contents`, ...), a list of such pages (every page
    of a file), or one bare organisation object."""
    if isinstance(payload, list):
        if payload and all(isinstance(page, dict) and isinstance(page.get("contents"), list) for page in payload):
            return [org for page in payload for org in page["contents"]]
        return payload
    if isinstance(payload, dict):
        for key in ("organizations", "contents"):
            if isinstance(payload.get(key), list):
                return payload[key]
        if "name" in payload and "id" in payload and not any(key in payload for key in ("organizations", "contents")):
            return [payload]
    raise ImportRefused([ImportProblem("file", "", _("Expected HSDS JSON: an object with an \"organizations\" list, "
                                                      "a paged list with \"contents\", a list of organizations or "
                                                      "one organization."))])


class _Collector:
    def __init__(self):
        self.problems: list[ImportProblem] = []
        self.ids: dict[str, str] = {}

    def add(self, row: str, field: str, message: str) -> None:
        self.problems.append(ImportProblem(row, field, str(message)))

    def invalid(self, row: str, error: Invalid, rename: dict | None = None) -> None:
        for name, message in error.fields.items():
            head, _sep, rest = name.partition(".")
            head = (rename or {}).get(head, head)
            self.add(row, f"{head}.{rest}" if rest else head, message)

    def unique(self, row: str, kind: str, value) -> uuid.UUID | None:
        ident = as_uuid(value)
        if ident is None:
            self.add(row, "id", _("Each record needs an id that is a UUID."))
            return None
        key = f"{kind}:{ident}"
        if key in self.ids:
            self.add(row, "id", _("The same id is also used at %(other)s.", other=self.ids[key]))
            return None
        self.ids[key] = row
        return ident


def _with_lists(raw: dict, row: str, out: _Collector, *keys: str) -> dict:
    """`raw` with each of `keys` a list: any other value is named as a problem and read as empty."""
    fixed = dict(raw)
    for key in keys:
        if fixed.get(key) is not None and not isinstance(fixed[key], list):
            out.add(row, key, _("Must be a list."))
            fixed[key] = []
    return fixed


def _terms(obj: dict, kind: str) -> list[tuple[str, str | None]]:
    """(code, value) of the CareCycle attributes of one taxonomy on an HSDS object."""
    found = []
    for attribute in obj.get("attributes") or []:
        if not isinstance(attribute, dict):
            continue
        term = attribute.get("taxonomy_term") or {}
        if isinstance(term, dict) and term.get("taxonomy") == TAXONOMY[kind] and term.get("code"):
            found.append((str(term["code"]), attribute.get("value")))
    return found


def _flag(obj: dict, code: str) -> str | None:
    for found, value in _terms(obj, "flag"):
        if found == code:
            return value if value is not None else "true"
    return None


def _phones_of(items: list) -> list[dict]:
    return [{"number": p.get("number"), "type": p.get("type"), "description": p.get("description")}
            if isinstance(p, dict) else p for p in items]


def _read_organisation(raw, row: str, out: _Collector, default_tier: str | None = None) -> dict | None:
    if not isinstance(raw, dict):
        out.add(row, "", _("Each organization must be a JSON object."))
        return None
    raw = _with_lists(raw, row, out, "attributes", "phones", "locations", "services")
    org_id = out.unique(row, "organization", raw.get("id"))
    tiers = _terms(raw, "tier")
    data = {key: raw.get(key) for key in ("name", "alternate_name", "description", "email", "website")}
    data["tier"] = tiers[0][0] if tiers else default_tier
    # CareCycle keeps one phone per organisation: the first with a number (its problems name that row)
    numbered = [index for index, p in enumerate(raw.get("phones") or []) if isinstance(p, dict) and p.get("number")]
    data["phone"] = raw["phones"][numbered[0]].get("number") if numbered else None
    phone_field = f"phones[{numbered[0]}].number" if numbered else "phones"
    agreement = _flag(raw, "standing_agreement")
    if agreement is not None:
        start, _sep, end = str(agreement).partition("/")
        data.update(has_agreement=True, agreement_start=start or None, agreement_end=end or None,
                    agreement_note=_flag(raw, "agreement_note"))
    data["is_example"] = _flag(raw, "example") == "true"
    if not tiers and default_tier is None:
        out.add(row, "attributes", _("A CareCycle responder tier is required: an attribute whose taxonomy_term has "
                                     "taxonomy %(taxonomy)s and code 1, 2 or 3, or import with a default tier for "
                                     "organisations that carry none (default_tier=1, 2 or 3; on the import page: "
                                     "Default tier).", taxonomy=TAXONOMY["tier"]))
    try:
        clean = directory.clean_organisation(data)
    except Invalid as error:
        if not tiers and default_tier is None:  # the missing tier is named above, with what to do about it
            error.fields.pop("tier", None)
        out.invalid(row, error, {"tier": "attributes", "phone": phone_field, "agreement_start": "attributes",
                                 "agreement_end": "attributes", "agreement_note": "attributes"})
        clean = None
    locations = []
    for index, raw_location in enumerate(raw.get("locations") or []):
        location = _read_location(raw_location, f"{row}.locations[{index}]", org_id, out)
        if location:
            locations.append(location)
    location_ids = {loc["id"] for loc in locations}
    # a service_at_location may name its place only by a nested location object (as the
    # specification's full example does): the organisation's location of that id, or, when the
    # organisation does not list it, a place of the organisation read from the nested object
    for index, raw_service in enumerate(raw.get("services") or []):
        links = raw_service.get("service_at_locations") if isinstance(raw_service, dict) else None
        for lindex, link in enumerate(links if isinstance(links, list) else []):
            nested = link.get("location") if isinstance(link, dict) and not link.get("location_id") else None
            if not isinstance(nested, dict) or as_uuid(nested.get("id")) in location_ids:
                continue
            location = _read_location(nested, f"{row}.services[{index}].service_at_locations[{lindex}].location",
                                      org_id, out)
            if location:
                locations.append(location)
                location_ids.add(location["id"])
    services = []
    for index, raw_service in enumerate(raw.get("services") or []):
        service = _read_service(raw_service, f"{row}.services[{index}]", org_id, location_ids, out)
        if service:
            services.append(service)
    if clean is None or org_id is None:
        return None
    source = {key: value for key, value in raw.items() if key not in ("locations", "services")}
    return {"id": org_id, "clean": clean, "locations": locations, "services": services, "source": source}


def _read_location(raw, row: str, org_id, out: _Collector) -> dict | None:
    if not isinstance(raw, dict):
        out.add(row, "", _("Each location must be a JSON object."))
        return None
    raw = _with_lists(raw, row, out, "addresses")
    loc_id = out.unique(row, "location", raw.get("id"))
    if raw.get("location_type") not in (None, "physical", "postal", "virtual"):
        out.add(row, "location_type", _("Use physical, postal or virtual."))
    if raw.get("organization_id") not in (None, "") and as_uuid(raw.get("organization_id")) != org_id:
        out.add(row, "organization_id", _("Does not match the organization it is listed under."))
    addresses = raw.get("addresses") or []
    address = next((a for a in addresses if isinstance(a, dict) and a.get("address_type", "physical") == "physical"),
                   addresses[0] if addresses and isinstance(addresses[0], dict) else {})
    data = {key: raw.get(key) for key in ("name", "description", "transportation", "latitude", "longitude")}
    data["name"] = data["name"] or address.get("address_1")
    for key in ("address_1", "address_2", "city", "region", "state_province", "postal_code", "country"):
        data[key] = address.get(key)
    try:
        clean = directory.clean_location(data)
    except Invalid as error:
        out.invalid(row, error, {key: f"addresses[0].{key}" for key in (
            "address_1", "address_2", "city", "region", "state_province", "postal_code", "country")})
        return None
    return {"id": loc_id, "clean": clean, "source": raw} if loc_id else None


def _read_service(raw, row: str, org_id, location_ids: set, out: _Collector) -> dict | None:
    if not isinstance(raw, dict):
        out.add(row, "", _("Each service must be a JSON object."))
        return None
    raw = _with_lists(raw, row, out, "attributes", "phones", "schedules", "service_areas", "languages",
                      "service_at_locations")
    service_id = out.unique(row, "service", raw.get("id"))
    if raw.get("organization_id") not in (None, "") and as_uuid(raw.get("organization_id")) != org_id:
        out.add(row, "organization_id", _("Does not match the organization it is listed under."))
    if not raw.get("status"):
        out.add(row, "status", _("Required by HSDS: active, inactive, defunct or temporarily closed."))
    data = {key: raw.get(key) for key in ("name", "alternate_name", "description", "url", "email", "status",
                                          "minimum_age", "maximum_age", "application_process")}
    data["eligibility"] = raw.get("eligibility_description")
    areas = [str(a["name"]) for a in raw.get("service_areas") or [] if isinstance(a, dict) and a.get("name")]
    data["service_area"] = "; ".join(areas) if areas else None
    data["phones"] = _phones_of(raw.get("phones") or [])
    schedules, notes = [], []
    for entry in raw.get("schedules") or []:
        if isinstance(entry, dict) and not any(entry.get(k) for k in ("byday", "opens_at", "closes_at")):
            if entry.get("description"):
                notes.append(str(entry["description"]))
            continue
        if isinstance(entry, dict) and entry.get("freq") not in (None, "WEEKLY"):
            out.add(row, "schedules", _("Only weekly opening hours (freq WEEKLY) can be imported."))
        schedules.append(entry)
    data["schedules"] = schedules
    data["hours_note"] = "; ".join(notes) if notes else None
    data["languages"] = raw.get("languages") or []
    data["types"] = [code for code, _value in _terms(raw, "type")]
    capacity = _terms(raw, "capacity")
    data["capacity"] = capacity[0][0] if capacity else Capacity.OPEN.value
    updated = None
    if capacity and capacity[0][1]:
        try:
            updated = iso_datetime(str(capacity[0][1]).replace("Z", "+00:00"))
            if updated.tzinfo is None:
                updated = updated.replace(tzinfo=UTC)
        except ValueError:
            out.add(row, "attributes", _("The capacity attribute's value must be an ISO date and time."))
    data["public"] = _flag(raw, "public") == "true"
    data["crisis_line"] = _flag(raw, "crisis_line") == "true"
    links = [link for link in raw.get("service_at_locations") or [] if isinstance(link, dict)]
    data["location_ids"] = [_place_of(link) for link in links]
    for index, link in enumerate(links):
        if as_uuid(_place_of(link)) not in location_ids:
            out.add(f"{row}.service_at_locations[{index}]", "location_id",
                    _("No location with this id is listed under the same organization."))
    try:
        clean = directory.clean_service(data)
    except Invalid as error:
        out.invalid(row, error, {"eligibility": "eligibility_description", "service_area": "service_areas",
                                 "types": "attributes", "capacity": "attributes",
                                 "location_ids": "service_at_locations"})
        return None
    return ({"id": service_id, "clean": clean, "capacity_updated_at": updated, "source": raw}
            if service_id else None)


def _place_of(link: dict):
    """The location a service_at_location names: its location_id, or its nested location's id."""
    nested = link.get("location")
    if not link.get("location_id") and isinstance(nested, dict):
        return nested.get("id")
    return link.get("location_id")


def import_directory(payload, user=None, default_tier: str | None = None) -> ImportReport:
    """Validate the whole file, then create or update every organisation, location and service in it.
    Records are matched by id (the source's own: re-importing an updated file updates what it sent
    before); services missing from the file are left as they are (referrals may point at them).
    `default_tier` ("1", "2" or "3") is the tier of organisations that carry no CareCycle tier
    attribute; without it they are refused. Raises ImportRefused, having changed nothing. The caller
    commits."""
    if default_tier is not None and default_tier not in [t.value for t in Tier]:
        raise ImportRefused([ImportProblem("default_tier", "", _("Choose tier 1, 2 or 3."))])
    out = _Collector()
    raw_orgs = _organisation_list(payload)
    if not raw_orgs:
        raise ImportRefused([ImportProblem("organizations", "", _("The file lists no organizations."))])
    read = [_read_organisation(raw, f"organizations[{index}]", out, default_tier)
            for index, raw in enumerate(raw_orgs)]
    parsed = [item for item in read if item is not None]  # one that is None left a problem
    if not out.problems:
        _check_ownership(parsed, out)
    if out.problems:
        raise ImportRefused(out.problems)
    report = ImportReport()
    for item in parsed:
        _apply_organisation(item, user, report)
    db.session.flush()
    with force_locale("en"):  # as the export is written
        for item in parsed:
            _keep_sources(item)
    record_event("import", "partner_directory", None,
                 reason=f"organisations:{report.organisations_created}+{report.organisations_updated} "
                        f"services:{report.services_created}+{report.services_updated}")
    return report


def _check_ownership(parsed: list[dict], out: _Collector) -> None:
    """An id already used by another organisation's service or location is refused, not moved."""
    for index, item in enumerate(parsed):
        row = f"organizations[{index}]"
        for sindex, service in enumerate(item["services"]):
            existing = db.session.get(Service, service["id"])
            if existing is not None and existing.organisation_id != item["id"]:
                out.add(f"{row}.services[{sindex}]", "id", _("This service id belongs to another organisation."))
        for lindex, location in enumerate(item["locations"]):
            place = db.session.get(Location, location["id"])
            if place is not None and place.organisation_id != item["id"]:
                out.add(f"{row}.locations[{lindex}]", "id", _("This location id belongs to another organisation."))


def _apply_organisation(item: dict, user, report: ImportReport) -> None:
    org = db.session.get(Organisation, item["id"])
    if org is None:
        org = Organisation(id=item["id"], **item["clean"])
        db.session.add(org)
        report.organisations_created += 1
    else:
        for name, value in item["clean"].items():
            setattr(org, name, value)
        org.archived_at = None
        org.updated_at = utcnow()
        report.organisations_updated += 1
    db.session.flush()
    keep = {loc["id"] for loc in item["locations"]}
    for location in list(org.locations):
        if location.id not in keep:
            links = select(ServiceAtLocation).where(ServiceAtLocation.location_id == location.id)
            for link in db.session.scalars(links):
                db.session.delete(link)
            org.locations.remove(location)
    db.session.flush()
    for loc in item["locations"]:
        stored = db.session.get(Location, loc["id"])
        if stored is None:
            org.locations.append(Location(id=loc["id"], organisation_id=org.id, **loc["clean"]))
        else:
            for name, value in loc["clean"].items():
                setattr(stored, name, value)
        report.locations += 1
    db.session.flush()
    for svc in item["services"]:
        service = db.session.get(Service, svc["id"])
        if service is None:
            service = Service(id=svc["id"], organisation_id=org.id)
            db.session.add(service)
            report.services_created += 1
        else:
            service.archived_at = None
            service.updated_at = utcnow()
            report.services_updated += 1
        directory._apply_service(service, svc["clean"], capacity_updated_at=svc["capacity_updated_at"] or utcnow())
    record_event("import", "partner_organisation", org.id)


def _keep_sources(item: dict) -> None:
    org = db.session.get_one(Organisation, item["id"])
    keep_source(org, item["source"], _organisation_own(org))
    for loc in item["locations"]:
        place = db.session.get_one(Location, loc["id"])
        keep_source(place, loc["source"], _location_own(place))
    for svc in item["services"]:
        service = db.session.get_one(Service, svc["id"])
        keep_source(service, svc["source"], _service_own(service))
