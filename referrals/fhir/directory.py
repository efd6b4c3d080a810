"""The partner directory as FHIR R4: `Organization` (with its responder tier), `Location` and
`HealthcareService`. What is served is what the HSDS export publishes (referrals.service.hsds):
organisations that are not archived, their places, and their services that are not archived, public
or not. The directory is staff reference data: the same permission as the directory pages and the
HSDS API (DIRECTORY_VIEW), and, as there, a view of it is not a person's record (its kinds are not
audited, see referrals.service.kinds)."""
from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import selectinload

from carecycle.extensions import db
from carecycle.fhir import (
    Concept,
    FhirError,
    Page,
    code_system_url,
    ref,
    ref_id,
    register_code_system,
    register_resource,
    token_value,
)
from carecycle.lifecycle import load_visible
from carecycle.permissions import Permission
from referrals.enums import Capacity, ServiceStatus, ServiceType, Tier
from referrals.models import Location, Organisation, Schedule, Service, ServiceTypeTag
from referrals.service.common import as_uuid
from referrals.service.directory import current_locations, current_services

TIER_SYSTEM = "responder-tier"
SERVICE_TYPE_SYSTEM = "service-type"
CAPACITY_SYSTEM = "service-capacity"
BCP47 = "urn:ietf:bcp:47"
FHIR_DAYS = {"MO": "mon", "TU": "tue", "WE": "wed", "TH": "thu", "FR": "fri", "SA": "sat", "SU": "sun"}
DAY_ORDER = list(FHIR_DAYS)
# HSDS (RFC 6350) phone types -> ContactPoint.system and .use
PHONE_SYSTEMS = {"text": "sms", "fax": "fax"}
PHONE_USES = {"cell": "mobile"}


# ------------------------------------------------------------------ mapping
def _coding(system_id: str, code: str, display) -> dict:
    return {"system": code_system_url(system_id), "code": code, "display": str(display)}


def _tier(org: Organisation) -> dict:
    tier = org.tier_enum
    return {"coding": [_coding(TIER_SYSTEM, tier.value, tier.label)], "text": str(tier.label)}


def _address(loc: Location) -> dict | None:
    lines = [line for line in (loc.address_1, loc.address_2) if line]
    fields = {"line": lines or None, "city": loc.city, "district": loc.region, "state": loc.state_province,
              "postalCode": loc.postal_code, "country": loc.country}
    present = {key: value for key, value in fields.items() if value}
    if not present:
        return None
    text = {"text": loc.address_line} if loc.address_line else {}
    return {"use": "work", "type": "physical", **text, **present}


def _contact_points(phone_rows: list[dict], email: str | None, website: str | None) -> list[dict]:
    points: list[dict[str, Any]] = []
    for rank, row in enumerate(phone_rows, start=1):
        point: dict[str, Any] = {"system": PHONE_SYSTEMS.get(row.get("type") or "", "phone"),
                                 "value": row["number"], "use": PHONE_USES.get(row.get("type") or "", "work"),
                                 "rank": rank}
        points.append(point)
    if email:
        points.append({"system": "email", "value": email, "use": "work"})
    if website:
        points.append({"system": "url", "value": website, "use": "work"})
    return points


def _org_telecom(org: Organisation) -> list[dict]:
    return _contact_points([{"number": org.phone, "type": "voice"}] if org.phone else [], org.email, org.website)


def organization(org: Organisation) -> dict:
    resource: dict[str, Any] = {"resourceType": "Organization", "id": str(org.id),
                                "active": org.archived_at is None, "type": [_tier(org)], "name": org.name}
    if org.alternate_name:
        resource["alias"] = [org.alternate_name]
    telecom = _org_telecom(org)
    if telecom:
        resource["telecom"] = telecom
    addresses = [a for a in (_address(loc) for loc in org.locations) if a]
    if addresses:
        resource["address"] = addresses
    return resource


def location(loc: Location) -> dict:
    org = loc.organisation
    resource: dict[str, Any] = {"resourceType": "Location", "id": str(loc.id), "status": "active",
                                "name": loc.name, "mode": "instance"}
    if loc.description:
        resource["description"] = loc.description
    telecom = _org_telecom(org)
    if telecom:
        resource["telecom"] = telecom
    address = _address(loc)
    if address:
        resource["address"] = address
    if loc.latitude and loc.longitude:
        resource["position"] = {"longitude": float(loc.longitude), "latitude": float(loc.latitude)}
    resource["managingOrganization"] = ref("Organization", org.id, org.name)
    return resource


def _time(clock: str) -> str:
    return "23:59:59" if clock == "23:59" else f"{clock}:00"


def available_times(row: Schedule) -> list[dict]:
    """One weekly schedule as FHIR availableTime: hours past midnight (22:00-02:00) become the
    evening of the listed days and the early morning of the days after them."""
    days = [FHIR_DAYS[d] for d in row.days if d in FHIR_DAYS]
    if not days:
        return []
    if row.opens_at == "00:00" and row.closes_at == "23:59":
        return [{"daysOfWeek": days, "allDay": True}]
    if row.opens_at < row.closes_at or row.closes_at == "23:59":
        return [{"daysOfWeek": days, "availableStartTime": _time(row.opens_at),
                 "availableEndTime": _time(row.closes_at)}]
    times = [{"daysOfWeek": days, "availableStartTime": _time(row.opens_at), "availableEndTime": "23:59:59"}]
    if row.closes_at != "00:00":
        following = {DAY_ORDER[(DAY_ORDER.index(d) + 1) % 7] for d in row.days if d in FHIR_DAYS}
        times.append({"daysOfWeek": [FHIR_DAYS[d] for d in DAY_ORDER if d in following],
                      "availableStartTime": "00:00:00", "availableEndTime": _time(row.closes_at)})
    return times


def _offset_text(minutes: int) -> str:
    sign = "-" if minutes < 0 else "+"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _availability_notes(service: Service) -> str | None:
    notes = [service.hours_note] if service.hours_note else []
    for row in service.schedules:
        if row.description:
            notes.append(row.description)
        if row.utc_offset_minutes is not None:
            notes.append(_("The hours of %(days)s are in the time zone %(zone)s.", days=row.byday,
                           zone=_offset_text(row.utc_offset_minutes)))
    return " ".join(notes) or None


def healthcare_service(service: Service) -> dict:
    org = service.organisation
    resource: dict[str, Any] = {"resourceType": "HealthcareService", "id": str(service.id),
                                "active": service.status == ServiceStatus.ACTIVE.value,
                                "providedBy": ref("Organization", org.id, org.name)}
    types = [{"coding": [_coding(SERVICE_TYPE_SYSTEM, code, ServiceType(code).label)]}
             for code in service.type_codes if code in ServiceType._value2member_map_]
    if types:
        resource["type"] = types
    places = sorted(service.locations, key=lambda x: (x.name, str(x.id)))
    locations = [ref("Location", loc.id, loc.name) for loc in places]
    if locations:
        resource["location"] = locations
    resource["name"] = service.name
    if service.description:
        resource["comment"] = service.description
    if service.application_process:
        resource["extraDetails"] = service.application_process
    telecom = _contact_points(service.phones or [], service.email, service.url)
    if telecom:
        resource["telecom"] = telecom
    if service.eligibility:
        resource["eligibility"] = [{"comment": service.eligibility}]
    capacity = Capacity(service.capacity)
    resource["characteristic"] = [{"coding": [_coding(CAPACITY_SYSTEM, capacity.value, capacity.label)]}]
    if service.languages:
        resource["communication"] = [{"coding": [{"system": BCP47, "code": lang.code, "display": lang.name}],
                                      "text": lang.name} for lang in service.languages]
    times = [t for row in service.schedules for t in available_times(row)]
    if times:
        resource["availableTime"] = times
    notes = _availability_notes(service)
    if notes:
        resource["availabilityExceptions"] = notes
    return resource


# ------------------------------------------------------------------ reads
def read_organization(record_id: str, user) -> dict:
    # the directory's rule for a current organisation (archived ones are not published)
    org = load_visible("organisation", record_id, user, where=(Organisation.archived_at.is_(None),))
    return organization(org)


def read_location(record_id: str, user) -> dict:
    return location(load_visible("location", record_id, user))


def read_healthcare_service(record_id: str, user) -> dict:
    return healthcare_service(load_visible("partner_service", record_id, user))


# ------------------------------------------------------------------ searches
def _contains(column, value: str):
    """The directory search's match: case-insensitive, anywhere in the text."""
    return func.lower(column).contains(value.strip().lower(), autoescape=True)


def _organisation_id(params: dict[str, str]):
    wanted = ref_id(params["organization"], "Organization")
    org_id = as_uuid(wanted) if wanted else None
    if org_id is None:
        raise FhirError(400, _("organization must be an Organization reference or id."))
    return org_id


def _code(params: dict[str, str], name: str, system_id: str, codes) -> str:
    system, code = token_value(params[name])
    if system not in (None, code_system_url(system_id)) or code not in codes:
        raise FhirError(400, _("%(name)s must be one of the codes of %(system)s.", name=name,
                               system=code_system_url(system_id)))
    return code


def _page(stmt, page: Page) -> tuple[list, bool]:
    return page.window(list(db.session.scalars(stmt.offset(page.offset).limit(page.count + 1))))


def search_organizations(params: dict[str, str], user, page: Page) -> tuple[list[dict], bool]:
    stmt = (select(Organisation).where(Organisation.archived_at.is_(None))
            .options(selectinload(Organisation.locations))
            .order_by(Organisation.tier, Organisation.name, Organisation.id))
    if "name" in params:
        stmt = stmt.where(or_(_contains(Organisation.name, params["name"]),
                              _contains(Organisation.alternate_name, params["name"])))
    if "type" in params:
        stmt = stmt.where(Organisation.tier == int(_code(params, "type", TIER_SYSTEM, [t.value for t in Tier])))
    shown, more = _page(stmt, page)
    return [organization(org) for org in shown], more


def search_locations(params: dict[str, str], user, page: Page) -> tuple[list[dict], bool]:
    stmt = (select(Location).where(current_locations()).options(selectinload(Location.organisation))
            .order_by(Location.name, Location.id))
    if "organization" in params:
        stmt = stmt.where(Location.organisation_id == _organisation_id(params))
    if "name" in params:
        stmt = stmt.where(_contains(Location.name, params["name"]))
    shown, more = _page(stmt, page)
    return [location(loc) for loc in shown], more


def search_healthcare_services(params: dict[str, str], user, page: Page) -> tuple[list[dict], bool]:
    stmt = (select(Service).join(Organisation, Organisation.id == Service.organisation_id)
            .where(current_services())
            .options(selectinload(Service.organisation), selectinload(Service.types),
                     selectinload(Service.languages), selectinload(Service.schedules),
                     selectinload(Service.at_locations))
            .order_by(Organisation.tier, Organisation.name, Service.name, Service.id))
    if "organization" in params:
        stmt = stmt.where(Service.organisation_id == _organisation_id(params))
    if "name" in params:
        stmt = stmt.where(_contains(Service.name, params["name"]))
    if "service-type" in params:
        code = _code(params, "service-type", SERVICE_TYPE_SYSTEM, [t.value for t in ServiceType])
        stmt = stmt.where(exists().where(ServiceTypeTag.service_id == Service.id, ServiceTypeTag.code == code))
    shown, more = _page(stmt, page)
    return [healthcare_service(service) for service in shown], more


# ------------------------------------------------------------------ registration
def _concepts(enum, meaning=None):
    def concepts() -> list[Concept]:
        return [Concept(member.value, str(member.label), str(meaning(member)) if meaning else "")
                for member in enum]
    return concepts


def register(app) -> None:
    register_code_system(app, TIER_SYSTEM, "CareCycle responder tiers",
                         "The tier of a partner organisation in the tiered responder system (Organization.type): "
                         "1 emergency and health, 2 essential services, 3 community and volunteers.",
                         _concepts(Tier, lambda tier: tier.meaning))
    register_code_system(app, SERVICE_TYPE_SYSTEM, "CareCycle service types",
                         "What a partner service offers (HealthcareService.type).", _concepts(ServiceType))
    register_code_system(app, CAPACITY_SYSTEM, "CareCycle service capacity",
                         "How many new people a partner service can take now (HealthcareService.characteristic).",
                         _concepts(Capacity))
    doc = "The partner directory as the HSDS export publishes it (staff with the directory only)."
    register_resource(
        app, "Organization", permission=Permission.DIRECTORY_VIEW, read=read_organization,
        search=search_organizations,
        params={"name": "Part of the name or alias, any case.",
                "type": f"The responder tier: 1, 2 or 3 (CodeSystem/{TIER_SYSTEM})."},
        param_types={"name": "string"}, doc="Partner organisations (tiered responders). " + doc)
    register_resource(
        app, "Location", permission=Permission.DIRECTORY_VIEW, read=read_location, search=search_locations,
        params={"organization": "The organisation's places (Organization reference or id).",
                "name": "Part of the place's name, any case."},
        param_types={"organization": "reference", "name": "string"},
        doc="Where partner organisations receive people. " + doc)
    register_resource(
        app, "HealthcareService", permission=Permission.DIRECTORY_VIEW, read=read_healthcare_service,
        search=search_healthcare_services,
        params={"organization": "The organisation's services (Organization reference or id).",
                "name": "Part of the service's name, any case.",
                "service-type": "A CareCycle service-type code (for example counselling)."},
        param_types={"organization": "reference", "name": "string"},
        doc="Services of partner organisations, with their hours, languages and capacity. " + doc)
