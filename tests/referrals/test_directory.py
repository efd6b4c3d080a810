"""The partner directory: who edits it, search and filters, capacity, and the public Find help page."""
from datetime import datetime

import pytest
from sqlalchemy import select

from carecycle.localtime import service_zone
from referrals.models import Organisation, Service
from referrals.service import directory
from tests.conftest import csrf_from, form_post

ORG_FORM = {"name": "Hillside Family Services", "tier": "3", "description": "Counselling for families.",
            "phone": "555-0320", "email": "", "website": "", "agreement_start": "", "agreement_end": "",
            "agreement_note": "", "alternate_name": ""}


@pytest.mark.parametrize("role", ["admin", "supervisor"])
def test_admins_and_supervisors_add_organisations_and_services(client, db, login_as, role):
    login_as(role)
    response = form_post(client, "/directory/organisations/new", dict(ORG_FORM, has_agreement="y",
                                                                      agreement_start="2024-01-01"))
    assert response.status_code == 302
    org = db.session.scalar(select(Organisation))
    assert org.tier == 3 and org.has_agreement and org.agreement_start.isoformat() == "2024-01-01"
    page = f"/directory/organisations/{org.id}/services/new"
    response = form_post(client, page, {
        "name": "Family counselling", "description": "Evenings.", "types": ["counselling", "youth"],
        "languages": ["en", "yue"], "other_languages": "ta", "capacity": "limited", "status": "active",
        "public": "y", "phones-0-number": "555-0321", "phones-0-type": "voice",
        "schedules-0-byday": "MO,TU,WE,TH,FR", "schedules-0-opens_at": "14:00", "schedules-0-closes_at": "22:00"})
    assert response.status_code == 302, response.get_data(as_text=True)
    service = db.session.scalar(select(Service))
    assert service.type_codes == ["counselling", "youth"] and service.language_codes == ["en", "ta", "yue"]
    assert service.phones[0]["number"] == "555-0321" and service.schedules[0].closes_at == "22:00"
    assert service.public and service.capacity == "limited"
    assert "Family counselling" in client.get(f"/directory/organisations/{org.id}").get_data(as_text=True)


def test_bad_service_fields_are_shown_on_the_form_and_nothing_is_saved(client, db, login_as, make_org):
    login_as("supervisor")
    org = make_org()
    page = f"/directory/organisations/{org.id}/services/new"
    response = form_post(client, page, {"name": "", "capacity": "open", "status": "active", "url": "ftp://x",
                                        "schedules-0-byday": "MO", "schedules-0-opens_at": "25:00",
                                        "schedules-0-closes_at": "12:00"})
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "Enter the service&#39;s name." in text and "Enter a time as HH:MM" in text and "http://" in text
    assert db.session.scalar(select(Service)) is None


@pytest.mark.parametrize("role", ["counsellor", "social_worker", "resident"])
def test_other_roles_cannot_edit_the_directory(client, db, login_as, make_service, role):
    login_as(role)
    service = make_service()
    for path in ("/directory/organisations/new", f"/directory/services/{service.id}/edit",
                 f"/directory/organisations/{service.organisation_id}/edit", "/directory/import"):
        assert client.get(path).status_code == 403, path
    expected = 403 if role == "resident" else 200
    assert client.get("/directory").status_code == expected


def test_a_stale_edit_is_refused_not_overwritten(client, db, login_as, make_org):
    login_as("admin")
    org = make_org()
    page = f"/directory/organisations/{org.id}/edit"
    token = csrf_from(client.get(page))
    org.name = "Changed meanwhile"
    db.session.commit()
    response = client.post(page, data=dict(ORG_FORM, csrf_token=token, version="1"))
    assert response.status_code == 409
    db.session.expire_all()
    assert db.session.get(Organisation, org.id).name == "Changed meanwhile"


def test_search_and_filters(db, make_org, make_service):
    police = make_service(make_org(1, name="Police"), name="Emergency response", types=["police"],
                          languages=["en", "yue"], schedules=[{"byday": "MO,TU,WE,TH,FR,SA,SU", "opens_at": "00:00",
                                                               "closes_at": "24:00"}])
    housing = make_service(make_org(2, name="Housing"), name="Rehousing", types=["housing"], languages=["en"],
                           capacity="full", schedules=[])
    food = make_service(make_org(3, name="Food Bank"), name="Food parcels", types=["food"], languages=["ur"],
                        schedules=[])

    def names(**args):
        return [s.name for s in directory.search_services(directory.DirectoryFilters.from_args(args))]

    assert names() == ["Emergency response", "Rehousing", "Food parcels"]  # tier order
    assert names(tier="2") == ["Rehousing"]
    assert names(type="food") == ["Food parcels"]
    assert names(language="yue") == ["Emergency response"]
    assert names(capacity="full") == ["Rehousing"]
    assert names(q="parcel") == ["Food parcels"] and names(q="100%") == []
    assert names(open_now="1") == ["Emergency response"]  # the others have no hours
    assert names(tier="9", type="bogus") == names()  # unknown filter values are ignored
    directory.archive_organisation(None, food.organisation)
    db.session.commit()
    assert "Food parcels" not in names()
    assert police and housing


@pytest.mark.parametrize("opens, closes, at, expected", [
    ("09:00", "17:00", "2026-03-02 10:00", True),     # Monday
    ("09:00", "17:00", "2026-03-02 17:00", False),
    ("09:00", "17:00", "2026-03-01 10:00", False),    # Sunday
    ("22:00", "02:00", "2026-03-02 23:30", True),     # Monday night
    ("22:00", "02:00", "2026-03-03 01:30", True),     # past midnight, into Tuesday
    ("22:00", "02:00", "2026-03-02 01:30", False),    # Monday 01:30 belongs to Sunday night
    ("00:00", "24:00", "2026-03-04 23:59", True),
])
def test_open_now_follows_the_weekly_hours(db, make_service, opens, closes, at, expected):
    service = make_service(schedules=[{"byday": "MO", "opens_at": opens, "closes_at": closes}]
                           if opens != "00:00" else [{"byday": "MO,TU,WE,TH,FR,SA,SU", "opens_at": opens,
                                                      "closes_at": closes}])
    now = datetime.fromisoformat(at).replace(tzinfo=service_zone())
    assert directory.is_open(service, now) is expected


def test_capacity_update_records_when_and_who(client, db, login_as, make_service):
    supervisor = login_as("supervisor")
    service = make_service()
    before = service.capacity_updated_at
    response = form_post(client, f"/directory/services/{service.id}/capacity", {"capacity": "full"},
                         page=f"/directory/organisations/{service.organisation_id}")
    assert response.status_code == 302
    db.session.expire_all()
    stored = db.session.get(Service, service.id)
    assert stored.capacity == "full" and stored.capacity_updated_by_id == supervisor.id
    assert stored.capacity_updated_at > before


def test_language_names_are_in_the_readers_language(client, db, make_org, make_service):
    make_service(make_org(3, name="Centre"), name="Multilingual helpline", public=True,
                 languages=["hi", "id", "ne", "tl", "ur", "yue", "cmn"])
    english = client.get("/help").get_data(as_text=True)
    for name in ("Hindi", "Indonesian", "Nepali", "Tagalog", "Urdu", "Cantonese", "Mandarin"):
        assert name in english, name
    for accept, names in (("zh-HK", ("印地文", "印尼文", "尼泊爾文", "他加祿文", "烏都文", "粵語", "普通話")),
                          ("zh-CN", ("印地语", "印度尼西亚语", "尼泊尔语", "他加禄语", "乌尔都语", "粤语", "普通话"))):
        page = client.get("/help", headers={"Accept-Language": accept}).get_data(as_text=True)
        for name in names:
            assert name in page, (accept, name)
        for english_name in ("Hindi", "Indonesian", "Nepali", "Tagalog", "Urdu", "Cantonese", "Mandarin"):
            assert english_name not in page, (accept, english_name)


def test_find_help_is_public_crisis_lines_first_in_the_readers_language(client, db, make_org, make_service):
    make_service(make_org(3, name="Hidden Org"), name="Internal only service", public=False)
    make_service(make_org(3, name="Food Bank"), name="Food parcels", public=True, languages=["en"])
    make_service(make_org(3, name="Centre"), name="Cantonese group", public=True, languages=["yue"])
    make_service(make_org(1, name="Crisis Line Org"), name="24-hour crisis line", public=True, crisis_line=True,
                 languages=["en", "yue"])
    page = client.get("/help").get_data(as_text=True)
    assert "Internal only service" not in page
    assert page.index("24-hour crisis line") < page.index("Food parcels")
    assert page.index("Food parcels") < page.index("Cantonese group")  # English reader: English services first
    chinese = client.get("/help", headers={"Accept-Language": "zh-HK"}).get_data(as_text=True)
    assert chinese.index("Cantonese group") < chinese.index("Food parcels")
    only_ur = client.get("/help?language=ur").get_data(as_text=True)
    assert "Food parcels" not in only_ur


def test_archiving_a_service_asks_first_and_keeps_it(client, db, login_as, make_service):
    login_as("admin")
    service = make_service()
    assert "Archive" in client.get(f"/directory/services/{service.id}/archive").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Service, service.id).archived_at is None
    response = form_post(client, f"/directory/services/{service.id}/archive", {})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Service, service.id).archived_at is not None
    assert client.get(f"/directory/services/{service.id}/edit").status_code == 404


def test_a_bad_edit_is_shown_again_with_what_was_entered_and_nothing_is_saved(client, db, login_as, make_service):
    login_as("admin")
    service = make_service(name="Befriending")
    org = service.organisation
    page = f"/directory/organisations/{org.id}/edit"
    response = form_post(client, page, dict(ORG_FORM, name="", description="Kept description", version="1"))
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "Enter the organisation&#39;s name." in text and "Kept description" in text
    page = f"/directory/services/{service.id}/edit"
    response = form_post(client, page, {"name": "Befriending visits", "capacity": "open", "status": "active",
                                        "version": str(service.version), "phones-1-number": "call me",
                                        "eligibility": "Kept eligibility"})
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "Use digits, spaces, dashes" in text and "Kept eligibility" in text and "call me" in text
    db.session.expire_all()
    assert db.session.get(Organisation, org.id).description == "Helps people."
    assert db.session.get(Service, service.id).name == "Befriending"


def test_each_row_of_hours_and_phones_has_its_own_accessible_labels(client, db, login_as, make_org):
    from tests.htmlform import find_form, submit

    login_as("supervisor")
    org = make_org()
    page = client.get(f"/directory/organisations/{org.id}/services/new")
    form = find_form(page.get_data(as_text=True), button="Save")
    labels = [form.labels[c.attrs["id"]] for c in form.controls
              if (c.name or "").startswith(("schedules-", "phones-")) and not c.name.endswith("csrf_token")
              and c.attrs.get("type") != "hidden"]  # hidden: a schedule's own zone and note, kept as they came
    assert len(labels) == len(set(labels)), "two rows share a label"
    assert {"Row 1: Days", "Row 2: Days", "Row 2: Opens", "Row 2: Closes", "Row 2: Number"} <= set(labels)
    response = submit(client, page, "Save", {
        "Name of the service": "Evening counselling", "Row 1: Number": "555-0321",
        "Row 1: Days": "MO,TU,WE,TH,FR", "Row 1: Opens": "09:00", "Row 1: Closes": "17:00",
        "Row 2: Days": "SA,SU", "Row 2: Opens": "10:00", "Row 2: Closes": "14:00"})
    assert response.status_code == 302, response.get_data(as_text=True)
    service = db.session.scalar(select(Service))
    assert [(s.byday, s.opens_at, s.closes_at) for s in service.schedules] == [
        ("MO,TU,WE,TH,FR", "09:00", "17:00"), ("SA,SU", "10:00", "14:00")]


def test_an_organisation_saved_without_a_service_is_found_again_from_the_directory(client, db, login_as,
                                                                                   make_service):
    from tests.htmlform import submit

    login_as("supervisor")
    make_service(name="Food parcels")
    response = submit(client, "/directory/organisations/new", "Save",
                      {"name": "Harbour Youth Outreach", "tier": "3", "description": "Street outreach at night."})
    assert response.status_code == 302, response.get_data(as_text=True)
    org = db.session.scalar(select(Organisation).where(Organisation.name == "Harbour Youth Outreach"))
    assert org.services == []

    listing = client.get("/directory")
    assert f'href="/directory/organisations/{org.id}"' in listing.get_data(as_text=True)
    found = submit(client, listing, "Filter", {"Search": "youth outreach"}).get_data(as_text=True)
    assert "Organisations without a service yet" in found
    assert f'href="/directory/organisations/{org.id}"' in found
    assert f'href="/directory/organisations/{org.id}/services/new"' in found
    assert "Food parcels" not in found
    by_description = submit(client, listing, "Filter", {"Search": "street outreach"}).get_data(as_text=True)
    assert f'href="/directory/organisations/{org.id}"' in by_description
    other_tier = submit(client, listing, "Filter", {"Search": "youth", "Tier": "1"}).get_data(as_text=True)
    assert f'/directory/organisations/{org.id}"' not in other_tier
    by_type = submit(client, listing, "Filter", {"Type": "counselling"}).get_data(as_text=True)
    assert "Food parcels" in by_type and "Harbour Youth Outreach" not in by_type  # a service filter


# ------------------------------------------------------------------ a schedule's own time zone
EVERY_DAY = "MO,TU,WE,TH,FR,SA,SU"


def test_a_schedule_in_its_own_zone_is_open_by_that_zones_clock(app, db, make_org, make_service):
    """HSDS gives a schedule's zone as `timezone` (a UTC offset in hours) or with its times
    ("09:00-05:00"): "Open now" reads those hours at that zone's clock, the others at the service's."""
    from datetime import UTC

    from referrals.service import hsds
    zoned = make_service(make_org(3, name="New York line"), name="Zoned", schedules=[
        {"byday": EVERY_DAY, "opens_at": "09:00-05:00", "closes_at": "17:00-05:00"}])
    by_field = make_service(make_org(3, name="Perth line"), name="By field", schedules=[
        {"byday": EVERY_DAY, "opens_at": "09:00", "closes_at": "17:00", "timezone": 8}])
    plain = make_service(make_org(3, name="Local line"), name="Plain", schedules=[
        {"byday": EVERY_DAY, "opens_at": "09:00", "closes_at": "17:00"}])
    assert [r.utc_offset_minutes for r in zoned.schedules] == [-300]
    assert [r.utc_offset_minutes for r in by_field.schedules] == [480]
    assert [r.utc_offset_minutes for r in plain.schedules] == [None]
    with app.test_request_context():
        ten_utc = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)    # New York 05:00, Perth 18:00, here (UTC) 10:00
        fifteen_utc = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)  # New York 10:00, Perth 23:00
        two_utc = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)     # Perth 10:00
        assert (directory.is_open(zoned, ten_utc), directory.is_open(zoned, fifteen_utc)) == (False, True)
        assert (directory.is_open(by_field, two_utc), directory.is_open(by_field, ten_utc)) == (True, False)
        assert (directory.is_open(plain, ten_utc), directory.is_open(plain, two_utc)) == (True, False)
        exported = {s["name"]: s["schedules"][0] for s in
                    (svc for org in hsds.export_directory()["organizations"] for svc in org["services"])}
    assert exported["Zoned"]["timezone"] == -5 and exported["By field"]["timezone"] == 8
    assert "timezone" not in exported["Plain"]


def test_a_schedule_zone_that_does_not_fit_is_refused(db, make_org):
    org = make_org(3)
    for schedule, message in (
            ({"opens_at": "09:00", "closes_at": "17:00", "timezone": 20}, "UTC offset in hours"),
            ({"opens_at": "09:00", "closes_at": "17:00", "timezone": "east"}, "UTC offset in hours"),
            ({"opens_at": "09:00+08:00", "closes_at": "17:00", "timezone": -5}, "different UTC offsets")):
        with pytest.raises(directory.Invalid) as refused:
            directory.create_service(None, org, {"name": "Bad zone", "schedules": [{"byday": EVERY_DAY, **schedule}]})
        assert any(message in str(m) for m in refused.value.fields.values()), refused.value.fields
    db.session.rollback()
    assert db.session.scalar(select(Service).where(Service.name == "Bad zone")) is None


def test_editing_a_service_on_its_page_keeps_the_schedules_own_zone(client, db, login_as, make_org, make_service):
    from tests.htmlform import submit
    service = make_service(make_org(3), name="Imported", schedules=[
        {"byday": EVERY_DAY, "opens_at": "09:00", "closes_at": "17:00", "timezone": 5.5,
         "description": "Call first"}])
    login_as("supervisor")
    page = client.get(f"/directory/services/{service.id}/edit")
    assert "own time zone: UTC+5.5" in page.get_data(as_text=True)
    response = submit(client, page, "Save", {"Name of the service": "Imported and renamed"})
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    stored = db.session.get(Service, service.id)
    assert stored.name == "Imported and renamed"
    assert [(r.utc_offset_minutes, r.description) for r in stored.schedules] == [(330, "Call first")]


@pytest.mark.parametrize(("zone", "written"), [("Asia/Hong_Kong", "09:00+08:00"), ("UTC", "09:00+00:00"),
                                               ("Europe/London", "09:00")])
def test_schedules_in_the_service_zone_export_with_its_offset(app, db, monkeypatch, make_org, make_service,
                                                              zone, written):
    """HSDS recommends times with their offset: a schedule kept in the service's own zone is written
    with that zone's offset when it has one all year; a zone with summer time has no single offset,
    so its times stay plain. Read back, the offset is the service's own again (nothing stored)."""
    from referrals.service import hsds
    monkeypatch.setitem(app.config, "TIMEZONE", zone)
    make_service(make_org(3, name="Local line"), name="Plain", schedules=[
        {"byday": EVERY_DAY, "opens_at": "09:00", "closes_at": "17:00"}])
    with app.test_request_context():
        schedule = next(svc for org in hsds.export_directory()["organizations"]
                        for svc in org["services"] if svc["name"] == "Plain")["schedules"][0]
    assert (schedule["opens_at"], schedule.get("timezone")) == (written, None)
    assert schedule["closes_at"] == written.replace("09:00", "17:00")
    again = make_service(make_org(3, name="Read back"), name="Read back", schedules=[
        {"byday": EVERY_DAY, "opens_at": schedule["opens_at"], "closes_at": schedule["closes_at"]}])
    assert [(r.opens_at, r.utc_offset_minutes) for r in again.schedules] == [("09:00", None)]
