"""Backup and restore of a whole install (`flask --app wsgi backup DIR` / `restore DIR`): the database — PostgreSQL
through pg_dump/pg_restore in the custom format, SQLite through sqlite3's online backup API — and the images of every
Orthanc PACS a clinic is connected to (exported and imported over Orthanc's REST API, app/integrations/pacs/
orthanc_rest.py), with a manifest: what, when, the schema head, the rows of every table, and the size and SHA-256 of
every file. The manifest's own SHA-256 is kept beside it.

A restore verifies the whole backup before it changes anything (manifest, every file's size and digest, a schema this
code knows, the same kind of database) and refuses a damaged or partial backup naming the problem.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import Session

from app import models  # noqa: F401 — every table, for the row counts
from app.clinics.models import Clinic
from app.config import ROOT
from app.db import Base, utcnow
from app.imaging.pacs import PacsSettings
from app.integrations.pacs.client import PacsError
from app.integrations.pacs.orthanc_rest import instance_files, rest_root, store_instance

FORMAT = "kamikarte-backup/1"
MANIFEST = "manifest.json"
MANIFEST_DIGEST = "manifest.sha256"
PG_DUMP = "database.pgdump"
SQLITE_COPY = "database.sqlite3"
CHUNK = 1 << 20


class BackupError(RuntimeError):
    """A backup that cannot be made, or a backup that must not be restored; the message says why, in Japanese."""


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def schema_heads(engine: Engine) -> list[str]:
    """The migration revisions the database is at."""
    with engine.connect() as connection:
        return sorted(MigrationContext.configure(connection).get_current_heads())


def row_counts(connection: Connection) -> dict[str, int]:
    """The number of rows of every table of the schema."""
    return {table.name: connection.scalar(select(func.count()).select_from(table)) or 0
            for table in Base.metadata.sorted_tables}


def _pg_command(url: str) -> tuple[str, dict[str, str]]:
    """libpq's form of a SQLAlchemy URL (the password goes through the environment, never the command line)."""
    parsed = make_url(url)
    env = {**os.environ, "PGPASSWORD": parsed.password} if parsed.password else dict(os.environ)
    plain = parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return plain, env


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    except FileNotFoundError as exc:
        raise BackupError(f"{command[0]} がありません（postgresql-client を入れてください）") from exc
    if done.returncode != 0:
        raise BackupError(f"{what}に失敗しました: {done.stderr.strip()[:500]}")


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("メモリ上のSQLiteはバックアップできません")
    return Path(database)


def _copy_sqlite(source: Path, target: Path, *, journal: str | None = None) -> None:
    """One SQLite database into another through the online backup API (consistent while others write);
    `journal` "DELETE" makes the copy a single file (a backup needs no -wal/-shm beside it)."""
    with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
        if journal:
            dst.execute(f"PRAGMA journal_mode={journal}")
    src.close()
    dst.close()


@dataclass(frozen=True)
class PacsTarget:
    """One Orthanc to back up: the DICOMweb root clinics configure, its REST root and credentials."""

    dicomweb_url: str
    root: str
    auth: tuple[str, str]


def pacs_targets(session: Session) -> list[PacsTarget]:
    """Every distinct PACS the clinics are connected to (PacsError when one is not an Orthanc)."""
    found: dict[str, PacsTarget] = {}
    for clinic in session.scalars(select(Clinic).order_by(Clinic.id)):
        settings = PacsSettings.of(clinic)
        if settings is not None and settings.base_url not in found:
            found[settings.base_url] = PacsTarget(settings.base_url, rest_root(settings.base_url),
                                                  (settings.username, settings.password))
    return list(found.values())


def make_backup(engine: Engine, session: Session, target: Path, *, with_pacs: bool = True) -> dict[str, Any]:
    """Write a backup into `target` (a new or empty directory); the manifest, written last."""
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"バックアップ先 {target} は空ではありません（新しいディレクトリを指定してください）")
    url = engine.url.render_as_string(hide_password=False)
    try:
        targets = pacs_targets(session) if with_pacs else []
    except PacsError as exc:
        raise BackupError(exc.message_ja) from exc
    target.mkdir(parents=True, exist_ok=True)
    started = utcnow()
    session.rollback()
    if engine.dialect.name == "postgresql":
        plain, env = _pg_command(url)
        # The rows are counted in the very snapshot pg_dump writes out, so the manifest matches the dump exactly.
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection:
            snapshot = connection.scalar(text("SELECT pg_export_snapshot()"))
            counts = row_counts(connection)
            _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}",
                  f"--file={target / PG_DUMP}", plain], env, "pg_dump")
        files = [PG_DUMP]
    else:
        _copy_sqlite(_sqlite_path(url), target / SQLITE_COPY, journal="DELETE")
        copy = create_engine(f"sqlite:///file:{target / SQLITE_COPY}?mode=ro&uri=true")
        with copy.connect() as connection:
            counts = row_counts(connection)
        copy.dispose()
        files = [SQLITE_COPY]
    pacs = []
    for number, pacs_target in enumerate(targets, start=1):
        folder = target / "pacs" / str(number)
        folder.mkdir(parents=True)
        try:
            for orthanc_id, data in instance_files(pacs_target.root, pacs_target.auth):
                (folder / f"{orthanc_id}.dcm").write_bytes(data)
                files.append(f"pacs/{number}/{orthanc_id}.dcm")
        except PacsError as exc:
            raise BackupError(f"PACS {pacs_target.dicomweb_url}: {exc.message_ja}") from exc
        pacs.append({"dicomweb_url": pacs_target.dicomweb_url, "folder": f"pacs/{number}",
                     "instances": sum(1 for _ in folder.iterdir())})
    manifest = {
        "format": FORMAT, "started_at": started.isoformat(), "finished_at": utcnow().isoformat(),
        "database": {"dialect": engine.dialect.name, "schema_heads": schema_heads(engine), "row_counts": counts},
        "pacs": pacs,
        "files": [{"path": name, "size": (target / name).stat().st_size, "sha256": sha256_of(target / name)}
                  for name in files],
    }
    body = json.dumps(manifest, ensure_ascii=False, indent=2).encode()
    (target / MANIFEST).write_bytes(body)
    (target / MANIFEST_DIGEST).write_text(f"{hashlib.sha256(body).hexdigest()}  {MANIFEST}\n", encoding="ascii")
    return manifest


def verify_backup(source: Path) -> dict[str, Any]:
    """The manifest of a complete, undamaged backup this code can restore; BackupError naming the first problem."""
    manifest_path, digest_path = source / MANIFEST, source / MANIFEST_DIGEST
    for path in (manifest_path, digest_path):
        if not path.is_file():
            raise BackupError(f"{path.name} がありません（バックアップが途中で終わったか、不完全です）: {source}")
    body = manifest_path.read_bytes()
    expected = digest_path.read_text(encoding="ascii", errors="replace").split(" ", 1)[0].strip()
    if hashlib.sha256(body).hexdigest() != expected:
        raise BackupError(f"{MANIFEST} が壊れています（SHA-256が {MANIFEST_DIGEST} と一致しません）")
    try:
        manifest = json.loads(body)
        files = [(str(f["path"]), int(f["size"]), str(f["sha256"])) for f in manifest["files"]]
        heads = list(manifest["database"]["schema_heads"])
    except (ValueError, KeyError, TypeError) as exc:
        raise BackupError(f"{MANIFEST} を読めません: {exc}") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"この形式のバックアップは復元できません（{manifest.get('format')}）")
    for name, size, digest in files:
        path = (source / name).resolve()
        if not path.is_relative_to(source.resolve()):
            raise BackupError(f"マニフェストにバックアップの外を指すファイルがあります: {name}")
        if not path.is_file():
            raise BackupError(f"ファイル {name} がありません（バックアップが不完全です）")
        if path.stat().st_size != size:
            raise BackupError(f"ファイル {name} の大きさが違います（{path.stat().st_size} バイト、"
                              f"マニフェストでは {size} バイト）")
        if sha256_of(path) != digest:
            raise BackupError(f"ファイル {name} が壊れています（SHA-256がマニフェストと一致しません）")
    scripts = ScriptDirectory(str(ROOT / "migrations"))
    for head in heads:
        try:
            known = scripts.get_revision(head)
        except CommandError:
            known = None
        if known is None:
            raise BackupError(f"バックアップのスキーマ {head} はこのバージョンのかみかるてにありません（新しい版の"
                              "バックアップです）")
    return manifest


def restore_backup(engine: Engine, source: Path) -> dict[str, Any]:
    """Verify the backup, then put its database in place of this one; the manifest. Images are restored separately
    (restore_pacs), once the database tells which PACS and credentials to use."""
    manifest = verify_backup(source)
    dialect = manifest["database"]["dialect"]
    if dialect != engine.dialect.name:
        raise BackupError(f"{dialect} のバックアップは {engine.dialect.name} のデータベースに復元できません")
    url = engine.url.render_as_string(hide_password=False)
    engine.dispose()  # no pooled connection keeps the old database's pages or locks
    if dialect == "postgresql":
        plain, env = _pg_command(url)
        _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
              "--exit-on-error", f"--dbname={plain}", str(source / PG_DUMP)], env, "pg_restore")
    else:
        _copy_sqlite(source / SQLITE_COPY, _sqlite_path(url))
    return manifest


def restore_pacs(session: Session, source: Path, manifest: dict[str, Any]) -> dict[str, int]:
    """Store the backup's images again in each PACS, with the credentials of the restored clinics: instances stored
    per DICOMweb root. Storing what a PACS already has is harmless, so this may run again after a failure."""
    stored: dict[str, int] = {}
    targets = {target.dicomweb_url: target for target in pacs_targets(session)}
    for entry in manifest.get("pacs", []):
        target = targets.get(entry["dicomweb_url"])
        if target is None:
            raise BackupError(f"PACS {entry['dicomweb_url']} を使う医療機関が復元したデータにありません")
        count = 0
        for name in sorted(f["path"] for f in manifest["files"] if f["path"].startswith(entry["folder"] + "/")):
            try:
                store_instance(target.root, target.auth, (source / name).read_bytes())
            except PacsError as exc:
                raise BackupError(f"PACS {target.dicomweb_url}: {exc.message_ja}（再実行できます）") from exc
            count += 1
        stored[target.dicomweb_url] = count
    return stored


def count_differences(expected: dict[str, int], actual: dict[str, int]) -> list[str]:
    """Tables whose rows after a restore differ from the manifest's."""
    return [f"{name}: {actual.get(name)} / {count}" for name, count in sorted(expected.items())
            if actual.get(name) != count]
