"""`carecycle bench seed`: benchmark data for the casework pages (bench/casework.py drives it).

Deterministic (client number i always gets the same person, case and tasks for a given --seed;
dates are relative to the moment of seeding), encrypted exactly as the models encrypt (the same
envelope, associated data and blind indexes), and fast: rows are built in Python and written
with Core `insert()` executemany in batches, bypassing the ORM unit of work. Refused in production."""
from __future__ import annotations

import hashlib
import multiprocessing
import os
import secrets
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from operator import itemgetter

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import column as sql_column
from sqlalchemy import func, insert, select
from sqlalchemy import table as sql_table

from carecycle.crypto import blind_index, keyring, normalise_phone, normalise_text, seal
from carecycle.database import utcnow
from carecycle.extensions import db

BENCH_TEAM = "Bench"
FIRST = ["Ah", "Ka", "Wing", "Mei", "Siu", "Chi", "Hoi", "Yan", "Lok", "Man", "Alex", "Sam", "Jo", "Kim", "Lee",
         "Pat", "Chris", "Robin", "Dana", "Noor", "Ravi", "Ana", "Tomas", "Ines", "Olu"]
LAST = ["Chan", "Wong", "Lee", "Cheung", "Lau", "Ng", "Ho", "Lam", "Yeung", "Tsang", "Smith", "Garcia", "Khan",
        "Singh", "Silva", "Okafor", "Novak", "Rossi", "Kowalski", "Tan"]
LANGS = ["en", "zh_Hant", "zh_Hans", None]
RISKS = [("none", 10), ("low", 35), ("moderate", 30), ("high", 18), ("imminent", 7)]  # percent
SOURCES = ["screening", "walk_in", "hotline", "inbound_referral", "outreach", "self_referral"]
PRIORITIES = ["low", "normal", "normal", "high", "urgent"]
YEAR = 365 * 86400


def _risk_for(percent: int) -> str:
    for risk, share in RISKS:
        if percent < share:
            return risk
        percent -= share
    return RISKS[-1][0]


RISK_BY_PERCENT = [_risk_for(p) for p in range(100)]


def bench_draws(seed: int, i: int) -> bytes:
    """128 pseudo-random bytes for client number i: the same for the same seed, on any machine."""
    first = hashlib.blake2b(f"carecycle-bench:{seed}:{i}".encode(), digest_size=64).digest()
    return first + hashlib.blake2b(first, digest_size=64).digest()


def _uuid4(draws: bytes, at: int) -> uuid.UUID:
    """A version-4 UUID from 16 of the draws (version and variant bits set as uuid4() sets them)."""
    raw = bytearray(draws[at:at + 16])
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    return uuid.UUID(bytes=bytes(raw))


def bench_rows(i: int, seed: int, team_id, counsellor_ids, now, ring):
    """The rows for bench client number i: client, case, its "opened" event and its tasks.

    Everything about client i comes from bench_draws(seed, i), so topping up a database (1,000
    then 100,000) gives the same records as seeding 100,000 at once."""
    from casework.service.cases import FIRST_CONTACT

    d = bench_draws(seed, i)
    client_id, case_id, event_id = (_uuid4(d, k) for k in (0, 16, 32))
    counsellor = counsellor_ids[i % len(counsellor_ids)]
    name = f"{FIRST[d[80] % len(FIRST)]} {LAST[d[81] % len(LAST)]} {i:07d}"
    phone = f"9{i:07d}"
    born = f"{1935 + d[82] % 74}-{1 + d[83] % 12:02d}-{1 + d[84] % 28:02d}"
    opened = now - timedelta(seconds=int.from_bytes(d[85:89], "big") % YEAR)
    risk = RISK_BY_PERCENT[d[89] % 100]
    closed = d[90] % 100 < 10
    phase = "closed" if closed else ("crisis" if risk in ("moderate", "high", "imminent")
                                     else ("intake", "recovery")[d[91] % 2])

    client = {
        "id": client_id, "team_id": team_id, "created_by_id": counsellor, "created_at": opened, "updated_at": opened,
        "preferred_language": LANGS[d[92] % len(LANGS)], "version": 1,
        "full_name": seal(name.encode(), "client", "full_name", client_id, ring),
        "name_index": blind_index("client.full_name", name, normalise_text, ring),
        "phone": seal(phone.encode(), "client", "phone", client_id, ring),
        "phone_index": blind_index("client.phone", phone, normalise_phone, ring),
        "date_of_birth": seal(born.encode(), "client", "date_of_birth", client_id, ring),
    }
    case = {
        "id": case_id, "client_id": client_id, "team_id": team_id, "phase": phase, "risk_level": risk,
        "priority": PRIORITIES[d[94] % len(PRIORITIES)], "source": SOURCES[d[95] % len(SOURCES)],
        "assigned_counsellor_id": counsellor, "opened_at": opened,
        "closed_at": opened + timedelta(days=20 + d[96] % 100) if closed else None,
        "closure_reason": "goals_achieved" if closed else None, "version": 1,
    }
    event = {"id": event_id, "case_id": case_id, "at": opened, "actor_id": counsellor, "kind": "opened",
             "case_version": 1}
    tasks = []
    interval = FIRST_CONTACT.get(risk)
    if interval is not None:
        done = closed or opened < now - timedelta(days=14) or d[97] % 2 == 0
        tasks.append({"id": _uuid4(d, 48), "case_id": case_id, "kind": "first_contact",
                      "due_at": opened + interval, "assigned_to_id": counsellor, "created_at": opened,
                      "done_at": opened + interval / 2 if done else None, "done_by_id": counsellor if done else None})
    if not closed and d[98] % 100 < 25:
        due = now + timedelta(seconds=int.from_bytes(d[99:103], "big") % (17 * 86400) - 3 * 86400)
        tasks.append({"id": _uuid4(d, 64), "case_id": case_id, "kind": "next_contact",
                      "due_at": due, "assigned_to_id": counsellor, "created_at": min(due, now), "done_at": None,
                      "done_by_id": None})
    return client, case, event, tasks


# ------------------------------------------------------------------ building and writing batches
# Rows are built in worker processes (all CPUs) while this process writes; on SQLite the workers
# also turn UUIDs and datetimes into the stored text, so the writer only hands rows to executemany.
_WORKER: dict = {}


def _init_worker(context: dict) -> None:
    _WORKER.clear()
    _WORKER.update(context)


def _fill_defaults(table, row: dict, missing=None) -> dict:
    """Columns a row leaves out get their Python default, as the ORM would give them."""
    if missing is None:
        missing = [c.default for c in table.columns if c.name not in row and c.default is not None]
    for default in missing:
        row[default.column.name] = default.arg if default.is_scalar else default.arg(None)
    return row


def sqlite_value(value):
    """What SQLAlchemy stores on SQLite for a UUID (32 hex digits) and a UTC datetime (naive UTC text,
    always with microseconds). check_native_rows compares this with the column types before writing."""
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, datetime):
        if value.tzinfo is not UTC:
            value = value.astimezone(UTC)
        return value.replace(tzinfo=None).isoformat(" ", "microseconds")
    return value


def build_batch(bounds: tuple[int, int]) -> tuple:
    """Rows of clients start..end-1, per table (client, case, event, task): `(columns, rows)`, the
    rows as tuples of stored values on SQLite, as dicts otherwise (columns None)."""
    from casework.models import Case, CaseEvent, Client, Task
    w = _WORKER
    tables = (Client.__table__, Case.__table__, CaseEvent.__table__, Task.__table__)
    out: tuple[list, list, list, list] = ([], [], [], [])
    for i in range(*bounds):
        client, case, event, tasks = bench_rows(i, w["seed"], w["team_id"], w["counsellor_ids"], w["now"], w["ring"])
        out[0].append(client)
        out[1].append(case)
        out[2].append(event)
        out[3].extend(tasks)
    result = []
    for table, rows in zip(tables, out, strict=True):
        if rows:
            missing = [c.default for c in table.columns if c.name not in rows[0] and c.default is not None]
            rows = [_fill_defaults(table, row, missing) for row in rows]
        if rows and w["native"]:
            columns = tuple(rows[0])
            stored = [tuple(sqlite_value(row[name]) for name in columns) for row in rows]
            stored.sort(key=itemgetter(columns.index("id")))  # primary-key order: the key index grows in runs
            result.append((columns, stored))
        else:
            result.append((None, rows))
    return tuple(result)


def native_insert(table, columns: tuple, dialect) -> str:
    """A Core insert() of these columns, compiled once; the rows go to the driver's executemany."""
    compiled = insert(sql_table(table.name, *(sql_column(name) for name in columns))).compile(dialect=dialect)
    if tuple(compiled.positiontup or ()) != columns:
        raise click.ClickException(f"bench seed: unexpected parameter order for {table.name}")
    return str(compiled)


def check_native_rows(table, typed_row: dict, native_row: dict, dialect) -> None:
    """Refuse to write if the stored form built here differs from what the column types would store."""
    for column in table.columns:
        if column.name not in typed_row:
            continue
        process = column.type._cached_bind_processor(dialect)
        expected = process(typed_row[column.name]) if process else typed_row[column.name]
        if expected != native_row.get(column.name):
            raise click.ClickException(f"bench seed: {table.name}.{column.name} would be stored as "
                                       f"{native_row.get(column.name)!r}, the column type stores {expected!r}")


def _batches(context: dict, bounds: list[tuple[int, int]]):
    """Yield built batches in order; in worker processes when the platform can fork."""
    try:
        fork = multiprocessing.get_context("fork")
    except ValueError:
        fork = None
    workers = min(os.cpu_count() or 1, len(bounds))
    if fork is None or workers < 2:
        _init_worker(context)
        yield from map(build_batch, bounds)
        return
    with fork.Pool(workers, initializer=_init_worker, initargs=(context,)) as pool:
        yield from pool.imap(build_batch, bounds)


def _bench_accounts(counsellors: int, password: str | None):
    """The bench team and its counsellors; a new account without a given password gets a generated one,
    returned so that it can be printed once."""
    from carecycle.accounts import service as accounts
    from carecycle.accounts.models import Team, User
    team = db.session.scalar(select(Team).where(Team.name == BENCH_TEAM)) or accounts.create_team(BENCH_TEAM)
    ids, generated = [], None
    for n in range(1, counsellors + 1):
        username = f"bench_counsellor{n}"
        user = db.session.scalar(select(User).where(User.username == username))
        if user is None:
            if password is None:
                generated = password = secrets.token_urlsafe(18)
            user = accounts.create_user(username, password, "counsellor", team, f"Bench Counsellor {n}")
        elif password:
            accounts.set_password(user, password)
        ids.append(user.id)
    db.session.flush()
    return team, ids, generated


def _load(connection, tables, context: dict, bounds, have: int, todo: int, rebuild_indexes: bool) -> int:
    """Write the batches (built in worker processes) with executemany; returns the rows written."""
    native = connection.dialect.name == "sqlite"
    if native:
        raw = connection.connection.dbapi_connection  # no transaction yet: pragmas may change
        raw.execute("PRAGMA cache_size=-262144")  # 256 MB for this connection's pages
        raw.execute("PRAGMA synchronous=NORMAL")  # WAL: still consistent after a crash
        _check_native(tables, context, have, connection.dialect)
    context = {**context, "native": native}
    indexes = [index for table in tables for index in table.indexes] if rebuild_indexes else []
    for index in indexes:
        index.drop(connection, checkfirst=True)
    connection.commit()
    rows_written, waited, written = 0, 0.0, 0.0
    try:
        batches = _batches(context, bounds)
        for _start, end in bounds:
            mark = time.perf_counter()
            built = next(batches)
            waited += time.perf_counter() - mark
            mark = time.perf_counter()
            for table, (columns, rows) in zip(tables, built, strict=True):
                if not rows:
                    continue
                if columns:  # SQLite: stored values, checked against the column types first
                    connection.exec_driver_sql(native_insert(table, columns, connection.dialect), rows)
                else:
                    connection.execute(insert(table), rows)
                rows_written += len(rows)
            connection.commit()
            written += time.perf_counter() - mark
            click.echo(f"  {end - have}/{todo} clients", err=True)
        batches.close()
    finally:
        connection.rollback()
        mark = time.perf_counter()
        for index in indexes:  # also after an interruption: the tables never stay without their indexes
            index.create(connection, checkfirst=True)
        connection.commit()
        if indexes:
            click.echo(f"  rebuilt {len(indexes)} indexes in {time.perf_counter() - mark:.2f} s", err=True)
    click.echo(f"  waited {waited:.2f} s for rows to be built, {written:.2f} s writing them", err=True)
    return rows_written


def _check_native(tables, context: dict, start: int, dialect) -> None:
    """One sample row per table: its stored form must be what the column types would store."""
    checked: set = set()
    for i in range(start, start + 100):
        client, case, event, client_tasks = bench_rows(i, context["seed"], context["team_id"],
                                                       context["counsellor_ids"], context["now"], context["ring"])
        for table, row in zip(tables, (client, case, event, *client_tasks[:1]), strict=False):
            if table.name not in checked:
                row = _fill_defaults(table, row)
                check_native_rows(table, row, {k: sqlite_value(v) for k, v in row.items()}, dialect)
                checked.add(table.name)
        if len(checked) == len(tables):
            return


@click.group("bench")
def bench_cli():
    """Benchmark data (refused in production)."""


@bench_cli.command("seed")
@click.option("--clients", "total", required=True, type=click.IntRange(1, 10_000_000),
              help="How many bench clients the database should hold; adds what is missing, each with a case.")
@click.option("--counsellors", default=4, show_default=True, type=click.IntRange(1, 500),
              help="Counsellors of the bench team the cases are spread over (bench_counsellor1, ...).")
@click.option("--seed", default=4, show_default=True, type=int, help="Random seed: the same seed, the same records.")
@click.option("--batch", default=10_000, show_default=True, type=click.IntRange(100, 100_000),
              help="Clients per batch (built in a worker process, written in one transaction).")
@click.option("--rebuild-indexes/--keep-indexes", default=True, show_default=True,
              help="Drop the seeded tables' secondary indexes during the load and build them again at the end "
                   "(the usual way to bulk-load; the rebuild is part of the time measured).")
@click.option("--password-stdin", is_flag=True,
              help="Read the bench accounts' password from standard input (otherwise one is generated and printed).")
@with_appcontext
def bench_seed(total, counsellors, seed, batch, rebuild_indexes, password_stdin):
    """Seed bench clients, cases, timeline events and tasks in the team "Bench"."""
    from carecycle.accounts import service as accounts
    from carecycle.audit import record_event
    from casework.models import Case, CaseEvent, Client, Task

    if current_app.config["ENV_NAME"] == "production":
        raise click.ClickException("bench data is never seeded in production")
    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        problem = accounts.password_problem(password, "bench_counsellor1")
        if problem:
            raise click.ClickException(str(problem))
    try:
        team, counsellor_ids, generated = _bench_accounts(counsellors, password)
    except accounts.AccountError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    have = db.session.scalar(select(func.count()).select_from(Client).where(Client.team_id == team.id)) or 0
    db.session.commit()
    if generated:
        click.echo(f"new bench accounts (bench_counsellorN) have the password: {generated}")
    todo = max(0, total - have)
    if not todo:
        click.echo(f"the bench team already holds {have} clients; nothing to add")
        return
    ring, now = keyring(), utcnow()
    tables = (Client.__table__, Case.__table__, CaseEvent.__table__, Task.__table__)
    context = {"seed": seed, "team_id": team.id, "counsellor_ids": counsellor_ids, "now": now, "ring": ring}
    bounds = [(start, min(start + batch, total)) for start in range(have, total, batch)]
    db.session.commit()  # reading team.id began a transaction (SQLite: the write lock); the load needs it
    with db.engine.connect() as connection:  # the load's own connection, tuned before its first transaction
        started = time.perf_counter()
        rows_written = _load(connection, tables, context, bounds, have, todo, rebuild_indexes)
    elapsed = time.perf_counter() - started
    record_event("create", "bench_seed", context["team_id"], reason=f"clients={todo}")
    db.session.commit()
    click.echo(f"seeded {todo} clients with cases ({rows_written} rows) in {elapsed:.2f} s: "
               f"{todo / elapsed:.0f} clients/s; the bench team now holds {total}")
