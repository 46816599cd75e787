"""`flask lab import --clinic CODE FILE…` (a lab's file drop), `flask lab poll` (fetch from the lab's API once) and
`flask lab poller` (poll until stopped)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from sqlalchemy import select

from app.clinics.models import Clinic
from app.labs.importer import import_message
from app.labs.masters import ItemMaster
from app.labs.poller import LabPoller, poll_all_clinics


def register_lab_cli(app: Flask) -> None:
    """Attach the lab commands."""

    @app.cli.group("lab")
    def lab_group() -> None:
        """Outside lab: result files, polling."""

    @lab_group.command("import")
    @click.option("--clinic", "clinic_code", required=True, help="医療機関コード (10 digits) of the clinic.")
    @click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
    def lab_import(clinic_code: str, files: tuple[Path, ...]) -> None:
        """Import result messages (OUL^R22 / ORU^R01) from files; exit 0 only when every file imported. A file
        that fails is kept (raw, with its reason) and listed at /labs/messages."""
        factory = current_app.extensions["db_sessionmaker"]
        with factory() as session:
            clinic = session.scalar(select(Clinic).where(Clinic.institution_code == clinic_code))
            if clinic is None:
                click.echo(f"医療機関コード {clinic_code} の医療機関はありません", err=True)
                sys.exit(2)
            master = ItemMaster(session)
            failed = 0
            for path in files:
                outcome = import_message(session, clinic.id, path.read_bytes(), source="file", filename=str(path),
                                         master=master)
                if outcome.ok:
                    note = "重複（取り込み済み）" if outcome.duplicate else f"{outcome.results}件の結果を取り込みました"
                    click.echo(f"{path}: {note}")
                else:
                    failed += 1
                    click.echo(f"{path}: 取り込めませんでした（保存済み #{outcome.message_id}）: {outcome.error}",
                               err=True)
        if failed:
            click.echo(f"{len(files)}ファイル中{failed}ファイルを取り込めませんでした", err=True)
            sys.exit(1)

    @lab_group.command("poll")
    def lab_poll() -> None:
        """Fetch and import waiting results from every clinic's lab once."""
        poll_all_clinics(current_app.extensions["db_sessionmaker"])
        click.echo("検査会社から結果を取得しました")

    @lab_group.command("poller")
    def lab_poller() -> None:
        """Poll every clinic's lab every $KAMIKARTE_LAB_POLL seconds until stopped (a process of its own)."""
        poller = LabPoller(current_app.extensions["db_sessionmaker"], current_app.config["LAB_POLL_SECONDS"] or 300)
        click.echo("lab poller started")
        try:
            poller.run_forever()
        except KeyboardInterrupt:
            poller.stop()
