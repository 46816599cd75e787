"""The drug master: the shipped subset, the official y file layout (cp932, no header, by column index) loaded
all-or-nothing from the command line, and search in any kana form."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.prescriptions.drug_master import SHIPPED_SUBSET, Y_COLUMNS, load_shipped_subset, search_drugs
from app.prescriptions.models import Drug


def _shipped_rows() -> list[dict[str, str]]:
    with SHIPPED_SUBSET.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _official_line(row: dict[str, str], change: str = "0") -> list[str]:
    """A row of the shipped subset written back in the official 42-column layout."""
    fields = [""] * 42
    fields[0], fields[1] = change, "Y"
    for key, index in Y_COLUMNS.items():
        if key == "kind":
            continue
        fields[index] = row.get(key, "")
    fields[29] = row["change_date"]
    return fields


def _write(path: Path, lines: list[list[str]]) -> Path:
    text = "\r\n".join(",".join(f'"{f}"' if "," in f else f for f in line) for line in lines) + "\r\n"
    path.write_bytes(text.encode("cp932"))
    return path


def test_shipped_subset_loads_every_row_with_its_codes(session):
    rows = _shipped_rows()
    assert load_shipped_subset(session) == len(rows) > 300
    assert load_shipped_subset(session) == len(rows)  # idempotent
    session.commit()
    assert session.scalar(select(func.count()).select_from(Drug)) == len(rows)
    narcotic = session.scalars(select(Drug).where(Drug.narcotic_class == 1)).first()
    assert narcotic is not None and narcotic.narcotic_label == "麻薬"
    for row in rows:
        drug = session.get(Drug, row["receipt_code"])
        assert drug.name == row["name"] and drug.yj_code == row["yj_code"]


def test_official_file_is_imported_from_the_command_line(app, session, tmp_path):
    rows = _shipped_rows()[:40]
    path = _write(tmp_path / "y_ALL20260930.csv", [_official_line(r) for r in rows])
    result = app.test_cli_runner().invoke(args=["masters", "import-drugs", str(path)])
    assert result.exit_code == 0, result.output
    assert "40件" in result.output
    session.expire_all()
    drug = session.get(Drug, rows[0]["receipt_code"])
    assert drug.name == rows[0]["name"] and drug.kana == rows[0]["kana"]
    assert drug.generic_name == rows[0]["generic_name"]


@pytest.mark.parametrize(("damage", "message"), [
    (lambda lines: lines[:5] + [lines[5][:20]] + lines[6:], "6行目: 項目数が20"),
    (lambda lines: lines[:3] + [["0", "B"] + lines[3][2:]] + lines[4:], "4行目: マスター種別が「B」"),
    (lambda lines: lines[:7] + [lines[7][:2] + ["12345"] + lines[7][3:]] + lines[8:], "8行目: 医薬品コード「12345」"),
    (lambda lines: lines[:2] + [lines[2][:30] + ["20261399"] + lines[2][31:]] + lines[3:],
     "3行目: 日付「20261399」はありません"),
])
def test_a_damaged_file_imports_nothing_and_names_the_line(app, session, tmp_path, damage, message):
    lines = [_official_line(r) for r in _shipped_rows()[:10]]
    path = _write(tmp_path / "y.csv", damage(lines))
    result = app.test_cli_runner().invoke(args=["masters", "import-drugs", str(path)])
    assert result.exit_code == 1
    assert message in result.output and "何も登録していません" in result.output
    assert session.scalar(select(func.count()).select_from(Drug)) == 0


def test_a_file_that_is_not_shift_jis_is_refused(app, session, tmp_path):
    path = tmp_path / "y.csv"
    path.write_bytes(b"0,Y,\x82\x0a\r\n")
    result = app.test_cli_runner().invoke(args=["masters", "import-drugs", str(path)])
    assert result.exit_code == 1 and "Shift_JIS" in result.output


@pytest.mark.parametrize("typed", ["ムコソルバン", "むこそるばん", "ﾑｺｿﾙﾊﾞﾝ", "アンブロキソール", "あんぶろきそーる"])
def test_search_finds_brand_and_generic_in_any_kana(session, typed):
    load_shipped_subset(session)
    names = [h.name for h in search_drugs(session, typed)]
    assert any("ムコソルバン" in n or "アンブロキソール" in n for n in names), (typed, names)


def test_like_wildcards_are_searched_as_characters_not_patterns(session):
    load_shipped_subset(session)
    assert search_drugs(session, "%") == [] and search_drugs(session, "_") == []  # not every product
