"""The `carecycle` command: the Flask CLI bound to create_app, plus the shell's commands."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import func, or_, select, update

from carecycle.extensions import db
from carecycle.lifecycle import command
from carecycle.roles import Role


def _create_app():
    from carecycle import create_app
    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app)
def main():
    """CareCycle administration."""


# ------------------------------------------------------------------ users
@click.group("users")
def users_cli():
    """Manage accounts."""


@users_cli.command("create")
@click.argument("username")
@click.option("--role", required=True,
              type=click.Choice([role.value for role in Role]))
@click.option("--team", default=None, help="Team name (needed for counsellors, social workers, supervisors).")
@with_appcontext
@command
def users_create(username, role, team):
    """Create an account; the password is read from standard input."""
    from carecycle.accounts import service
    password = sys.stdin.readline().rstrip("\r\n")
    service.create_user(username, password, role, service.find_team(team))
    click.echo(f"created {service.normalise_username(username)} ({role})")


# ------------------------------------------------------------------ tokens
@click.group("tokens")
def tokens_cli():
    """Manage API bearer tokens."""


def _user(username):
    from carecycle.accounts.models import User
    from carecycle.accounts.service import normalise_username
    user = db.session.scalar(select(User).where(User.username == normalise_username(username)))
    if user is None:
        raise click.ClickException(f"there is no user {username}")
    return user


def _partner_tokens():
    from carecycle.fhir import partner_tokens
    tokens = partner_tokens()
    if tokens is None:
        raise click.ClickException("partner tokens are not available in this installation")
    return tokens


def _one_owner(username, partner) -> None:
    if (username is None) == (partner is None):
        raise click.UsageError("give either USERNAME or --partner ORG_ID")


@tokens_cli.command("create")
@click.argument("username", required=False)
@click.option("--partner", default=None, metavar="ORG_ID",
              help="A partner organisation's FHIR token instead (its Tasks and ServiceRequests only).")
@click.option("--days", type=int, default=None,
              help="Days the token lasts, 1 to 365 (default CARECYCLE_API_TOKEN_DAYS, 90).")
@with_appcontext
@command
def tokens_create(username, partner, days):
    """Print a new token for USERNAME, or for the partner organisation ORG_ID (shown once; stored hashed)."""
    _one_owner(username, partner)
    if partner is not None:
        click.echo(_partner_tokens().create(partner, days))
        return
    from carecycle.accounts import service
    click.echo(service.create_token(_user(username), days))


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "never"


@tokens_cli.command("list")
@click.argument("username", required=False)
@click.option("--partner", default=None, metavar="ORG_ID", help="The partner organisation's tokens instead.")
@with_appcontext
@command
def tokens_list(username, partner):
    """List USERNAME's (or ORG_ID's) tokens: prefix, created, last used, expiry and state (active, expired, revoked)."""
    from carecycle.database import utcnow
    _one_owner(username, partner)
    if partner is not None:
        rows, owner = _partner_tokens().list(partner), f"partner {partner}"
    else:
        from carecycle.accounts import service
        user = _user(username)
        rows, owner = service.list_tokens(user), user.username
    if not rows:
        click.echo(f"{owner} has no tokens")
        return
    now = utcnow()
    lines = [("prefix", "created", "last used", "expires", "state")]
    lines += [(row.prefix + "…", _when(row.created_at), _when(row.last_used_at), _when(row.expires_at),
               row.state(now)) for row in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(5)]
    for line in lines:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())


@tokens_cli.command("revoke")
@click.argument("username", required=False)
@click.option("--partner", default=None, metavar="ORG_ID", help="The partner organisation's tokens instead.")
@click.option("--token", "given", default=None,
              help="Only this token: the whole token or at least its first 8 characters.")
@with_appcontext
@command
def tokens_revoke(username, partner, given):
    """Revoke USERNAME's (or ORG_ID's) tokens (all, or the one given); exits 1 when the one given matches none or
    several."""
    _one_owner(username, partner)
    if partner is not None:
        click.echo(f"revoked {_partner_tokens().revoke(partner, given)} token(s)")
        return
    from carecycle.accounts import service
    user = _user(username)
    if given is None:
        done = f"revoked {service.revoke_tokens(user)} token(s)"
    else:
        done = f"revoked 1 token(s): {service.revoke_token(user, given).prefix}…"
    click.echo(done)


# ------------------------------------------------------------------ keys
@click.group("keys")
def keys_cli():
    """Manage the encryption key ring."""


def _ring():
    return current_app.extensions["carecycle_keyring"]


@keys_cli.command("rotate")
@with_appcontext
def keys_rotate():
    """Add a new key and make it the active one (then run `keys reencrypt`)."""
    from carecycle.keyring import KeyRingError
    ring = _ring()
    previous = ring.active
    kid = ring.rotate()
    try:
        ring.save()
    except (KeyRingError, OSError) as error:
        del ring.keys[kid]  # not saved: nothing may be sealed under it
        ring.active = previous
        raise click.ClickException(str(error)) from error
    click.echo(f"new active key {kid}; run `carecycle keys reencrypt` to move stored values to it")


@keys_cli.command("reencrypt")
@click.option("--batch", default=500, show_default=True, help="Rows per transaction.")
@with_appcontext
def keys_reencrypt(batch):
    """Re-encrypt every value under the active key, in batches; safe to run again after a stop.

    Each value is written back only where its row still holds the envelope that was read (a
    conditional UPDATE outside the ORM): an edit made meanwhile is never undone, and a record's
    version does not change (re-sealing is not an edit). A row edited during a batch is left for the
    next pass."""
    from carecycle.crypto import ENCRYPTED_FIELDS, PREFIX, DecryptionError
    from carecycle.database import rows_changed
    from carecycle.workers import sealing_with_another_key
    ring = _ring()
    behind = sealing_with_another_key(ring.active)
    if behind:
        names = ", ".join(f"{w.host} pid {w.pid} ({w.key_id})" for w in behind)
        raise click.ClickException(
            f"{len(behind)} running worker(s) still seal with a key other than the active {ring.active}: {names}. "
            "Restart them so they load the new key ring (systemctl restart carecycle), then run this again; "
            "nothing was re-encrypted.")
    active_prefix = f"{PREFIX}:{ring.active}:"
    by_model: dict[type, list] = {}
    for model, field in ENCRYPTED_FIELDS:
        by_model.setdefault(model, []).append(field)
    total = skipped_total = 0
    for model, fields in by_model.items():
        table = model.__table__
        columns = [getattr(model, f.column_attr) for f in fields]
        pending = or_(*[c.is_not(None) & ~c.startswith(active_prefix) for c in columns])
        remaining = db.session.scalar(select(func.count()).select_from(model).where(pending))
        done = idle_passes = 0
        while True:
            rows = db.session.scalars(select(model).where(pending).order_by(model.id).limit(batch)
                                      .execution_options(populate_existing=True)).all()
            if not rows:
                break
            moved = skipped = 0
            try:
                for row in rows:
                    row_done = True
                    for field in fields:
                        sealed = field.reseal(row, ring)
                        if sealed is None:
                            continue
                        old, new = sealed
                        column = table.c[field.column]
                        written = db.session.execute(update(table).where(table.c.id == row.id, column == old)
                                                     .values({column.name: new}))
                        if rows_changed(written) != 1:
                            skipped += 1  # edited since it was read: the edit stands; the next pass re-reads it
                            row_done = False
                    moved += row_done
            except DecryptionError as error:
                db.session.rollback()
                raise click.ClickException(f"{error}; the batches before it are done. "
                                           "Restore that value from a backup, then run this again.") from error
            db.session.commit()
            db.session.expunge_all()
            done += moved
            skipped_total += skipped
            idle_passes = idle_passes + 1 if not moved else 0
            if idle_passes >= 3:
                raise click.ClickException(f"{model.__tablename__}: rows kept changing while being re-encrypted; "
                                           "the others are done. Run this again.")
            click.echo(f"{model.__tablename__}: {min(done, remaining)}/{remaining} rows re-encrypted"
                       + (f" ({skipped} value(s) edited meanwhile, done on the next pass)" if skipped else ""))
        total += min(done, remaining)
    click.echo(f"done: {total} row(s) re-encrypted under {ring.active}"
               + (f"; {skipped_total} value(s) edited during the run were re-read and done" if skipped_total else ""))


def count_values_under(kid: str) -> int:
    from carecycle.crypto import ENCRYPTED_FIELDS, PREFIX
    total = 0
    for model, field in ENCRYPTED_FIELDS:
        column = getattr(model, field.column_attr)
        total += db.session.scalar(select(func.count()).select_from(model)
                                   .where(column.startswith(f"{PREFIX}:{kid}:"))) or 0
    return total


@keys_cli.command("retire")
@click.argument("key_id")
@with_appcontext
def keys_retire(key_id):
    """Remove KEY_ID from the key ring; refused while any value still uses it."""
    from carecycle.keyring import KeyRingError
    ring = _ring()
    if key_id not in ring.keys:
        raise click.ClickException(f"no key {key_id} in the key ring")
    in_use = count_values_under(key_id)
    if in_use:
        raise click.ClickException(f"{in_use} value(s) still use {key_id}; run `carecycle keys reencrypt` first")
    key = ring.keys[key_id]
    try:
        ring.retire(key_id)
        ring.save()
    except (KeyRingError, OSError) as error:
        ring.keys.setdefault(key_id, key)  # not saved: the running app keeps it
        raise click.ClickException(str(error)) from error
    click.echo(f"retired {key_id}")


# ------------------------------------------------------------------ audit
@click.group("audit")
def audit_cli():
    """The audit trail."""


@audit_cli.command("verify")
@click.option("--checkpoints", "checkpoint_file", default=None, metavar="FILE",
              help="Also check that the chain still reaches every checkpoint in FILE with the same hash.")
@with_appcontext
def audit_verify(checkpoint_file):
    """Exit 0 when the hash chain is intact, 1 naming the first bad event (or checkpoint)."""
    from carecycle.audit import CheckpointError, read_checkpoints, verify_chain
    checkpoints = None
    if checkpoint_file is not None:
        try:
            checkpoints = read_checkpoints(checkpoint_file)
        except CheckpointError as error:
            click.echo(f"audit checkpoints REFUSED: {error}", err=True)
            sys.exit(1)
    report = verify_chain(checkpoints=checkpoints)
    if not report.ok:
        click.echo(f"audit chain BROKEN at event {report.first_bad}: {report.problem}", err=True)
        sys.exit(1)
    message = f"audit chain intact: {report.count} event(s)"
    if checkpoints is not None:
        message += f"; it reaches all {report.checkpoints_reached} checkpoint(s)"
        if report.last_checkpoint is not None:
            message += f", the last the {report.last_checkpoint.name()}"
    click.echo(message)


@audit_cli.command("checkpoint")
@click.option("--file", "target", default=None, metavar="FILE",
              help="Append to FILE (default CARECYCLE_AUDIT_CHECKPOINT_FILE; without either, standard output).")
@with_appcontext
def audit_checkpoint(target):
    """Write the chain's current sequence number and hash, signed with the audit key, to an
    append-only file outside the database, or to standard output for a log shipper."""
    from carecycle.audit import append_checkpoint, current_checkpoint
    line = current_checkpoint()
    target = target or current_app.config.get("AUDIT_CHECKPOINT_FILE")
    if not target:
        click.echo(line)
        return
    try:
        append_checkpoint(target, line)
    except OSError as error:
        raise click.ClickException(f"cannot append to {target}: {error.strerror or error}") from error
    click.echo(f"checkpoint appended to {target}: {line}")


# ------------------------------------------------------------------ demo
@click.group("demo")
def demo_cli():
    """Demo data."""


@demo_cli.command("load")
@with_appcontext
def demo_load():
    """Load demo teams, accounts and records (idempotent; refused in production)."""
    from carecycle.demo import load_demo
    try:
        load_demo(click.echo)
    except RuntimeError as error:
        raise click.ClickException(str(error)) from error


# ------------------------------------------------------------------ backups
@click.group("backup")
def backup_cli():
    """Consistent backups while the service runs; check and restore them."""


@backup_cli.command("create")
@click.argument("path", type=click.Path(file_okay=False, path_type=Path))
@with_appcontext
def backup_create(path: Path):
    """Write a backup of the database into the new folder PATH (the copy and manifest.json)."""
    from carecycle import backup
    try:
        manifest = backup.create(current_app.config["SQLALCHEMY_DATABASE_URI"], path)
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"backup written to {path}: {sum(manifest['rows'].values())} rows in {len(manifest['rows'])} "
               f"tables, schema {manifest['schema_revision']}, audit events up to {manifest['audit_head']['seq']}; "
               f"it needs key(s) {', '.join(manifest['key_ids']) or '(none)'} (keep the key file apart)")


@backup_cli.command("verify")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--key-file", required=True, type=click.Path(path_type=Path), help="The key ring the backup needs.")
@with_appcontext
def backup_verify(path: Path, key_file: Path):
    """Restore PATH into a throwaway database and check rows, encrypted values and the audit chain."""
    from carecycle import backup
    config = {"CARECYCLE_ENV": current_app.config["ENV_NAME"], "SECRET_KEY": current_app.config["SECRET_KEY"]}
    try:
        report = backup.verify(path, key_file, config, current_app.config["SQLALCHEMY_DATABASE_URI"])
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from error
    if report.problems:
        raise click.ClickException("the backup does not check out: " + "; ".join(report.problems[:10]))
    click.echo(f"backup verified: {sum(report.manifest['rows'].values())} rows as in the manifest, "
               f"{report.values_opened} encrypted value(s) open, audit chain intact ({report.events} events)")


@backup_cli.command("restore")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@with_appcontext
def backup_restore(path: Path):
    """Restore PATH into the configured database, which must be empty (a non-empty one is refused)."""
    from carecycle import backup
    db.session.remove()
    db.engine.dispose()
    try:
        manifest = backup.restore(path, current_app.config["SQLALCHEMY_DATABASE_URI"])
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"restored {path} ({manifest['created_at']}, schema {manifest['schema_revision']}); start the app "
               f"with the key file holding {', '.join(manifest['key_ids']) or 'its keys'}")


# ------------------------------------------------------------------ periodic work
@click.command("worker")
@click.option("--once", is_flag=True, help="Run one round of the jobs that are due, then exit.")
@click.option("--job", "only", multiple=True, metavar="NAME", help="Only this job (repeatable).")
@click.option("--force", is_flag=True, help="With --once: run the jobs now, due or not.")
@click.option("--list", "list_jobs", is_flag=True, help="List the jobs, their intervals and last runs, then exit.")
@click.option("--tick", default=15.0, show_default=True, type=click.FloatRange(1, 3600),
              help="Seconds between rounds.")
@with_appcontext
def worker(once, only, force, list_jobs, tick):
    """Run the periodic jobs (overdue notifications, due-date reminders, e-mail, audit checkpoints).
    Safe to start on every machine: each pass of a job runs on one of them (carecycle.jobs)."""
    import signal
    import threading

    from carecycle import jobs
    from carecycle.workers import start_heartbeat
    known = {job.name for job in jobs.registered(current_app)}
    unknown = sorted(set(only) - known)
    if unknown:
        raise click.BadParameter(f"no job named {', '.join(unknown)} (known: {', '.join(sorted(known))})",
                                 param_hint="--job")
    if force and not once:
        raise click.BadParameter("--force runs jobs out of turn and is only for --once", param_hint="--force")
    if list_jobs:
        states = jobs.job_states()
        for job in jobs.registered(current_app):
            row, off = states.get(job.name), job.off_because()
            last = (f"last ran {row.finished_at:%Y-%m-%d %H:%M:%S} UTC on {row.host}: "
                    f"{row.last_error and 'FAILED ' + row.last_error or row.result}"
                    if row is not None and row.finished_at else "never ran")
            click.echo(f"{job.name:<18} every {_interval(job.every):<8} {job.description}"
                       f"{f' [off: {off}]' if off else ''}; {last}")
        return
    selected = set(only) or None
    if once:
        failed = False
        for outcome in jobs.run_due(current_app, only=selected, force=force):
            click.echo(f"{outcome.name}: {outcome.summary}")
            failed = failed or outcome.summary.startswith("failed:")
        if failed:
            raise SystemExit(1)
        return
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    heartbeat = start_heartbeat(current_app._get_current_object())  # it seals values too (the e-mail outbox)
    click.echo(f"worker started: {', '.join(sorted(selected or known))}; a round every {tick:g} s")
    try:
        jobs.serve(current_app._get_current_object(), tick, stop,
                   lambda outcome: click.echo(f"{outcome.name}: {outcome.summary}"), only=selected)
    finally:
        heartbeat.stop()
    click.echo("worker stopped")


def _interval(every) -> str:
    seconds = int(every.total_seconds())
    return f"{seconds // 3600} h" if seconds % 3600 == 0 else f"{seconds // 60} min" if seconds % 60 == 0 \
        else f"{seconds} s"


COMMANDS = [users_cli, tokens_cli, keys_cli, audit_cli, demo_cli, backup_cli, worker]


def register_commands(app) -> None:
    from carecycle.jobs import register_shell_jobs
    from carecycle.notifications import notify_cli
    for group in (*COMMANDS, notify_cli):
        app.cli.add_command(group)
    register_shell_jobs(app)
