"""Helpers shared by the recovery tests (imported by test_recovery_*.py)."""
from __future__ import annotations

from carecycle.accounts.service import create_token
from carecycle.extensions import db


def bearer(user) -> dict:
    token = create_token(user)
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def recovery_case(make_user, make_case, *, team="default", risk_level="low"):
    """A case in recovery with its counsellor and social worker (same team)."""
    counsellor = make_user("counsellor", team=team)
    social = make_user("social_worker", team=team)
    case = make_case(counsellor, risk_level=risk_level, social_worker=social)
    case.phase = "recovery"
    db.session.commit()
    return case, counsellor, social


def phq9(total: int, item9: int = 0) -> list[int]:
    """PHQ-9 answers summing to `total` (item 9 as given)."""
    answers = [0] * 8
    rest = total - item9
    for index in range(8):
        answers[index] = min(3, max(0, rest - sum(answers)))
    assert sum(answers) == rest
    return answers + [item9]


def who5(raw: int) -> list[int]:
    answers = [0] * 5
    for index in range(5):
        answers[index] = min(5, max(0, raw - sum(answers)))
    return answers


def gad7(total: int) -> list[int]:
    answers = [0] * 7
    for index in range(7):
        answers[index] = min(3, max(0, total - sum(answers)))
    return answers


GOAL = {"domain": "housing", "title": "Move to a ground-floor flat", "success": "A tenancy signed",
        "target_date": "2030-01-31", "owner": "worker"}
