"""The FHIR reads a health system makes most run the same SQL statements at 1,000 and at 100,000
clients: `Patient?identifier=` (one blind-index lookup) and `Patient/<id>/$everything`."""
from __future__ import annotations

from sqlalchemy import func, select, text

from carecycle.database import utcnow
from casework.models import Client
from casework.service import clients as client_service
from tests.fhir.helpers import bearer, entries, get
from tests.screening_helpers import statements_run

SQLITE_FILL = """
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < :count)
INSERT INTO client (id, team_id, created_at, updated_at, version, full_name, name_index, phone_index,
                    id_number_index)
SELECT lower(hex(randomblob(16))), :team, :now, :now, 1, (SELECT full_name FROM client WHERE id = :target),
       lower(hex(randomblob(32))), lower(hex(randomblob(32))), lower(hex(randomblob(32))) FROM n
"""
POSTGRES_FILL = """
INSERT INTO client (id, team_id, created_at, updated_at, version, full_name, name_index, phone_index,
                    id_number_index)
SELECT gen_random_uuid(), CAST(:team AS uuid), :now, :now, 1,
       (SELECT full_name FROM client WHERE id = CAST(:target AS uuid)),
       md5(random()::text) || md5(random()::text), md5(random()::text) || md5(random()::text),
       md5(random()::text) || md5(random()::text)
FROM generate_series(1, :count)
"""


def _fill(db, team_id, target_id, up_to: int) -> None:
    """Add filler clients of the same team (sealed names copied, random blind indexes) up to `up_to`."""
    have = db.session.scalar(select(func.count()).select_from(Client))
    sqlite = db.engine.dialect.name == "sqlite"
    params = {"count": up_to - have, "now": utcnow().strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else utcnow(),
              "team": team_id.hex if sqlite else str(team_id), "target": target_id.hex if sqlite else str(target_id)}
    db.session.execute(text(SQLITE_FILL if sqlite else POSTGRES_FILL), params)
    db.session.commit()
    if not sqlite:
        db.session.execute(text("ANALYZE client"))
        db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Client)) == up_to


def test_patient_search_and_everything_run_the_same_statements_at_1000_and_100000_clients(
        client, db, make_user, make_client, make_case):
    counsellor = make_user("counsellor")
    person = make_client(counsellor.team, counsellor, full_name="Mei Chan", id_number="Z998877(1)")
    make_case(counsellor, person)
    client_service.record_consent(counsellor, person, "contact")
    db.session.commit()
    headers = bearer(counsellor, db)
    counts = {}
    for size in (1_000, 100_000):
        _fill(db, counsellor.team_id, person.id, size)
        get(client, "Patient", headers=headers, identifier="Z998877(1)")  # warm-up (token last-used write)
        with statements_run(db) as search:
            found = entries(get(client, "Patient", headers=headers, identifier="Z998877(1)"))
        assert [p["id"] for p in found] == [str(person.id)]
        with statements_run(db) as everything:
            bundle = get(client, f"Patient/{person.id}/$everything", headers=headers)
        assert {"Patient", "EpisodeOfCare", "Consent"} <= {e["resource"]["resourceType"] for e in bundle["entry"]}
        counts[size] = (len(search), len(everything))
    assert counts[1_000] == counts[100_000], counts
