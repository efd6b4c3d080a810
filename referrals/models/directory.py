"""The partner directory: organisations (tiered responders), their locations and services.

Public information about organisations, not about people: stored in plain text. The shape
follows Open Referral HSDS 3.0 (organization, location, service, service_at_location,
schedule, language), so the directory imports and exports without loss."""
from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carecycle.database import UUIDPrimaryKey, utcnow
from carecycle.extensions import Model
from carecycle.localtime import today as local_today
from referrals.enums import Capacity, ServiceStatus, Tier


class Organisation(UUIDPrimaryKey, Model):
    __tablename__ = "partner_organisation"

    name: Mapped[str] = mapped_column(String(200), index=True)
    alternate_name: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    tier: Mapped[int] = mapped_column(Integer, index=True)
    email: Mapped[str | None] = mapped_column(String(200))
    website: Mapped[str | None] = mapped_column(String(300))
    phone: Mapped[str | None] = mapped_column(String(40))
    has_agreement: Mapped[bool] = mapped_column(Boolean, default=False)
    agreement_start: Mapped[date | None] = mapped_column(Date)
    agreement_end: Mapped[date | None] = mapped_column(Date)
    agreement_note: Mapped[str | None] = mapped_column(String(500))
    is_example: Mapped[bool] = mapped_column(Boolean, default=False)
    # an organisation imported from another system's HSDS file: the object as it came (without its
    # locations and services) and as CareCycle exported it right after the import; see referrals.service.hsds
    hsds_source: Mapped[dict | None] = mapped_column(JSON)
    hsds_image: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    archived_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    services: Mapped[list[Service]] = relationship(back_populates="organisation", order_by="Service.name")
    locations: Mapped[list[Location]] = relationship(back_populates="organisation", order_by="Location.name",
                                                       cascade="all, delete-orphan")

    @property
    def tier_enum(self) -> Tier:
        return Tier(str(self.tier))

    @property
    def active_services(self) -> list[Service]:
        return [s for s in self.services if s.archived_at is None]

    @property
    def agreement_current(self) -> bool:
        if not self.has_agreement:
            return False
        today = local_today()
        return (self.agreement_start is None or self.agreement_start <= today) and \
            (self.agreement_end is None or today <= self.agreement_end)


class Location(UUIDPrimaryKey, Model):
    """Where an organisation receives people (HSDS location with one physical address)."""

    __tablename__ = "partner_location"

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partner_organisation.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    transportation: Mapped[str | None] = mapped_column(String(500))
    address_1: Mapped[str | None] = mapped_column(String(200))
    address_2: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    region: Mapped[str | None] = mapped_column(String(100))
    state_province: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(2))
    latitude: Mapped[str | None] = mapped_column(String(20))    # decimal degrees kept as written
    longitude: Mapped[str | None] = mapped_column(String(20))
    hsds_source: Mapped[dict | None] = mapped_column(JSON)   # as for Organisation
    hsds_image: Mapped[dict | None] = mapped_column(JSON)

    organisation: Mapped[Organisation] = relationship(back_populates="locations")

    @property
    def address_line(self) -> str:
        parts = [self.address_1, self.address_2, self.city, self.region, self.state_province, self.postal_code]
        return ", ".join(p for p in parts if p)


class Service(UUIDPrimaryKey, Model):
    __tablename__ = "partner_service"

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partner_organisation.id"), index=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    alternate_name: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(30), default=ServiceStatus.ACTIVE.value)
    url: Mapped[str | None] = mapped_column(String(300))
    email: Mapped[str | None] = mapped_column(String(200))
    phones: Mapped[list] = mapped_column(JSON, default=list)     # [{"id", "number", "type", "description"}]
    eligibility: Mapped[str | None] = mapped_column(Text)
    minimum_age: Mapped[int | None] = mapped_column(Integer)
    maximum_age: Mapped[int | None] = mapped_column(Integer)
    service_area: Mapped[str | None] = mapped_column(String(300))
    application_process: Mapped[str | None] = mapped_column(Text)
    hours_note: Mapped[str | None] = mapped_column(String(300))
    capacity: Mapped[str] = mapped_column(String(20), default=Capacity.OPEN.value, index=True)
    capacity_updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    capacity_updated_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    public: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    crisis_line: Mapped[bool] = mapped_column(Boolean, default=False)
    hsds_source: Mapped[dict | None] = mapped_column(JSON)   # as for Organisation
    hsds_image: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    archived_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    organisation: Mapped[Organisation] = relationship(back_populates="services")
    types: Mapped[list[ServiceTypeTag]] = relationship(cascade="all, delete-orphan", order_by="ServiceTypeTag.code")
    languages: Mapped[list[ServiceLanguage]] = relationship(cascade="all, delete-orphan",
                                                              order_by="ServiceLanguage.code")
    schedules: Mapped[list[Schedule]] = relationship(cascade="all, delete-orphan", order_by="Schedule.position")
    at_locations: Mapped[list[ServiceAtLocation]] = relationship(cascade="all, delete-orphan")

    @property
    def tier(self) -> int:
        return self.organisation.tier

    @property
    def type_codes(self) -> list[str]:
        return [t.code for t in self.types]

    @property
    def language_codes(self) -> list[str]:
        return [lang.code for lang in self.languages]

    @property
    def locations(self) -> list[Location]:
        return [link.location for link in self.at_locations]

    @property
    def main_phone(self) -> str | None:
        for phone in self.phones or []:
            if phone.get("type") in (None, "", "voice", "cell"):
                return phone.get("number")
        return (self.phones or [{}])[0].get("number") if self.phones else None


class ServiceTypeTag(UUIDPrimaryKey, Model):
    """One service type of a service (exported as an HSDS attribute with a taxonomy term)."""

    __tablename__ = "partner_service_type"
    __table_args__ = (UniqueConstraint("service_id", "code"),)

    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partner_service.id"), index=True)
    code: Mapped[str] = mapped_column(String(40), index=True)


class ServiceLanguage(UUIDPrimaryKey, Model):
    """A language spoken at a service (HSDS language)."""

    __tablename__ = "partner_service_language"
    __table_args__ = (UniqueConstraint("service_id", "code"),)

    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partner_service.id"), index=True)
    code: Mapped[str] = mapped_column(String(12), index=True)
    name: Mapped[str] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(String(300))


class Schedule(UUIDPrimaryKey, Model):
    """Weekly opening hours (HSDS schedule: freq WEEKLY, byday, opens_at, closes_at), in local time:
    the service's zone, or the schedule's own UTC offset when the data gives one."""

    __tablename__ = "partner_schedule"

    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partner_service.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    byday: Mapped[str] = mapped_column(String(40))          # "MO,TU,WE,TH,FR"
    opens_at: Mapped[str] = mapped_column(String(5))        # "09:00"
    closes_at: Mapped[str] = mapped_column(String(5))       # "17:30"; "23:59" means until midnight
    description: Mapped[str | None] = mapped_column(String(300))
    # the schedule's own zone as a UTC offset, when the HSDS data gives one (`timezone`, or times
    # such as "09:00-05:00"); None: the service's zone (CARECYCLE_TIMEZONE)
    utc_offset_minutes: Mapped[int | None] = mapped_column(Integer)

    @property
    def days(self) -> list[str]:
        return [d for d in self.byday.split(",") if d]


class ServiceAtLocation(UUIDPrimaryKey, Model):
    __tablename__ = "partner_service_at_location"
    __table_args__ = (UniqueConstraint("service_id", "location_id"),)

    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partner_service.id"), index=True)
    location_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partner_location.id"), index=True)

    location: Mapped[Location] = relationship()
