"""Every code the history simulator's demo data uses is a real row: drugs of the shipped drug master, 診療行為 of
the 支払基金 master, 特定健診 items of the JAMI sample (tests/samples/onshi/PROVENANCE.md)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from simulators.onshi import demo_data

SAMPLES = Path(__file__).parent.parent / "samples" / "onshi"
DRUGS = Path(__file__).parent.parent.parent / "app" / "prescriptions" / "data" / "drugs.csv"


def test_the_demo_uses_only_published_codes():
    with DRUGS.open(encoding="utf-8", newline="") as handle:
        drugs = {row["receipt_code"]: row["name"] for row in csv.DictReader(handle)}
    for drug in (demo_data.AMLODIPINE, demo_data.ROSUVASTATIN, demo_data.CELECOXIB, demo_data.REBAMIPIDE,
                 demo_data.ALLEGRA, demo_data.MAGNESIUM):
        assert drugs.get(drug[0]) == drug[1]
    with (SAMPLES / "procedures.csv").open(encoding="utf-8", newline="") as handle:
        procedures = {row["code"]: row["name"] for row in csv.DictReader(handle)}
    for code, name in (demo_data.REVISIT, demo_data.MANAGEMENT, demo_data.HBA1C, demo_data.BLOOD,
                       demo_data.FIRST_VISIT):
        assert procedures.get(code) == name
    bundle = json.loads((SAMPLES / "Bundle-Bundle-eCheckupReport-Sample-01.json").read_text(encoding="utf-8"))
    oid = "urn:oid:1.2.392.200119.6.1005"
    items = {coding["code"] for entry in bundle["entry"] if entry["resource"]["resourceType"] == "Observation"
             for coding in entry["resource"]["code"]["coding"] if coding.get("system") == oid}
    for code, *_ in demo_data.CHECKUP_ITEMS:
        assert code in items, code
    assert "9N501000000000011" in items
