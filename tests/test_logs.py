"""Request ids and JSON logs: every response names its request id, every JSON line carries it, and
after a journey through pages and the API no line holds a name, a phone number, note text, a
password or a token."""
from __future__ import annotations

import io
import json
import logging

from carecycle import logs
from carecycle.accounts.service import create_token
from tests.conftest import PASSWORD, sign_in

NAME, PHONE, NOTE = "Wong Siu Ming", "+852 5123 4567", "She said the nights are the hardest part"


def test_a_journey_leaves_json_lines_with_request_ids_and_no_personal_data(app, client, db, make_user):
    counsellor = make_user("counsellor")
    token = create_token(counsellor)
    db.session.commit()
    stream = io.StringIO()
    handler = logs.use_json(app, stream)
    try:
        signed = sign_in(client, counsellor.username)
        assert signed.status_code == 302 and len(signed.headers["X-Request-Id"]) == 32
        auth = {"Authorization": f"Bearer {token}", "X-Request-Id": "trace-0001-abc"}
        made = client.post("/api/v1/clients", json={"full_name": NAME, "phone": PHONE}, headers=auth)
        assert made.status_code == 201 and made.headers["X-Request-Id"] == "trace-0001-abc"
        client_id = made.get_json()["id"]
        case = client.post("/api/v1/cases", json={"client_id": client_id, "risk_level": "moderate",
                                                  "source": "walk_in"}, headers=auth)
        assert case.status_code == 201, case.get_data(as_text=True)
        note = client.post(f"/api/v1/cases/{case.get_json()['id']}/notes",
                           json={"kind": "clinical", "mode": "phone", "body": NOTE, "duration_minutes": 20},
                           headers=auth)
        assert note.status_code == 201, note.get_data(as_text=True)
        client.get(f"/clients/{client_id}")
        client.get(f"/api/v1/clients?phone={PHONE.replace(' ', '%20').replace('+', '%2B')}", headers=auth)
        client.get("/no-such-page")
        client.post("/api/v1/screenings", json={"instrument": "phq9", "answers": [9] * 9},
                    headers={"Authorization": "Bearer cct_not-a-real-token-0000"})
    finally:
        logging.getLogger("carecycle").removeHandler(handler)
        app.extensions.pop("carecycle_json_logs", None)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    requests = [line for line in lines if line["message"] == "request"]
    assert len(requests) >= 8
    assert all(line["request_id"] != "-" for line in requests)
    assert any(line["request_id"] == "trace-0001-abc" and line["status"] == 201 for line in requests)
    text = stream.getvalue()
    for secret in (NAME, "Wong", PHONE, "5123", NOTE, "nights", PASSWORD, token, token[:12], "cct_not-a-real"):
        assert secret not in text, secret
