"""One open safety-plan draft and one open next-contact reminder per case, kept by the database
(partial unique indexes), so two people saving at the same moment never create two. The races run
on PostgreSQL (tests.race: both contenders read "none yet" inside their transactions before either
writes); the serial tests show the database itself refuses the second one, on both databases."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from carecycle.database import utcnow
from carecycle.extensions import db as _db
from carecycle.validation import Conflict
from casework.models import SafetyPlanVersion, Task
from casework.service import safety, tasks
from tests.race import Contenders, needs_concurrent_transactions

PLAN = {"warning_signs": "Not sleeping", "reasons_for_living": "My daughter"}


def test_the_database_refuses_a_second_unsigned_draft(db, make_user, make_case):
    me = make_user("counsellor")
    case = make_case(me)
    safety.save_draft(me, case, PLAN, version=0)
    db.session.commit()
    now = utcnow()
    with pytest.raises(IntegrityError):
        db.session.add(SafetyPlanVersion(case_id=case.id, number=2, created_by_id=me.id, created_at=now,
                                         updated_by_id=me.id, updated_at=now))
        db.session.flush()
    db.session.rollback()
    assert len(db.session.scalars(select(SafetyPlanVersion)).all()) == 1


def test_the_database_refuses_a_second_open_next_contact_reminder(db, make_user, make_case):
    me = make_user("counsellor")
    case = make_case(me)
    tasks.set_next_contact(me, case, utcnow() + timedelta(days=2))
    db.session.commit()
    with pytest.raises(IntegrityError):
        db.session.add(Task(case_id=case.id, kind=tasks.NEXT_CONTACT, due_at=utcnow() + timedelta(days=3)))
        db.session.flush()
    db.session.rollback()
    # a done reminder does not count: the next one can be set
    [task] = db.session.scalars(select(Task).where(Task.kind == tasks.NEXT_CONTACT)).all()
    task.done_at = utcnow()
    db.session.commit()
    tasks.set_next_contact(me, case, utcnow() + timedelta(days=4))
    db.session.commit()
    assert len(db.session.scalars(select(Task).where(Task.kind == tasks.NEXT_CONTACT)).all()) == 2


class Staggered:
    """Both contenders read "none yet" inside their transactions (tests.race.Contenders); then the
    second waits until the first has saved and committed before it goes on, the order in which a
    read-then-insert lets a duplicate through unless the database refuses it."""

    def __init__(self):
        self.contenders = Contenders(2)
        self.first_committed = threading.Event()
        self.local = threading.local()

    def reading(self, read):
        def wrapped(case):
            found = read(case)
            if not getattr(self.local, "waited", False):
                self.local.waited = True
                self.contenders.ready(found is None)
                if self.local.index == 1:
                    assert self.first_committed.wait(30), "the first contender did not commit"
            return found
        return wrapped

    def race(self, app, work, user_id, case_id) -> list[str]:
        outcomes, errors = {}, []

        def run(index):
            from carecycle.accounts.models import User
            from casework.models import Case
            self.local.index = index
            with app.app_context():
                try:
                    work(_db.session.get(User, user_id), _db.session.get(Case, case_id), index)
                    _db.session.commit()
                    outcomes[index] = "saved"
                except Conflict:
                    _db.session.rollback()
                    outcomes[index] = "refused"
                except Exception as error:  # surfaced below
                    _db.session.rollback()
                    errors.append(error)
                finally:
                    if index == 0:
                        self.first_committed.set()
                    _db.session.remove()

        threads = [threading.Thread(target=run, args=(n,)) for n in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not errors, errors
        self.contenders.assert_overlapped(True)  # both saw none before either saved
        return [outcomes.get(0), outcomes.get(1)]


def test_two_people_starting_a_draft_at_once_make_one_and_the_other_is_told(app, db, make_user, make_case,
                                                                           monkeypatch):
    needs_concurrent_transactions(db)
    me = make_user("counsellor")
    case = make_case(me)
    user_id, case_id = me.id, case.id
    db.session.commit()
    race = Staggered()
    monkeypatch.setattr(safety, "draft_of", race.reading(safety.draft_of))
    outcomes = race.race(app, lambda user, row, n: safety.save_draft(user, row, {**PLAN, "on_my_own": f"walk {n}"},
                                                                     version=0), user_id, case_id)
    assert outcomes == ["saved", "refused"]  # the second is told as for a stale save (409 on the page)
    db.session.expire_all()
    assert len(db.session.scalars(select(SafetyPlanVersion).where(SafetyPlanVersion.case_id == case_id)).all()) == 1


def test_two_people_setting_the_next_contact_at_once_leave_one_reminder(app, db, make_user, make_case, monkeypatch):
    needs_concurrent_transactions(db)
    me = make_user("counsellor")
    case = make_case(me)
    user_id, case_id = me.id, case.id
    db.session.commit()
    race = Staggered()
    monkeypatch.setattr(tasks, "open_next_contact", race.reading(tasks.open_next_contact))
    days = {0: 2, 1: 5}
    outcomes = race.race(app, lambda user, row, n: tasks.set_next_contact(user, row,
                                                                          utcnow() + timedelta(days=days[n])),
                         user_id, case_id)
    assert outcomes == ["saved", "saved"]  # the second moved the reminder the first had just set
    db.session.expire_all()
    open_ones = db.session.scalars(select(Task).where(Task.case_id == case_id, Task.kind == tasks.NEXT_CONTACT,
                                                      Task.done_at.is_(None))).all()
    assert len(open_ones) == 1
    assert abs(open_ones[0].due_at - (utcnow() + timedelta(days=5))) < timedelta(minutes=5)
