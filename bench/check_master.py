"""A synthetic full-size 支払基金 チェックマスタ for the prescription-check benchmark (issue 19): the published layout
(ZIP of three cp932 CSV files with a header line) at the published size — about 4,000 併用禁忌 pairs, 27,684 傷病名禁忌
rows and 1.2 million 適応・投与量 rows — spread over the drug codes given, so that each drug has a few dozen
rows as in the real edition. Benchmark data only: the pairs and limits are random, never shipped."""

from __future__ import annotations

import io
import random
import zipfile
from pathlib import Path

from app.prescriptions.check_master import HEIYO, SHOBYO, TEKIO, Layout

PAIRS = 4_000
DISEASE_RULES = 27_684
DOSE_RULES = 1_000_000


def _header(layout: Layout) -> list[str]:
    return [f"項目{n}" for n in range(1, layout.columns + 1)]


def _csv(layout: Layout, rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    buffer.write(",".join(_header(layout)) + "\r\n")
    for row in rows:
        buffer.write(",".join(row) + "\r\n")
    return buffer.getvalue().encode("cp932")


def write_synthetic_check_master(path: Path, drug_codes: list[str], disease_codes: list[str], *,
                                 pairs: int = PAIRS, disease_rules: int = DISEASE_RULES,
                                 dose_rules: int = DOSE_RULES, seed: int = 19) -> Path:
    """Write a ZIP at `path` (its name should carry the edition's yyyymmdd) with `pairs` 併用禁忌 pairs (each
    listed in both directions, as the published file does), `disease_rules` 傷病名禁忌 rows and `dose_rules`
    適応・投与量 rows over `drug_codes` (all must be in the drug master the import checks against) and
    `disease_codes` (7 digits). About one dose row in five defines a maximum dose, one in twenty a maximum of
    days; a drug's first row is its 無条件 (0000000) row."""
    rng = random.Random(seed)
    codes = sorted(set(drug_codes))
    heiyo: list[list[str]] = []
    seen: set[frozenset[str]] = set()
    while len(seen) < pairs:
        a, b = rng.sample(codes, 2)
        if frozenset((a, b)) in seen:
            continue
        seen.add(frozenset((a, b)))
        for left, right in ((a, b), (b, a)):
            heiyo.append([left, right, "", "", "", "", "", "", "0", "R08"])
    shobyo = [[rng.choice(codes), rng.choice(disease_codes), "", "", "", "", "0", "R08"]
              for _ in range(disease_rules)]
    tekio: list[list[str]] = []
    per_drug = max(1, dose_rules // len(codes))
    for index in range(dose_rules):
        code = codes[(index // per_drug) % len(codes)]
        first = index % per_drug == 0
        row = [""] * TEKIO.columns
        row[0], row[1] = code, "0000000" if first else rng.choice(disease_codes)
        row[4], row[5], row[6], row[7] = "0", "0", "999", "1"
        row[12] = str(rng.choice((3, 4, 6, 8))) if first or rng.random() < 0.2 else ""
        row[14] = "30" if rng.random() < 0.05 else ""
        row[20], row[22], row[23] = ("1" if rng.random() < 0.5 else "0"), "0", "R08"
        tekio.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{HEIYO.prefix}_synthetic.csv", _csv(HEIYO, heiyo))
        archive.writestr(f"{SHOBYO.prefix}_synthetic.csv", _csv(SHOBYO, shobyo))
        archive.writestr(f"{TEKIO.prefix}_synthetic.csv", _csv(TEKIO, tekio))
    return path
