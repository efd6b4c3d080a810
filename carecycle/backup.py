"""Consistent backups while the service runs, their check, and restoring one.

A backup is a folder: the database copy (`database.sqlite`, made with SQLite's online backup API,
which copies the WAL's committed pages too; or `database.dump`, `pg_dump --format=custom` taken
from an exported snapshot) and `manifest.json`: when, the schema revision, the rows per table and
the key ids the encrypted values need (never the keys), the audit chain's head, and the copy's
SHA-256. Counts and copy come from one snapshot, so the manifest describes exactly the copy."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect, make_url, select, text

from carecycle.database import utcnow

MANIFEST = "manifest.json"


class BackupError(Exception):
    """The backup cannot be made, checked or restored; the message says why."""


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _describe(conn, tables: list[str]) -> dict:
    """Rows per table, schema revision, key ids in sealed values and the audit head, read on `conn`."""
    from carecycle.crypto import ENCRYPTED_FIELDS, PREFIX
    counts = {name: conn.execute(text(f'SELECT COUNT(*) FROM "{name}"')).scalar_one() for name in sorted(tables)}
    revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar() \
        if "alembic_version" in tables else None
    keys: set[str] = set()
    for table, column in sorted({(f.table, f.column) for _m, f in ENCRYPTED_FIELDS}):
        if table in tables:
            for (value,) in conn.execute(text(f'SELECT DISTINCT substr("{column}", 1, 40) FROM "{table}" '
                                              f'WHERE "{column}" IS NOT NULL')):
                parts = value.split(":")
                if len(parts) >= 2 and parts[0] == PREFIX:
                    keys.add(parts[1])
    head = conn.execute(text("SELECT seq, hash FROM audit_head WHERE id = 1")).first() \
        if "audit_head" in tables else None
    return {"schema_revision": revision, "rows": counts, "key_ids": sorted(keys),
            "audit_head": {"seq": head[0], "hash": head[1]} if head else {"seq": 0, "hash": None}}


def create(url: str, target: Path) -> dict:
    """Write a backup of the database at `url` into the new folder `target`; returns the manifest."""
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} exists and is not empty; choose a new folder")
    target.mkdir(parents=True, exist_ok=True)
    os.chmod(target, 0o700)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        source = parsed.database
        if not source or not Path(source).exists():
            raise BackupError(f"there is no database file {source}")
        copy = target / "database.sqlite"
        with sqlite3.connect(source) as live, sqlite3.connect(copy) as out:
            live.backup(out)  # the online backup API: a consistent copy while others write
        engine = create_engine(f"sqlite:///{copy}")
        with engine.connect() as conn:
            description = _describe(conn, inspect(conn).get_table_names())
        engine.dispose()
        kind = "sqlite"
    elif parsed.get_backend_name() == "postgresql":
        if shutil.which("pg_dump") is None:
            raise BackupError("pg_dump is not installed: install the PostgreSQL client (apt-get install "
                              "postgresql-client) or take a dump with your database service's own backup")
        copy = target / "database.dump"
        engine = create_engine(url, isolation_level="REPEATABLE READ")
        with engine.connect() as conn:
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            done = subprocess.run(["pg_dump", "--format=custom", f"--snapshot={snapshot}", "--no-owner",
                                   f"--file={copy}", _libpq(url)], capture_output=True, text=True)
            if done.returncode != 0:
                raise BackupError(f"pg_dump failed: {done.stderr.strip()[:300]}")
            description = _describe(conn, inspect(conn).get_table_names())
            conn.rollback()
        engine.dispose()
        kind = "postgresql"
    else:
        raise BackupError(f"backups of {parsed.get_backend_name()} databases are not supported")
    os.chmod(copy, 0o600)
    manifest = {"created_at": utcnow().isoformat(timespec="seconds"), "database": kind, "file": copy.name,
                "sha256": _sha256(copy), **description}
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    os.chmod(target / MANIFEST, 0o600)
    return manifest


def read_manifest(folder: Path) -> dict:
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError) as error:
        raise BackupError(f"{folder / MANIFEST} cannot be read ({error})") from None
    copy = folder / manifest.get("file", "")
    if not copy.is_file():
        raise BackupError(f"the database copy {copy} is missing")
    if _sha256(copy) != manifest.get("sha256"):
        raise BackupError(f"{copy} does not match the SHA-256 in the manifest (changed or damaged)")
    return manifest


def _restore_into(folder: Path, manifest: dict, url: str) -> None:
    copy = folder / manifest["file"]
    parsed = make_url(url)
    if manifest["database"] == "sqlite":
        if parsed.get_backend_name() != "sqlite":
            raise BackupError("this is a SQLite backup; restore it into a SQLite database")
        with sqlite3.connect(copy) as source, sqlite3.connect(parsed.database or "") as out:
            source.backup(out)
    else:
        if parsed.get_backend_name() != "postgresql":
            raise BackupError("this is a PostgreSQL backup; restore it into a PostgreSQL database")
        if shutil.which("pg_restore") is None:
            raise BackupError("pg_restore is not installed: install the PostgreSQL client")
        done = subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={_libpq(url)}", str(copy)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise BackupError(f"pg_restore failed: {done.stderr.strip()[:300]}")


def _tables_with_rows(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            names = [n for n in inspect(conn).get_table_names() if n != "alembic_version"]
            return [n for n in names if conn.execute(text(f'SELECT 1 FROM "{n}" LIMIT 1')).first() is not None] \
                or (["(tables)"] if names else [])
    finally:
        engine.dispose()


def restore(folder: Path, url: str) -> dict:
    """Restore the backup into the database at `url`, which must be empty (no table of ours)."""
    manifest = read_manifest(folder)
    database = make_url(url).database or ""
    if make_url(url).get_backend_name() == "sqlite" and not Path(database).exists():
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    used = _tables_with_rows(url)
    if used:
        raise BackupError("the database is not empty (it has tables: "
                          f"{', '.join(used[:5])}{'…' if len(used) > 5 else ''}); restore only into an empty one")
    _restore_into(folder, manifest, url)
    return manifest


@dataclass
class Report:
    manifest: dict
    values_opened: int = 0
    events: int = 0
    problems: list[str] = field(default_factory=list)


def verify(folder: Path, key_file: Path, app_config: dict, admin_url: str | None) -> Report:
    """Restore into a throwaway database and check it: the rows the manifest lists, that every
    encrypted value opens with the key file, and the audit chain."""
    from carecycle import create_app
    from carecycle.audit import verify_chain
    from carecycle.crypto import ENCRYPTED_FIELDS
    from carecycle.extensions import db
    manifest = read_manifest(folder)
    report = Report(manifest)
    scratch = Path(tempfile.mkdtemp(prefix="carecycle-verify-"))
    cleanup = None
    if manifest["database"] == "sqlite":
        url = f"sqlite:///{scratch / 'check.db'}"
    else:
        if not admin_url:
            raise BackupError("a PostgreSQL backup is checked in a throwaway database on a server: set DATABASE_URL")
        name = f"carecycle_verify_{uuid.uuid4().hex[:10]}"
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)

        def cleanup():
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    try:
        _restore_into(folder, manifest, url)
        engine = create_engine(url)
        with engine.connect() as conn:
            found = _describe(conn, inspect(conn).get_table_names())
        engine.dispose()
        for table, count in manifest["rows"].items():
            if found["rows"].get(table) != count:
                report.problems.append(f"{table}: {found['rows'].get(table)} rows, the manifest says {count}")
        if not key_file.is_file():
            raise BackupError(f"the key file {key_file} does not exist")
        app = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": url, "KEY_FILE": str(key_file)})
        with app.app_context():
            missing = set(manifest["key_ids"]) - set(app.extensions["carecycle_keyring"].keys)
            if missing:
                report.problems.append(f"the key file lacks key(s) {', '.join(sorted(missing))} the backup needs")
            else:
                for model, enc in ENCRYPTED_FIELDS:
                    column = getattr(model, enc.column_attr)
                    rows: Any = db.session.scalars(select(model).where(column.is_not(None))
                                              .execution_options(yield_per=500))
                    for row in rows:
                        try:
                            getattr(row, enc.name)
                        except Exception as error:  # DecryptionError names table, column and row
                            report.problems.append(str(error)[:200])
                            break
                        report.values_opened += 1
                    db.session.expunge_all()
                chain = verify_chain()
                report.events = chain.count
                if not chain.ok:
                    report.problems.append(f"audit chain: {chain.problem}")
            db.session.remove()
            db.engine.dispose()
    finally:
        if cleanup is not None:
            cleanup()
        shutil.rmtree(scratch, ignore_errors=True)
    return report
