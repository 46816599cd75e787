"""`flask export --clinic CODE --out DIR` (the clinic, or one patient, as FHIR bulk data), `flask import --clinic
CODE DIR` (an export into an empty clinic: all or nothing) and `flask transfer-worker` (runs the jobs queued on
the administrator's screen, when the web processes do not)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from sqlalchemy import select

from app.clinics.models import Clinic
from app.core.audit import SYSTEM, record_audit
from app.patients.models import Patient
from app.transfer.export import export_clinic
from app.transfer.importing import ImportRefused, import_export
from app.transfer.jobs import TransferWorker, transfer_root


def _clinic(session, code: str) -> Clinic:
    clinic = session.scalar(select(Clinic).where(Clinic.institution_code == code))
    if clinic is None:
        click.echo(f"医療機関コード {code} の医療機関はありません", err=True)
        sys.exit(2)
    return clinic


def register_transfer_cli(app: Flask) -> None:
    """Attach the export and import commands."""

    @app.cli.command("export")
    @click.option("--clinic", "clinic_code", required=True, help="医療機関コード (10 digits) of the clinic.")
    @click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
                  help="An empty (or new) folder for the export.")
    @click.option("--patient", "orca_id", default=None, help="Only this patient (ORCA 患者番号).")
    def export_command(clinic_code: str, out: Path, orca_id: str | None) -> None:
        """Export the clinic's records as FHIR NDJSON (Bulk Data layout) with the documents' PDFs, the key images
        and manifest.json (files, counts, SHA-256, local code systems)."""
        with current_app.extensions["db_sessionmaker"]() as session:
            clinic = _clinic(session, clinic_code)
            patient_id = None
            if orca_id:
                patient_id = session.scalar(select(Patient.id).where(Patient.clinic_id == clinic.id,
                                                                     Patient.orca_patient_id == orca_id))
                if patient_id is None:
                    click.echo(f"患者番号 {orca_id} の患者はいません", err=True)
                    sys.exit(2)
            if out.exists() and any(out.iterdir()):
                click.echo(f"{out} は空ではありません。空のフォルダーを指定してください", err=True)
                sys.exit(2)
            record_audit(session, SYSTEM, "transfer.export", clinic_id=clinic.id, entity_type="cli",
                         patient_id=patient_id, summary={"out": str(out)[:200]})
            session.commit()
            result = export_clinic(session, clinic, out, patient_id=patient_id, request="flask export",
                                   progress=lambda done, total: click.echo(f"{done}/{total} 人", err=True))
            session.commit()
        for output in result.manifest["output"]:
            click.echo(f"{output['url']}: {output['count']}")
        click.echo(f"{result.patients} 人を {out} に書き出しました")

    @app.cli.command("import")
    @click.option("--clinic", "clinic_code", required=True, help="医療機関コード of the (empty) clinic to fill.")
    @click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
    def import_command(clinic_code: str, folder: Path) -> None:
        """Import an export into an empty clinic: checked whole first (manifest SHA-256), then all or nothing."""
        with current_app.extensions["db_sessionmaker"]() as session:
            clinic = _clinic(session, clinic_code)
            try:
                counts = import_export(session, clinic, folder)
            except ImportRefused as exc:
                session.rollback()
                for problem in exc.problems:
                    click.echo(problem, err=True)
                click.echo("取り込みませんでした（何も書き込んでいません）", err=True)
                sys.exit(1)
            record_audit(session, SYSTEM, "transfer.imported", clinic_id=clinic.id, entity_type="cli",
                         summary=counts)
            session.commit()
        for table, count in sorted(counts.items()):
            click.echo(f"{table}: {count}")
        click.echo("取り込みました")

    @app.cli.command("transfer-worker")
    @click.option("--interval", default=5.0, help="Seconds between looks for queued jobs.")
    def transfer_worker(interval: float) -> None:
        """Run queued export and import jobs until stopped."""
        worker = TransferWorker(current_app.extensions["db_sessionmaker"], interval, transfer_root())
        click.echo("transfer worker started")
        try:
            worker.run_forever()
        except KeyboardInterrupt:
            worker.stop()
