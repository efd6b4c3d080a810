"""Roles: one per user, stored by stable lowercase code."""
from enum import StrEnum

from flask_babel import lazy_gettext as _l


class Role(StrEnum):
    RESIDENT = "resident"
    COUNSELLOR = "counsellor"
    SOCIAL_WORKER = "social_worker"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"

    @property
    def label(self):
        return ROLE_LABELS[self]

    @property
    def is_staff(self) -> bool:
        return self is not Role.RESIDENT


ROLE_LABELS = {
    Role.RESIDENT: _l("Resident"),
    Role.COUNSELLOR: _l("Counsellor"),
    Role.SOCIAL_WORKER: _l("Social worker"),
    Role.SUPERVISOR: _l("Supervisor"),
    Role.ADMIN: _l("Administrator"),
}
