"""Lockout cannot be used as a weapon: failures lock an (account, address) pair, the account is
only slowed, and never from an address its owner signs in from."""
import hashlib
from datetime import timedelta

from sqlalchemy import select

from carecycle.accounts import service
from carecycle.accounts.models import User, UsualAddress
from carecycle.audit import AuditEvent
from carecycle.ratelimit import RateLimitHit
from tests.conftest import PASSWORD, sign_in

WRONG = "not the password at all"
OFFICE = "10.20.0.5"   # the owner's usual address
ATTACKER = "203.0.113.9"


def attempt(app, username, password=PASSWORD, address=ATTACKER):
    return sign_in(app.test_client(), username, password, environ_base={"REMOTE_ADDR": address})


def outcomes(db):
    return [e.outcome for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "login_failed").order_by(AuditEvent.seq))]


def logins(db, user):
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == "login",
                                                       AuditEvent.actor_id == user.id)).all()


def age_hits(db, bucket, by):
    """Move the clock: the bucket's counted attempts happened `by` earlier."""
    for hit in db.session.scalars(select(RateLimitHit).where(RateLimitHit.bucket == bucket)):
        hit.at = hit.at - by
    db.session.commit()


def test_failures_from_one_address_lock_that_address_only(app, make_user, db):
    owner = make_user("counsellor")
    assert attempt(app, owner.username, address=OFFICE).status_code == 302  # OFFICE becomes usual
    for _ in range(6):
        assert attempt(app, owner.username, WRONG).status_code == 401
    assert outcomes(db) == ["bad_password"] * 4 + ["locked_now", "locked"]
    # the attacker's address is locked, even with the right password
    assert attempt(app, owner.username).status_code == 401
    assert outcomes(db)[-1] == "locked"
    # the owner from the office, and from an address never seen before, still sign in
    assert attempt(app, owner.username, address=OFFICE).status_code == 302
    assert attempt(app, owner.username, address="198.51.100.7").status_code == 302
    assert len(logins(db, owner)) == 3


def test_the_pair_lock_expires(app, make_user, db):
    owner = make_user("counsellor")
    for _ in range(5):
        attempt(app, owner.username, WRONG)
    assert attempt(app, owner.username).status_code == 401
    age_hits(db, "login_pair", app.config["LOGIN_LOCK_DURATION"] + timedelta(seconds=1))
    assert attempt(app, owner.username).status_code == 302


def test_rotating_addresses_slow_the_others_but_never_lock_the_usual_address(app, make_user, db):
    owner = make_user("counsellor")
    assert attempt(app, owner.username, address=OFFICE).status_code == 302
    threshold = app.config["LOGIN_ACCOUNT_SLOW_AFTER"]
    # a botnet: one or two guesses from each of many addresses, never five from one
    for i in range(threshold + 10):
        assert attempt(app, owner.username, WRONG, address=f"192.0.2.{i}").status_code == 401
    assert "locked_now" not in outcomes(db) and "slowed" in outcomes(db)
    # past the threshold, an address the account has not signed in from waits its turn: even the
    # right password is refused with the usual answer, and nothing is counted against that address
    assert attempt(app, owner.username, address="198.51.100.7").status_code == 401
    assert outcomes(db)[-1] == "slowed"
    # the owner at the office is neither locked nor slowed, again and again
    for _ in range(3):
        assert attempt(app, owner.username, address=OFFICE).status_code == 302
    # once the interval has passed, the next unusual address gets its one real attempt
    age_hits(db, "login_slow", app.config["LOGIN_ACCOUNT_SLOW_INTERVAL"] + timedelta(seconds=1))
    assert attempt(app, owner.username, address="198.51.100.7").status_code == 302
    assert len(logins(db, owner)) == 5


def test_failures_at_the_usual_address_still_lock_that_address(app, make_user, db):
    """Usual addresses are spared failures from elsewhere, not their own."""
    owner = make_user("counsellor")
    assert attempt(app, owner.username, address=OFFICE).status_code == 302
    for _ in range(5):
        attempt(app, owner.username, WRONG, address=OFFICE)
    assert attempt(app, owner.username, address=OFFICE).status_code == 401
    assert outcomes(db)[-1] == "locked"


def test_unknown_usernames_are_locked_and_slowed_alike(app, make_user, db, monkeypatch):
    """Whether a username exists cannot be told from the lock or the slow-down."""
    monkeypatch.setitem(app.config, "LOGIN_ACCOUNT_SLOW_AFTER", 7)
    real = make_user("counsellor")

    def run(username):
        answers = [attempt(app, username, WRONG) for _ in range(6)]  # the 5th locks this address
        answers += [attempt(app, username, WRONG, address=f"192.0.2.{i}") for i in range(4)]  # the last is slowed
        return [(r.status_code, r.get_data(as_text=True).split('<p class="flash error"', 1)[1].split("</p>")[0])
                for r in answers]

    known, unknown = run(real.username), run("nobody-at-all")
    assert known == unknown
    assert len(set(known)) == 1 and known[0][0] == 401
    assert outcomes(db).count("slowed") == 2 and outcomes(db).count("locked") == 2


def test_an_admin_password_reset_clears_a_lock(app, make_user, db):
    owner = make_user("counsellor")
    for _ in range(5):
        attempt(app, owner.username, WRONG)
    assert attempt(app, owner.username).status_code == 401
    service.reset_password(db.session.get(User, owner.id), "a reset passphrase")
    db.session.commit()
    response = attempt(app, owner.username, "a reset passphrase")
    assert response.status_code == 302 and response.headers["Location"] == "/account/password"


def test_usual_addresses_are_stored_as_keyed_hashes(app, make_user, db):
    owner = make_user("counsellor")
    assert attempt(app, owner.username, address=OFFICE).status_code == 302
    row = db.session.scalar(select(UsualAddress).where(UsualAddress.user_id == owner.id))
    assert len(row.address_key) == 64 and OFFICE not in row.address_key
    assert row.address_key != hashlib.sha256(OFFICE.encode()).hexdigest()  # keyed, not a bare hash
    for hit in db.session.scalars(select(RateLimitHit)):
        assert OFFICE not in hit.key


def test_the_password_is_hashed_before_the_sign_in_writes_anything(client, db, make_user, monkeypatch):
    """On SQLite a write transaction holds the one writer lock: the slow hash must not run under it
    (26 failed sign-ins a second cut other writes by three quarters), so nothing is written before
    the check, for a right password, a wrong one and an unknown user alike."""
    from sqlalchemy import event

    from carecycle.accounts import service
    from tests.conftest import sign_in
    user = make_user("counsellor")
    writes, seen = [], []

    def statement(_conn, _cursor, sql, *_args):
        if sql.lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            writes.append(sql)

    verify = service._verify

    def checked(stored, password):
        seen.append((len(writes), db.engine.dialect.name != "sqlite" or not service.db.session().in_transaction()))
        return verify(stored, password)

    monkeypatch.setattr(service, "_verify", checked)
    event.listen(db.engine, "before_cursor_execute", statement)
    try:
        for username, password in ((user.username, "wrong password here"), ("nobody-at-all", "whatever it is"),
                                   (user.username, None)):
            writes.clear()
            if password is None:
                assert sign_in(client, username).status_code == 302
            else:
                sign_in(client, username, password)
            assert seen and seen[-1] == (0, True), (username, seen, writes[:3])
            assert writes  # the attempt itself is still recorded, after the check
    finally:
        event.remove(db.engine, "before_cursor_execute", statement)
