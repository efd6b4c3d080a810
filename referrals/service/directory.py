"""The partner directory: validating and saving organisations, locations and services, search
and filters (tier, type, language, open now, capacity), capacity updates, the public list.

Organisations and services are public information, not a person's record; they are never
hard-deleted (a service may be the target of referrals): archiving hides them."""
from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import selectinload

from carecycle import localtime
from carecycle.audit import record_event
from carecycle.database import utcnow
from carecycle.extensions import db
from carecycle.i18n import language_name
from carecycle.validation import Invalid
from referrals.enums import (
    DAY_CODES,
    LANGUAGE_NAMES,
    LOCALE_LANGUAGES,
    Capacity,
    PhoneType,
    ServiceStatus,
    ServiceType,
    Tier,
)
from referrals.models import (
    Location,
    Organisation,
    Schedule,
    Service,
    ServiceAtLocation,
    ServiceLanguage,
    ServiceTypeTag,
)
from referrals.service.common import (
    Errors,
    as_uuid,
    check_version,
    clock_time,
    derived_id,
    email,
    iso_date,
    phone,
    text,
    url,
    whole_number,
)

LANGUAGE_CODE_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


# ------------------------------------------------------------------ validation
def clean_organisation(data: dict) -> dict:
    """Validate an organisation's fields; raises Invalid naming each bad field."""
    errors = Errors()
    clean: dict[str, Any] = {
        "name": text(data, "name", errors, limit=200, required=True, message=_("Enter the organisation's name.")),
        "alternate_name": text(data, "alternate_name", errors, limit=200),
        "description": text(data, "description", errors, limit=5000) or "",
        "email": email(data, "email", errors),
        "website": url(data, "website", errors),
        "phone": phone(data, "phone", errors),
        "has_agreement": bool(data.get("has_agreement")),
        "agreement_start": iso_date(data, "agreement_start", errors),
        "agreement_end": iso_date(data, "agreement_end", errors),
        "agreement_note": text(data, "agreement_note", errors, limit=500),
        "is_example": bool(data.get("is_example")),
    }
    try:
        clean["tier"] = Tier(str(data.get("tier") or "").strip()).number
    except ValueError:
        errors["tier"] = _("Choose tier 1, 2 or 3.")
    if not clean["has_agreement"]:
        clean["agreement_start"] = clean["agreement_end"] = clean["agreement_note"] = None
    elif clean["agreement_start"] and clean["agreement_end"] and clean["agreement_end"] < clean["agreement_start"]:
        errors["agreement_end"] = _("The agreement cannot end before it starts.")
    errors.check()
    return clean


def clean_location(data: dict) -> dict:
    errors = Errors()
    clean: dict[str, Any] = {
        "name": text(data, "name", errors, limit=200, required=True, message=_("Name the place, e.g. 'Main office'.")),
        "description": text(data, "description", errors, limit=2000),
        "transportation": text(data, "transportation", errors, limit=500),
        "address_1": text(data, "address_1", errors, limit=200),
        "address_2": text(data, "address_2", errors, limit=200),
        "city": text(data, "city", errors, limit=100),
        "region": text(data, "region", errors, limit=100),
        "state_province": text(data, "state_province", errors, limit=100),
        "postal_code": text(data, "postal_code", errors, limit=20),
        "country": text(data, "country", errors, limit=2),
    }
    if clean["country"]:
        if not re.fullmatch(r"[A-Za-z]{2}", clean["country"]):
            errors["country"] = _("Use the two-letter country code, e.g. HK or GB.")
        else:
            clean["country"] = clean["country"].upper()
    for name, low, high in (("latitude", -90, 90), ("longitude", -180, 180)):
        value = data.get(name)
        if value in (None, ""):
            clean[name] = None
            continue
        try:
            number = float(value)
            if isinstance(value, bool) or not low <= number <= high:
                raise ValueError
        except (TypeError, ValueError):
            errors[name] = _("Use decimal degrees from %(low)d to %(high)d.", low=low, high=high)
            continue
        clean[name] = str(value).strip() if isinstance(value, str) else repr(number)
    errors.check()
    return clean


def clean_service(data: dict, *, location_ids: set | None = None) -> dict:
    """Validate a service's fields, including its phones, opening hours, types and languages."""
    errors = Errors()
    clean: dict[str, Any] = {
        "name": text(data, "name", errors, limit=200, required=True, message=_("Enter the service's name.")),
        "alternate_name": text(data, "alternate_name", errors, limit=200),
        "description": text(data, "description", errors, limit=5000) or "",
        "url": url(data, "url", errors),
        "email": email(data, "email", errors),
        "eligibility": text(data, "eligibility", errors, limit=2000),
        "minimum_age": whole_number(data, "minimum_age", errors, low=0, high=120),
        "maximum_age": whole_number(data, "maximum_age", errors, low=0, high=120),
        "service_area": text(data, "service_area", errors, limit=300),
        "application_process": text(data, "application_process", errors, limit=2000),
        "hours_note": text(data, "hours_note", errors, limit=300),
        "public": bool(data.get("public")),
        "crisis_line": bool(data.get("crisis_line")),
    }
    if clean["minimum_age"] is not None and clean["maximum_age"] is not None \
            and clean["maximum_age"] < clean["minimum_age"]:
        errors["maximum_age"] = _("The maximum age is below the minimum age.")
    status = data.get("status") or ServiceStatus.ACTIVE.value
    if status not in [s.value for s in ServiceStatus]:
        errors["status"] = _("Choose one of: %(options)s.", options=", ".join(s.value for s in ServiceStatus))
    clean["status"] = status
    capacity = data.get("capacity") or Capacity.OPEN.value
    if capacity not in [c.value for c in Capacity]:
        errors["capacity"] = _("Choose open, limited, full or closed.")
    clean["capacity"] = capacity
    clean["phones"] = _clean_phones(data.get("phones") or [], errors)
    clean["schedules"] = _clean_schedules(data.get("schedules") or [], errors)
    clean["types"] = _clean_types(data.get("types") or [], errors)
    clean["languages"] = _clean_languages(data.get("languages") or [], errors)
    clean["location_ids"] = _clean_location_ids(data.get("location_ids") or [], location_ids, errors)
    errors.check()
    return clean


def _list(value, errors: Errors, field: str) -> list:
    if not isinstance(value, (list, tuple)):
        errors[field] = _("Must be a list.")
        return []
    return list(value)


def _clean_phones(items, errors: Errors) -> list[dict]:
    phones = []
    for index, item in enumerate(_list(items, errors, "phones")):
        where = f"phones[{index}]"
        if not isinstance(item, dict):
            errors[where] = _("Must be an object with a number.")
            continue
        if not (item.get("number") or "").strip() and not (item.get("description") or "").strip():
            continue  # an empty row of the form
        number = phone(item, "number", errors, required=True, field=f"{where}.number")
        kind = item.get("type") or PhoneType.VOICE.value
        if kind not in [p.value for p in PhoneType]:
            errors[f"{where}.type"] = _("Choose one of: %(options)s.", options=", ".join(p.value for p in PhoneType))
        note = text(item, "description", errors, limit=300, field=f"{where}.description")
        if number:
            entry = {"number": number, "type": kind}
            if note:
                entry["description"] = note
            phones.append(entry)
    return phones


TIME_OFFSET_RE = re.compile(r"^(\d{1,2}:\d{2}(?::\d{2})?)(Z|[+-]\d{2}:?\d{2})$")


def _without_offset(value):
    """"09:00-05:00" or "09:00Z" (HSDS times with their zone) -> "09:00"."""
    found = TIME_OFFSET_RE.match(str(value).strip()) if isinstance(value, str) else None
    return found.group(1) if found else value


def _offset_minutes(suffix: str) -> int:
    if suffix == "Z":
        return 0
    sign = -1 if suffix[0] == "-" else 1
    digits = suffix[1:].replace(":", "")
    return sign * (int(digits[:2]) * 60 + int(digits[2:]))


def _schedule_offset(item: dict, errors: Errors, where: str) -> int | None:
    """The schedule's own zone as minutes east of UTC: HSDS `timezone` (a UTC offset in hours,
    e.g. 8 or -5 or 5.5) or the offset written with the times; None when the data gives none."""
    offsets = set()
    raw = item.get("timezone")
    if raw not in (None, ""):
        try:
            hours = float(raw)
        except (TypeError, ValueError):
            hours = None
        if hours is None or not -12 <= hours <= 14 or (hours * 60) % 15:
            errors[f"{where}.timezone"] = _("Give the time zone as a UTC offset in hours, from -12 to 14 "
                                            "(for example 8 or -5).")
        else:
            offsets.add(round(hours * 60))
    for name in ("opens_at", "closes_at"):
        value = item.get(name)
        found = TIME_OFFSET_RE.match(value.strip()) if isinstance(value, str) else None
        if found:
            offsets.add(_offset_minutes(found.group(2)))
    if len(offsets) > 1:
        errors[f"{where}.timezone"] = _("The times and the time zone of this schedule give different UTC offsets.")
        return None
    return offsets.pop() if offsets else None


def _clean_schedules(items, errors: Errors) -> list[dict]:
    rows = []
    for index, item in enumerate(_list(items, errors, "schedules")):
        where = f"schedules[{index}]"
        if not isinstance(item, dict):
            errors[where] = _("Must be an object with byday, opens_at and closes_at.")
            continue
        if not any((str(item.get(k) or "")).strip() for k in ("byday", "opens_at", "closes_at", "description")):
            continue  # an empty row of the form
        days = [d.strip().upper() for d in str(item.get("byday") or "").split(",") if d.strip()]
        if not days or any(d not in DAY_CODES for d in days):
            errors[f"{where}.byday"] = _("List the days as MO,TU,WE,TH,FR,SA,SU.")
        offset = _schedule_offset(item, errors, where)
        if offset is not None and offset == localtime.fixed_offset_minutes():
            offset = None  # the service's own zone, which has this offset all year
        opens = clock_time(_without_offset(item.get("opens_at")), errors, f"{where}.opens_at")
        closes = clock_time(_without_offset(item.get("closes_at")), errors, f"{where}.closes_at")
        if opens and closes and opens == closes:
            errors[f"{where}.closes_at"] = _("Closing time equals opening time.")
        note = text(item, "description", errors, limit=300, field=f"{where}.description")
        ordered = ",".join(d for d in DAY_CODES if d in days)
        rows.append({"byday": ordered, "opens_at": opens, "closes_at": closes, "description": note,
                     "utc_offset_minutes": offset})
    return rows


def _clean_types(items, errors: Errors) -> list[str]:
    known = [t.value for t in ServiceType]
    codes = []
    for code in _list(items, errors, "types"):
        if code not in known:
            errors["types"] = _("Unknown service type %(code)s.", code=str(code)[:40])
        elif code not in codes:
            codes.append(code)
    return sorted(codes)


def _clean_languages(items, errors: Errors) -> list[dict]:
    rows, seen = [], set()
    for index, item in enumerate(_list(items, errors, "languages")):
        where = f"languages[{index}]"
        entry = {"code": item} if isinstance(item, str) else item
        if not isinstance(entry, dict):
            errors[where] = _("Must be a language code or an object with a code.")
            continue
        code = str(entry.get("code") or "").strip()
        if not LANGUAGE_CODE_RE.match(code):
            errors[f"{where}.code"] = _("Use an ISO 639 language code such as en, yue or ur.")
            continue
        if code in seen:
            continue
        seen.add(code)
        name = text(entry, "name", errors, limit=100, field=f"{where}.name") or LANGUAGE_NAMES.get(code, code)
        note = text(entry, "note", errors, limit=300, field=f"{where}.note")
        rows.append({"code": code, "name": name, "note": note})
    return sorted(rows, key=lambda r: r["code"])


def _clean_location_ids(items, allowed: set | None, errors: Errors) -> list[uuid.UUID]:
    ids = []
    for value in _list(items, errors, "location_ids"):
        lid = as_uuid(value)
        if lid is None or (allowed is not None and lid not in allowed):
            errors["location_ids"] = _("Choose places of this organisation.")
        elif lid not in ids:
            ids.append(lid)
    return ids


# ------------------------------------------------------------------ saving
def create_organisation(user, data: dict, *, org_id=None) -> Organisation:
    clean = clean_organisation(data)
    org = Organisation(id=org_id or uuid.uuid4(), **clean)
    db.session.add(org)
    db.session.flush()
    record_event("create", "partner_organisation", org.id)
    return org


def update_organisation(user, org: Organisation, data: dict, version=None) -> Organisation:
    check_version(org, version, _("Someone else changed this %(what)s since you opened it.", what=_("organisation")))
    clean = clean_organisation(data)
    for name, value in clean.items():
        setattr(org, name, value)
    org.updated_at = utcnow()
    db.session.flush()
    record_event("update", "partner_organisation", org.id)
    return org


def archive_organisation(user, org: Organisation) -> None:
    if org.archived_at is None:
        org.archived_at = utcnow()
        record_event("archive", "partner_organisation", org.id)


def save_location(user, org: Organisation, data: dict, location: Location | None = None) -> Location:
    clean = clean_location(data)
    if location is None:
        location = Location(organisation_id=org.id, **clean)
        db.session.add(location)
        org.locations.append(location)
        action = "create"
    else:
        for name, value in clean.items():
            setattr(location, name, value)
        action = "update"
    db.session.flush()
    record_event(action, "partner_location", location.id)
    return location


def create_service(user, org: Organisation, data: dict, *, service_id=None) -> Service:
    clean = clean_service(data, location_ids={loc.id for loc in org.locations})
    service = Service(id=service_id or uuid.uuid4(), organisation_id=org.id,
                      capacity_updated_by_id=getattr(user, "id", None))
    db.session.add(service)
    _apply_service(service, clean)
    db.session.flush()
    record_event("create", "partner_service", service.id)
    return service


def update_service(user, service: Service, data: dict, version=None) -> Service:
    check_version(service, version, _("Someone else changed this %(what)s since you opened it.", what=_("service")))
    clean = clean_service(data, location_ids={loc.id for loc in service.organisation.locations})
    if clean["capacity"] != service.capacity:
        service.capacity_updated_at, service.capacity_updated_by_id = utcnow(), getattr(user, "id", None)
    _apply_service(service, clean)
    service.updated_at = utcnow()
    db.session.flush()
    record_event("update", "partner_service", service.id)
    return service


def _apply_service(service: Service, clean: dict, *, capacity_updated_at: datetime | None = None) -> None:
    for name in ("name", "alternate_name", "description", "url", "email", "eligibility", "minimum_age",
                 "maximum_age", "service_area", "application_process", "hours_note", "public", "crisis_line",
                 "status", "capacity"):
        setattr(service, name, clean[name])
    service.phones = [{"id": str(derived_id(service.id, f"phone:{index}")), **phone_row}
                      for index, phone_row in enumerate(clean["phones"])]
    if capacity_updated_at is not None:
        service.capacity_updated_at = capacity_updated_at
    # child rows are values of the service: replaced whole (flushing the removals first, so that a
    # kept code or id can be inserted again without tripping the unique constraints)
    service.types.clear()
    service.languages.clear()
    service.schedules.clear()
    service.at_locations.clear()
    db.session.flush()
    service.types.extend(ServiceTypeTag(service_id=service.id, code=code) for code in clean["types"])
    service.languages.extend(ServiceLanguage(id=derived_id(service.id, f"language:{row['code']}"),
                                             service_id=service.id, code=row["code"], name=row["name"],
                                             note=row["note"]) for row in clean["languages"])
    service.schedules.extend(Schedule(id=derived_id(service.id, f"schedule:{index}"), service_id=service.id,
                                      position=index, byday=row["byday"],
                                      opens_at=row["opens_at"], closes_at=row["closes_at"],
                                      description=row["description"],
                                      utc_offset_minutes=row.get("utc_offset_minutes"))
                             for index, row in enumerate(clean["schedules"]))
    service.at_locations.extend(ServiceAtLocation(service_id=service.id, location_id=lid)
                                for lid in clean["location_ids"])


def update_capacity(user, service: Service, capacity: str) -> Service:
    """The quick update staff make when a partner tells them it is full or open again."""
    if capacity not in [c.value for c in Capacity]:
        raise Invalid({"capacity": _("Choose open, limited, full or closed.")})
    service.capacity = capacity
    service.capacity_updated_at, service.capacity_updated_by_id = utcnow(), user.id
    db.session.flush()
    record_event("update", "partner_service", service.id, reason=f"capacity:{capacity}")
    return service


def archive_service(user, service: Service) -> None:
    if service.archived_at is None:
        service.archived_at = utcnow()
        record_event("archive", "partner_service", service.id)


# ------------------------------------------------------------------ reading
def current_services():
    """A WHERE clause: services neither archived nor offered by an archived organisation."""
    return Service.archived_at.is_(None) & Service.organisation_id.in_(
        select(Organisation.id).where(Organisation.archived_at.is_(None)))


def current_locations():
    """A WHERE clause: places of organisations that are not archived."""
    return Location.organisation_id.in_(select(Organisation.id).where(Organisation.archived_at.is_(None)))


def get_service(service_id) -> Service | None:
    """A current service (a referral's target), or None."""
    sid = as_uuid(service_id)
    return db.session.scalar(select(Service).where(Service.id == sid, current_services())) if sid else None


local_now = localtime.local_now  # opening hours are written in the service's time zone


def is_open(service: Service, now: datetime | None = None) -> bool:
    """Open at `now` (local time) by its weekly hours; overnight hours (22:00-02:00) count too."""
    service_now = now or local_now()
    for row in service.schedules:
        # a schedule with its own zone is read at that zone's clock, the others at the service's
        now = (service_now.astimezone(timezone(timedelta(minutes=row.utc_offset_minutes)))
               if row.utc_offset_minutes is not None and service_now.tzinfo is not None else service_now)
        today = DAY_CODES[now.weekday()]
        yesterday = DAY_CODES[(now.weekday() - 1) % 7]
        clock = now.strftime("%H:%M")
        days = row.days
        if row.opens_at < row.closes_at or row.closes_at == "23:59":
            if today in days and row.opens_at <= clock and (clock < row.closes_at or row.closes_at == "23:59"):
                return True
        else:  # past midnight
            if today in days and clock >= row.opens_at:
                return True
            if yesterday in days and clock < row.closes_at:
                return True
    return False


@dataclass
class DirectoryFilters:
    q: str = ""
    tier: str = ""
    type: str = ""
    language: str = ""
    capacity: str = ""
    open_now: bool = False
    public_only: bool = False

    @classmethod
    def from_args(cls, args) -> DirectoryFilters:
        def pick(name, allowed):
            value = (args.get(name) or "").strip()
            return value if value in allowed else ""
        return cls(q=(args.get("q") or "").strip()[:100],
                   tier=pick("tier", [t.value for t in Tier]),
                   type=pick("type", [t.value for t in ServiceType]),
                   language=(args.get("language") or "").strip()[:12] if LANGUAGE_CODE_RE.match(
                       (args.get("language") or "").strip()) else "",
                   capacity=pick("capacity", [c.value for c in Capacity]),
                   open_now=args.get("open_now") == "1")

    def args(self) -> dict:
        values = {"q": self.q, "tier": self.tier, "type": self.type, "language": self.language,
                  "capacity": self.capacity, "open_now": "1" if self.open_now else ""}
        return {k: v for k, v in values.items() if v}


def search_services(filters: DirectoryFilters) -> Sequence[Service]:
    """Services of the directory matching the filters: tier, then organisation and service name."""
    stmt = (select(Service).join(Organisation, Organisation.id == Service.organisation_id)
            .where(Service.archived_at.is_(None), Organisation.archived_at.is_(None))
            .options(selectinload(Service.organisation), selectinload(Service.types),
                     selectinload(Service.languages), selectinload(Service.schedules))
            .order_by(Organisation.tier, Organisation.name, Service.name))
    if filters.q:
        needle = filters.q.lower()
        stmt = stmt.where(or_(*(func.lower(column).contains(needle, autoescape=True) for column in (
            Service.name, Organisation.name, Service.description, Organisation.description))))
    if filters.tier:
        stmt = stmt.where(Organisation.tier == int(filters.tier))
    if filters.type:
        stmt = stmt.where(exists().where(ServiceTypeTag.service_id == Service.id, ServiceTypeTag.code == filters.type))
    if filters.language:
        stmt = stmt.where(exists().where(ServiceLanguage.service_id == Service.id,
                                         ServiceLanguage.code == filters.language))
    if filters.capacity:
        stmt = stmt.where(Service.capacity == filters.capacity)
    if filters.public_only:
        stmt = stmt.where(Service.public.is_(True), Service.status == ServiceStatus.ACTIVE.value)
    services = db.session.scalars(stmt).all()
    if filters.open_now:
        now = local_now()
        services = [s for s in services if is_open(s, now)]
    return services


def organisations_without_services(filters: DirectoryFilters) -> list[Organisation]:
    """Organisations with no (unarchived) service, matching the search and tier, so one saved before its
    services can be found again. None when a filter asks about services (type, language, capacity,
    hours, public listing): an organisation without a service cannot meet it."""
    if filters.type or filters.language or filters.capacity or filters.open_now or filters.public_only:
        return []
    has_service = exists().where(Service.organisation_id == Organisation.id, Service.archived_at.is_(None))
    stmt = (select(Organisation).where(Organisation.archived_at.is_(None), ~has_service)
            .order_by(Organisation.tier, Organisation.name))
    if filters.q:
        needle = filters.q.lower()
        stmt = stmt.where(or_(*(func.lower(column).contains(needle, autoescape=True) for column in (
            Organisation.name, Organisation.alternate_name, Organisation.description))))
    if filters.tier:
        stmt = stmt.where(Organisation.tier == int(filters.tier))
    return list(db.session.scalars(stmt))


def language_options() -> list[tuple[str, str]]:
    """Languages some service offers, for the filter."""
    rows = db.session.execute(select(ServiceLanguage.code, ServiceLanguage.name).distinct()).all()
    names: dict[str, str] = {}
    for code, name in rows:
        names.setdefault(code, language_name(code, name))  # in the reader's language
    return sorted(names.items(), key=lambda item: item[1])


def public_services(locale: str, language: str = "") -> tuple[list[Service], list[Service]]:
    """The Find-help page: public, active services; crisis lines first. Within each group the
    services speaking the reader's language come first."""
    services = search_services(DirectoryFilters(public_only=True, language=language))

    def order(service: Service):
        return (not speaks_locale(service, locale), service.organisation.tier, service.organisation.name,
                service.name)

    crisis = sorted((s for s in services if s.crisis_line), key=order)
    others = sorted((s for s in services if not s.crisis_line), key=order)
    return crisis, others


def speaks_locale(service: Service, locale: str) -> bool:
    return any(code in LOCALE_LANGUAGES.get(locale, ()) for code in service.language_codes)


def all_organisations(include_archived: bool = False) -> Sequence[Organisation]:
    stmt = select(Organisation).order_by(Organisation.tier, Organisation.name)
    if not include_archived:
        stmt = stmt.where(Organisation.archived_at.is_(None))
    return db.session.scalars(stmt).all()


def referable_services() -> Sequence[Service]:
    """Services a worker may refer to: active, not archived; tier then name."""
    stmt = (select(Service).join(Organisation, Organisation.id == Service.organisation_id)
            .where(Service.archived_at.is_(None), Organisation.archived_at.is_(None),
                   Service.status == ServiceStatus.ACTIVE.value)
            .options(selectinload(Service.organisation))
            .order_by(Organisation.tier, Organisation.name, Service.name))
    return db.session.scalars(stmt).all()
