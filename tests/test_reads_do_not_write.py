"""A read never writes (issue 19): once warm, the busiest pages and API reads issue no INSERT, UPDATE
or DELETE. A token's last use is recorded at most once a minute, a session's at most every 30 s;
the only writes a read may make are the audit records of viewing a person's record, and none of
these lists is such a view."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from carecycle.accounts.models import ApiToken
from carecycle.database import utcnow
from tests.conftest import sign_in
from tests.screening_helpers import statements_run

WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.I)


def writes(seen: list[str]) -> list[str]:
    return [s.split("\n")[0][:120] for s in seen if WRITE.match(s)]


@pytest.mark.parametrize("path", ["/cases", "/my-day", "/triage", "/"])
def test_a_warm_page_read_writes_nothing(client, db, make_user, make_case, path):
    counsellor = make_user("counsellor")
    make_case(counsellor, risk_level="high")
    assert sign_in(client, counsellor.username).status_code == 302
    assert client.get(path).status_code == 200  # warm: the session's first touch may write
    with statements_run(db) as seen:
        assert client.get(path).status_code == 200
    assert seen, "the page ran no statement at all: the counter is not listening"
    assert writes(seen) == []


def test_a_warm_api_read_writes_nothing_and_records_the_tokens_use_once_a_minute(client, db, make_user, make_case,
                                                                              bearer):
    counsellor = make_user("counsellor")
    make_case(counsellor)
    headers = bearer(counsellor)
    with statements_run(db) as first:
        assert client.get("/api/v1/cases", headers=headers).status_code == 200
    assert any(s.lstrip().upper().startswith("UPDATE") and "api_token" in s for s in first)  # first use recorded
    with statements_run(db) as seen:
        assert client.get("/api/v1/cases", headers=headers).status_code == 200
    assert seen and writes(seen) == []
    token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == counsellor.id))
    token.last_used_at = utcnow() - timedelta(minutes=2)  # a minute later, the use is recorded again
    db.session.commit()
    with statements_run(db) as later:
        assert client.get("/api/v1/cases", headers=headers).status_code == 200
    assert [w for w in writes(later) if "api_token" in w]
