"""`carecycle instruments ...`: entering official translations of the questionnaires."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from carecycle.lifecycle import command


@click.group("instruments")
def instruments_cli():
    """Screening instruments and their translations."""


@instruments_cli.group("translation")
def translation_cli():
    """Official translations (packs): enter one for review, list them."""


@translation_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", "username", required=True,
              help="The clinical staff member (counsellor or supervisor) entering it; a second person, a "
                   "supervisor, approves it on the review page.")
@with_appcontext
@command
def translation_import(file: Path, username: str):
    """Enter a translation pack FILE for review (not shown to residents until a supervisor approves it)."""
    from carecycle.cli import _user
    from screening.service import translations
    row, created = translations.import_pack(file.read_bytes(), file.name, _user(username))
    if not created:
        click.echo(f"unchanged: {row.instrument} {row.language} sha256 {row.sha256} is already entered "
                   f"({translations.status(row).value.replace('_', ' ')})")
        return
    click.echo(f"entered for review: {row.instrument} {row.language} sha256 {row.sha256} by {username}; "
               "a supervisor other than you approves it at /screening/translations/" + str(row.id))


@translation_cli.command("list")
@with_appcontext
def translation_list():
    """Every pack entered or waiting in a translations folder, with its state."""
    from screening.service import translations
    listed = translations.overview()
    if not listed:
        click.echo("no translation packs")
    for item in listed:
        sha = item.row.sha256[:12] if item.row else item.file.pack.short_hash if item.file else ""
        click.echo(f"{item.instrument.id}\t{item.language}\t{item.status.value}\t{sha}")
