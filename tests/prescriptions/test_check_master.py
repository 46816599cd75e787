"""Loading the 支払基金 チェックマスタ with `flask masters import-check-master`: a ZIP or a directory in the
published layout (cp932, one header line), the edition printed; any bad file refused whole, naming the file and
line, with the edition in use kept."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.prescriptions.check_master import DEMO_EDITION, DEMO_VERSION, current_version, load_demo_edition
from app.prescriptions.drug_master import load_shipped_subset
from app.prescriptions.models import CheckDoseRule, CheckInteraction, CheckMasterDrug

FILES = {"IY_HeiyoKinki": "IY_HeiyoKinki_DEMO.csv", "IY_ShobyoKinki": "IY_ShobyoKinki_DEMO.csv",
         "IY_Tekio": "IY_Tekio_DEMO.csv"}


def _edition(tmp_path: Path, name: str = "20251031_CC_JIREI_CHECKMASTA.zip", change=None) -> Path:
    """The demo edition's three files (without SOURCES.csv, as SSK publishes them) in a ZIP; `change(files)`
    edits the decoded texts first."""
    texts = {kind: (DEMO_EDITION / file).read_bytes().decode("cp932") for kind, file in FILES.items()}
    if change:
        change(texts)
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as archive:
        for kind, text in texts.items():
            archive.writestr(f"{kind}_20251031.csv", text.encode("cp932"))
    return path


def _run(app, path: Path, *extra: str):
    return app.test_cli_runner().invoke(args=["masters", "import-check-master", str(path), *extra])


@pytest.fixture
def drugs(session):
    load_shipped_subset(session)
    session.commit()


def test_a_published_zip_loads_and_prints_its_edition(app, session, drugs, tmp_path):
    result = _run(app, _edition(tmp_path))
    assert result.exit_code == 0, result.output
    assert "チェックマスタ 20251031 を読み込みました（併用禁忌 10組、傷病名禁忌 13件、適応・投与量 21件）" \
        in result.output
    assert current_version(session).version == "20251031"
    # Pairs kept in both directions once each, so that one drug's pairs are one index range.
    assert session.scalar(select(func.count()).select_from(CheckInteraction)) == 20
    assert session.get(CheckMasterDrug, "620003928").has_pairs  # クラリスロマイシン錠２００ｍｇ「ＥＭＥＣ」
    assert not session.get(CheckMasterDrug, "620003928").has_dose_rules


def test_deleted_rows_are_skipped_and_a_directory_loads_too(app, session, drugs, tmp_path):
    folder = tmp_path / "checkmaster_20260601"
    folder.mkdir()
    for file in FILES.values():
        shutil.copy(DEMO_EDITION / file, folder / file)
    tekio = (folder / FILES["IY_Tekio"]).read_bytes().decode("cp932").splitlines()
    fields = tekio[1].split(",")
    fields[22] = "9"  # 変更区分 9: 廃止
    tekio[1] = ",".join(fields)
    (folder / FILES["IY_Tekio"]).write_bytes("\r\n".join(tekio).encode("cp932"))
    result = _run(app, folder)
    assert result.exit_code == 0, result.output
    assert "チェックマスタ 20260601 を読み込みました" in result.output and "適応・投与量 20件" in result.output
    assert session.scalar(select(func.count()).select_from(CheckDoseRule)) == 20


def _header(texts):
    lines = texts["IY_HeiyoKinki"].split("\r\n")
    lines[0] = ",".join(lines[0].split(",")[:9])
    texts["IY_HeiyoKinki"] = "\r\n".join(lines)


def _columns(texts):
    lines = texts["IY_ShobyoKinki"].split("\r\n")
    lines[2] = lines[2] + ",余分"
    texts["IY_ShobyoKinki"] = "\r\n".join(lines)


def _unknown_drug(texts):
    lines = texts["IY_Tekio"].split("\r\n")
    lines[3] = "699999999" + lines[3][9:]
    texts["IY_Tekio"] = "\r\n".join(lines)


def _no_header(texts):
    texts["IY_Tekio"] = texts["IY_Tekio"].split("\r\n", 1)[1]


@pytest.mark.parametrize(("change", "said"), [
    (_header, "IY_HeiyoKinki_20251031.csv 1行目: 見出し行が医薬品併用禁忌（10項目）のものではありません"),
    (_columns, "IY_ShobyoKinki_20251031.csv 3行目: 項目数が9で、傷病名禁忌の8項目と違います"),
    (_unknown_drug, "IY_Tekio_20251031.csv 4行目: 医薬品コード「699999999」が医薬品マスターにありません"),
    (_no_header, "IY_Tekio_20251031.csv 1行目: 見出し行が医薬品適応・投与量（24項目）のものではありません"),
    (lambda texts: texts.pop("IY_ShobyoKinki"), "傷病名禁忌のファイル（IY_ShobyoKinki*.csv）がありません"),
])
def test_a_bad_edition_is_refused_whole_and_the_one_in_use_stays(app, session, drugs, tmp_path, change, said):
    load_demo_edition(session)
    session.commit()
    before = session.scalar(select(func.count()).select_from(CheckDoseRule))
    result = _run(app, _edition(tmp_path, change=change))
    assert result.exit_code == 1
    assert "チェックマスタを読み込めませんでした（何も変更していません。使用中の版のままです）" in result.output
    assert said in result.output
    session.expire_all()
    assert current_version(session).version == DEMO_VERSION
    assert session.scalar(select(func.count()).select_from(CheckDoseRule)) == before


def test_a_partial_zip_is_refused(app, session, drugs, tmp_path):
    whole = _edition(tmp_path).read_bytes()
    cut = tmp_path / "20251031_partial.zip"
    cut.write_bytes(whole[: len(whole) // 2])
    result = _run(app, cut)
    assert result.exit_code == 1 and "ZIPファイルとして読めません（途中までしかない可能性があります）" in result.output
    assert current_version(session) is None


def test_an_edition_without_a_date_in_its_name_needs_one(app, session, drugs, tmp_path):
    path = _edition(tmp_path, name="checkmaster.zip")
    result = _run(app, path)
    assert result.exit_code == 1 and "--version で指定してください" in result.output
    assert _run(app, path, "--version", "2025年10月版").exit_code == 0
    assert current_version(session).version == "2025年10月版"
