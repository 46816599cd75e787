"""Reading an export back into an empty clinic: the whole export is checked first (the manifest, every file's
size and SHA-256, nothing missing), then every record is written in one transaction — a truncated or tampered
export, or one record that cannot be read, is refused whole and nothing is written."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.fhir.kinds import KINDS, Kind, split_id
from app.fhir.records import RecordError, build_row, read_record
from app.imaging.models import KeyImage
from app.patients.models import Patient
from app.transfer.export import FORMAT_VERSION, MANIFEST

#: The order tables are written in: what others point at comes first.
FIRST = ("pt", "visit", "img", "order")
ORDER = [k for p in FIRST for k in KINDS if k.prefix == p] + [k for k in KINDS if k.primary and k.prefix not in FIRST]


class ImportRefused(ValueError):
    """An export that is not imported, with the reasons in Japanese."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(folder: Path) -> dict[str, Any]:
    """The export's manifest when every file it lists is there whole (size and SHA-256) and every NDJSON file is
    listed; ImportRefused naming each problem otherwise."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ImportRefused(["manifest.json がありません（書き出したフォルダーまたはZIPを指定してください）"]) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise ImportRefused(["manifest.json が壊れています（途中で切れているか、書き換えられています）"]) from exc
    ours = ((manifest.get("extension") or {}).get("kamikarte") or {}) if isinstance(manifest, dict) else {}
    if ours.get("format") != FORMAT_VERSION or not isinstance(ours.get("files"), list):
        raise ImportRefused(["Kamikarte の書き出し（manifest の extension.kamikarte）ではありません"])
    problems = []
    listed = {f.get("path") for f in ours["files"] if isinstance(f, dict)}
    for output in manifest.get("output") or []:
        if output.get("url") not in listed:
            problems.append(f"{output.get('url')}: SHA-256 が manifest にありません")
    for entry in ours["files"]:
        path = folder / str(entry.get("path", ""))
        if not path.resolve().is_relative_to(folder.resolve()) or not path.is_file():
            problems.append(f"{entry.get('path')}: ファイルがありません")
        elif path.stat().st_size != entry.get("bytes"):
            problems.append(f"{entry.get('path')}: 大きさが manifest と違います（途中で切れています）")
        elif _sha256(path) != entry.get("sha256"):
            problems.append(f"{entry.get('path')}: SHA-256 が manifest と違います（書き換えられています）")
    if problems:
        raise ImportRefused(problems)
    return manifest


def _lines(folder: Path, resource_type: str) -> Iterator[dict[str, Any]]:
    path = folder / f"{resource_type}.ndjson"
    if not path.is_file():
        return
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                resource = json.loads(line)
            except ValueError as exc:
                raise ImportRefused([f"{path.name} {number}行目: JSON として読めません"]) from exc
            if not isinstance(resource, dict) or resource.get("resourceType") != resource_type:
                raise ImportRefused([f"{path.name} {number}行目: {resource_type} ではありません"])
            yield resource


def _record_id(kind: Kind, resource: dict[str, Any]) -> str:
    found = split_id(str(resource.get("id", "")))
    if found is None or found[0].prefix != kind.prefix:
        raise RecordError(f"{resource.get('id')}: Kamikarte のリソースIDではありません")
    return f"{kind.prefix}-{found[1]}"


def _patient_ref(resource: dict[str, Any]) -> str:
    ref = ((resource.get("subject") or resource.get("patient") or {}).get("reference") or "")
    return ref.removeprefix("Patient/")


def import_export(session: Session, clinic: Any, folder: Path,
                  progress: Callable[[int, int], None] | None = None) -> dict[str, int]:
    """Write an export's records into `clinic` (which must have no patients) in the session's transaction; the
    caller commits. Counts per table. ImportRefused (nothing written) on any problem."""
    manifest = verify(folder)
    if session.scalar(select(func.count()).select_from(Patient).where(Patient.clinic_id == clinic.id)):
        raise ImportRefused(["取り込み先の医療機関にはすでに患者がいます。空の医療機関にだけ取り込めます"])
    total = sum(int(o.get("count") or 0) for o in manifest.get("output") or [])
    ids: dict[str, int] = {}
    counts: dict[str, int] = {}
    done = 0

    def resolve(resource_id: str) -> int:
        if resource_id not in ids:
            raise RecordError(f"参照先 {resource_id} が書き出しにありません")
        return ids[resource_id]

    try:
        for kind in ORDER:
            for resource in _lines(folder, kind.resource_type):
                record = read_record(resource)
                if record is None or record.get("table") != kind.model.__tablename__:
                    continue
                own = _record_id(kind, resource)
                values = dict(record["row"])
                self_lineage = values.get("lineage_id") == own
                if self_lineage:
                    values["lineage_id"] = None
                fixed: dict[str, Any] = {"clinic_id": clinic.id}
                if kind.model is not Patient:
                    fixed["patient_id"] = resolve(_patient_ref(resource))
                if kind.model is KeyImage:
                    fixed["image_bytes"] = _image_bytes(folder, resource, values)
                row = build_row(kind.model, values, resolve, **fixed)
                session.add(row)
                session.flush()
                if self_lineage:
                    row.lineage_id = row.id
                ids[own] = row.id
                counts[kind.model.__tablename__] = counts.get(kind.model.__tablename__, 0) + 1
                done += 1
                if progress is not None and done % 500 == 0:
                    progress(done, total)
        session.flush()
    except (RecordError, KeyError, TypeError, ValueError) as exc:
        session.rollback()
        if isinstance(exc, ImportRefused):
            raise
        raise ImportRefused([f"記録を読み戻せません: {exc}"]) from exc
    return counts


def _image_bytes(folder: Path, resource: dict[str, Any], values: dict[str, Any]) -> bytes:
    url = ((resource.get("content") or [{}])[0].get("attachment") or {}).get("url", "")
    path = folder / url
    if not url or not path.resolve().is_relative_to(folder.resolve()) or not path.is_file():
        raise RecordError(f"{resource.get('id')}: 画像ファイル {url} がありません")
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != values.get("image_sha256"):
        raise RecordError(f"{resource.get('id')}: 画像ファイルの SHA-256 が記録と違います")
    return data
