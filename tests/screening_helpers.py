"""Fixtures and helpers shared by the tests (a plugin of tests/conftest.py: its fixtures reach every test)."""
from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event

from screening.models import CrisisResource


@pytest.fixture
def make_crisis_resource(db):
    def factory(language="en", name="Crisis Line", phone="555-0100", hours="24 hours", is_example=False,
                position=0) -> CrisisResource:
        resource = CrisisResource(language=language, name=name, phone=phone, hours=hours, is_example=is_example,
                                  position=position)
        db.session.add(resource)
        db.session.commit()
        return resource
    return factory


@contextmanager
def statements_run(db):
    """`with statements_run(db) as seen:` collects the SQL statements run inside the block."""
    seen: list[str] = []

    def listen(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)
