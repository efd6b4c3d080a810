"""Fixtures and helpers shared by the screening tests (imported by those modules)."""
from __future__ import annotations

import pytest

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
