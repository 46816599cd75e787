"""An export in a form two exports of the same records share: resource ids (and the row ids inside the JP-CLINS
instance identifiers and the records) numbered by first appearance, the clinic's code replaced."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from app.fhir.kinds import BY_PREFIX

RID = re.compile(r"\b(" + "|".join(sorted(BY_PREFIX, key=len, reverse=True)) + r")-(\d+)\b")
INSTANCE = {"Condition": "dx", "Allergy": "alg", "Contraindication": "ci", "Infection": "inf", "MedReq": "rx"}
ECS = re.compile(r"\b(" + "|".join(INSTANCE) + r")-(\d+)\b")


def canonical(folder: Path, institution_code: str) -> dict[str, list[str] | dict[str, int]]:
    """Each NDJSON file's lines normalised, and the key images' SHA-256 with how often each occurs."""
    order: dict[tuple[str, str], int] = {}
    files = sorted(folder.glob("*.ndjson"))
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            found = RID.match(json.loads(line)["id"])
            key = (found.group(1), found.group(2))
            order.setdefault(key, sum(1 for k in order if k[0] == key[0]))

    def number(prefix: str, digits: str) -> str:
        return f"{prefix}-#{order.get((prefix, digits), 'unknown-' + digits)}"

    result: dict = {}
    for path in files:
        lines = []
        for line in path.read_text(encoding="utf-8").splitlines():
            text = RID.sub(lambda m: number(m.group(1), m.group(2)), line)
            text = ECS.sub(lambda m: f"{m.group(1)}-{number(INSTANCE[m.group(1)], m.group(2))}", text)
            lines.append(text.replace(institution_code, "CLINIC"))
        result[path.name] = lines
    images: dict[str, int] = {}
    for path in sorted((folder / "images").iterdir()):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        images[digest] = images.get(digest, 0) + 1
    result["images"] = images
    result["documents"] = {"count": len(list((folder / "documents").iterdir()))}
    return result
