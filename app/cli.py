"""Command line: db upgrade, demo seed, audit verify, backup/restore, masters import-…, outbox-worker."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click
from alembic import command
from alembic.config import Config as AlembicConfig
from flask import Flask, current_app
from sqlalchemy import func, select

from app import backup as backups
from app import operations
from app.billing.procedures import ProcedureMasterError, import_procedure_file
from app.config import ROOT
from app.core.audit import iter_chain_breaks
from app.core.models import AuditEntry
from app.demo.seed import DemoAlreadySeeded, seed_demo
from app.diagnoses.masters import MasterError, import_disease_file, import_modifier_file
from app.labs.cli import register_lab_cli
from app.labs.masters import LabMasterError, import_item_file
from app.outbox.worker import OutboxWorker, wait_until_idle
from app.prescriptions.check_master import CheckMasterError, import_check_master
from app.prescriptions.drug_master import DrugMasterError, import_official_file
from app.reception.poller import OrcaPoller
from app.transfer.cli import register_transfer_cli


def stop(message: str) -> NoReturn:
    """End a command that failed: `message` on standard error, exit status 1."""
    click.echo(message, err=True)
    sys.exit(1)


def alembic_config(url: str) -> AlembicConfig:
    """Alembic's configuration for a database URL (migrations live in migrations/)."""
    cfg = AlembicConfig(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["database_url"] = url
    return cfg


def upgrade_database(url: str) -> None:
    """Bring a database to the newest schema (the only way the schema is made)."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), "head")


def register_cli(app: Flask) -> None:
    """Attach the commands to `flask --app wsgi …`."""

    @app.cli.group("db")
    def db_group() -> None:
        """Database schema."""

    @db_group.command("upgrade")
    def db_upgrade() -> None:
        """Migrate the database at $DATABASE_URL to the newest schema."""
        upgrade_database(current_app.config["DATABASE_URL"])
        click.echo("データベースを最新の構造に更新しました")

    @app.cli.command("check")
    def check() -> None:
        """Report what is missing or unsafe in this configuration before starting; exit 1 on anything that stops
        a start (every secret, the database and its schema, PACS credentials)."""
        lines = operations.check_configuration(current_app.extensions["kamikarte_config"])
        with current_app.extensions["db_sessionmaker"]() as session:
            database = operations.check_database(session)
            lines += database
            if all(line.ok for line in database):
                lines += operations.check_connections(session)
        for line in lines:
            mark = "OK " if line.ok else ("NG " if line.fatal else "注意")
            click.echo(f"[{mark}] {line.subject}: {line.message}")
        if any(line.fatal for line in lines):
            stop("起動できない設定があります（NG の行を直してください）")
        click.echo("設定の確認を終えました")

    @app.cli.group("demo")
    def demo_group() -> None:
        """Demo data."""

    @demo_group.command("seed")
    def demo_seed() -> None:
        """Seed the demo clinics, accounts and data into an empty database."""
        try:
            with current_app.extensions["db_sessionmaker"]() as session:
                seed_demo(session)
                session.commit()
        except DemoAlreadySeeded as exc:
            stop(str(exc))
        click.echo("デモデータを登録しました")

    @app.cli.group("audit")
    def audit_group() -> None:
        """Audit trail."""

    @audit_group.command("verify")
    def audit_verify() -> None:
        """Check the audit trail's hash chain; exit 1 naming the first broken link."""
        with current_app.extensions["db_sessionmaker"]() as session:
            total = session.scalar(select(func.count()).select_from(AuditEntry))
            breaks = list(iter_chain_breaks(session))
        if breaks:
            first = min(breaks, key=lambda b: b.entry_id)
            click.echo(f"監査証跡の改ざんを検出しました: 記録 #{first.entry_id} (clinic {first.clinic_id}): "
                       f"{first.reason}", err=True)
            for other in breaks:
                if other is not first:
                    click.echo(f"  ほかに: 記録 #{other.entry_id} (clinic {other.clinic_id}): {other.reason}", err=True)
            sys.exit(1)
        click.echo(f"監査証跡は正常です（{total}件、ハッシュチェーン検証済み）")

    @app.cli.command("backup")
    @click.argument("directory", type=click.Path(path_type=Path))
    @click.option("--without-pacs", is_flag=True, help="Leave the PACS images out (back them up by the PACS's means).")
    def backup(directory: Path, without_pacs: bool) -> None:
        """Back up the database and the clinics' Orthanc images into DIRECTORY (new or empty), with a manifest."""
        with current_app.extensions["db_sessionmaker"]() as session:
            try:
                manifest = backups.make_backup(current_app.extensions["db_engine"], session, directory,
                                               with_pacs=not without_pacs)
            except backups.BackupError as exc:
                stop(f"バックアップできません: {exc}")
        size = sum(f["size"] for f in manifest["files"])
        images = sum(p["instances"] for p in manifest["pacs"])
        click.echo(f"バックアップしました: {directory}（{len(manifest['files'])}ファイル、{size:,}バイト、"
                   f"画像{images}件、スキーマ {', '.join(manifest['database']['schema_heads'])}）")

    @app.cli.command("restore")
    @click.argument("directory", type=click.Path(path_type=Path))
    @click.option("--yes", is_flag=True, help="Do not ask before replacing the database.")
    def restore(directory: Path, yes: bool) -> None:
        """Replace the database (and store the images again) from a backup, after verifying all of it."""
        try:
            manifest = backups.verify_backup(directory)
        except backups.BackupError as exc:
            stop(f"復元しません（何も変更していません）: {exc}")
        if not yes:
            click.confirm(f"{directory} の内容でデータベースを置き換えます。よろしいですか", abort=True)
        engine = current_app.extensions["db_engine"]
        try:
            backups.restore_backup(engine, directory)
        except backups.BackupError as exc:
            stop(f"復元しません: {exc}")
        with engine.connect() as connection:
            differences = backups.count_differences(manifest["database"]["row_counts"], backups.row_counts(connection))
        if differences:
            stop("復元後の行数がマニフェストと一致しません: " + "; ".join(differences))
        upgrade_database(current_app.config["DATABASE_URL"])
        with current_app.extensions["db_sessionmaker"]() as session:
            breaks = list(iter_chain_breaks(session))
            if breaks:
                stop(f"復元した監査証跡のハッシュチェーンが壊れています: 記録 #{breaks[0].entry_id}")
            try:
                stored = backups.restore_pacs(session, directory, manifest)
            except backups.BackupError as exc:
                stop(f"データベースは復元しました。画像の復元に失敗しました: {exc}")
        click.echo(f"復元しました: {directory}（{manifest['finished_at']} のバックアップ、監査証跡検証済み、"
                   f"画像{sum(stored.values())}件）")

    @app.cli.group("masters")
    def masters_group() -> None:
        """National code masters (drugs, diseases …): load the official files."""

    def _import_master(label: str, load, path: Path, error: type[Exception]) -> None:
        """Load one master file in one transaction; on `error` nothing is kept and the command exits 1."""
        with current_app.extensions["db_sessionmaker"]() as session:
            try:
                count = load(session, path)
            except error as exc:
                session.rollback()
                stop(f"{label}を読み込めませんでした（何も登録していません）: {exc}")
            session.commit()
        click.echo(f"{label}を{count}件読み込みました")

    #: The official master files loaded whole or not at all: command, the master's name, loader, its error, help.
    master_files = (
        ("import-drugs", "医薬品マスター", import_official_file, DrugMasterError,
         "Load the official 医薬品マスター file (y_ALLyyyymmdd.csv, cp932); all rows or none."),
        ("import-diseases", "傷病名マスター", import_disease_file, MasterError,
         "Load the official 傷病名マスター file (b_yyyymmdd.txt, cp932); all rows or none."),
        ("import-procedures", "医科診療行為マスター", import_procedure_file, ProcedureMasterError,
         "Load the official 医科診療行為マスター file (s_ALLyyyymmdd.csv, cp932); all rows or none."),
        ("import-modifiers", "修飾語マスター", import_modifier_file, MasterError,
         "Load the official 修飾語マスター file (z_yyyymmdd.txt, cp932); all rows or none."),
        ("import-lab-items", "検査項目マスター", import_item_file, LabMasterError,
         "Load a lab company's item master (CSV: lab code, JLAC10, JLAC11, name …); all rows or none."),
    )

    def _master_command(name: str, label: str, load, error: type[Exception], help_text: str) -> None:
        @masters_group.command(name, help=help_text)
        @click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
        def command(path: Path) -> None:
            _import_master(label, load, path, error)

    for master_file in master_files:
        _master_command(*master_file)

    @masters_group.command("import-check-master")
    @click.argument("path", type=click.Path(exists=True, path_type=Path))
    @click.option("--version", "version", default=None, help="The edition's name when the file name has no yyyymmdd.")
    def masters_import_check_master(path: Path, version: str | None) -> None:
        """Load the 支払基金 チェックマスタ (ZIP or directory: IY_HeiyoKinki, IY_ShobyoKinki, IY_Tekio; cp932); the
        whole edition or nothing, the edition in use kept on any error."""
        with current_app.extensions["db_sessionmaker"]() as session:
            try:
                loaded = import_check_master(session, path, version)
            except CheckMasterError as exc:
                session.rollback()
                stop(f"チェックマスタを読み込めませんでした（何も変更していません。使用中の版のままです）: {exc}")
            session.commit()
            click.echo(f"チェックマスタ {loaded.version} を読み込みました（併用禁忌 {loaded.pair_count}組、傷病名禁忌 "
                       f"{loaded.disease_rule_count}件、適応・投与量 {loaded.dose_rule_count}件）")

    register_lab_cli(app)
    register_transfer_cli(app)

    @app.cli.command("orca-poller")
    @click.option("--once", is_flag=True, help="One pass over every clinic, then exit.")
    def orca_poller(once: bool) -> None:
        """Pull ORCA's reception lists and patients for every clinic until stopped (production runs one)."""
        poller = OrcaPoller(current_app.extensions["db_sessionmaker"], current_app.config["ORCA_POLL_SECONDS"] or 5)
        if once:
            sys.exit(0 if poller.run_once() else 1)
        click.echo("ORCA poller started")
        try:
            poller.run_forever()
        except KeyboardInterrupt:
            poller.stop()

    @app.cli.command("outbox-worker")
    @click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
    def outbox_worker(once: bool) -> None:
        """Deliver outbox messages until stopped (several may run at once on PostgreSQL)."""
        factory = current_app.extensions["db_sessionmaker"]
        base_delay = current_app.config["OUTBOX_BASE_DELAY_SECONDS"]
        if once:
            wait_until_idle(factory, base_delay, timeout=60)
            return
        worker = OutboxWorker(factory, current_app.config["OUTBOX_POLL_SECONDS"], base_delay)
        click.echo("outbox worker started")
        try:
            worker.run_forever()
        except KeyboardInterrupt:
            worker.stop()
