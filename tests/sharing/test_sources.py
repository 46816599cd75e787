"""The labs' results and the imaging key images as the 6 information and referral letters take them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from app.core.timeutil import japan_today
from app.imaging.models import KeyImage
from app.imaging.services import sha256_hex
from app.labs.models import LabResult
from app.sharing import records, sources
from tests.factories import make_lab_source
from tests.sharing.records import arrange

PNG = b"\x89PNG\r\n\x1a\nkey-image"


def _result(desk, lab_code, jlac10, name, value, days_ago, **extra):
    return LabResult(**desk["lab_source"], lab_code=lab_code, jlac10=jlac10,
                     name=name, value=str(value), numeric_value=float(value), unit="U/L",
                     collected_on=japan_today() - timedelta(days=days_ago), version=1,
                     recorded_at=datetime.now(UTC), **extra)


def test_lab_results_current_coded_and_recent_only(session):
    desk = arrange(session)
    desk["lab_source"] = make_lab_source(session, desk["clinic"], desk["patient"])
    rows = [_result(desk, "K0111", "3B035000002327201", "AST(GOT)", 25, 10),
            _result(desk, "K0111", "3B035000002327201", "AST(GOT)", 99, 40, superseded_at=datetime.now(UTC)),
            _result(desk, "K9999", "", "院内コードのみ", 1, 10),
            _result(desk, "K0111", "3B035000002327201", "AST(GOT)", 30, 500)]
    session.add_all(rows)
    session.flush()
    for row in rows:
        row.lineage_id = row.id
    session.commit()
    [result] = sources.lab_results_for(session, desk["clinic"].id, desk["patient"].id)
    assert (result.local_code, result.jlac10, result.value) == ("K0111", "3B035000002327201", 25.0)
    # It becomes a valid JP-CLINS lab Observation in the patient's bundle.
    bundle = records.patient_bundle(session, desk["clinic"], desk["patient"])
    observations = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"]
    assert any(c["code"] == "3B035000002327201" for o in observations for c in o["code"].get("coding", []))


def test_key_images_come_from_the_stored_copy_and_a_damaged_one_is_left_out(session):
    desk = arrange(session)
    good = KeyImage(clinic_id=desk["clinic"].id, patient_id=desk["patient"].id, study_uid="1.2.3", series_uid="1.2.3.1",
                    instance_uid="1.2.3.1.1", frame=1, caption="右肺下葉の結節", image_bytes=PNG,
                    image_sha256=sha256_hex(PNG), study_date=date(2026, 11, 15), recorded_at=datetime.now(UTC))
    damaged = KeyImage(clinic_id=desk["clinic"].id, patient_id=desk["patient"].id, study_uid="1.2.4",
                       series_uid="1.2.4.1", instance_uid="1.2.4.1.1", frame=1, caption="壊れた画像",
                       image_bytes=PNG + b"x", image_sha256=sha256_hex(PNG), recorded_at=datetime.now(UTC))
    session.add_all([good, damaged])
    session.flush()
    good.lineage_id, damaged.lineage_id = good.id, damaged.id
    session.commit()
    [image] = sources.key_images_for(session, desk["clinic"].id, desk["patient"].id)
    assert (image.title, image.study_date, image.image_bytes) == ("右肺下葉の結節", "2026-11-15", PNG)


def test_a_letter_quotes_the_latest_value_of_each_test(session):
    from app.documents.services import quoted_from_record

    desk = arrange(session)
    desk["lab_source"] = make_lab_source(session, desk["clinic"], desk["patient"])
    rows = [_result(desk, "K0111", "3B035000002327201", "AST(GOT)", 25 + month, 30 * month) for month in range(12)]
    rows.append(_result(desk, "K0112", "3B045000002327201", "ALT(GPT)", 18, 30))
    session.add_all(rows)
    session.flush()
    for row in rows:
        row.lineage_id = row.id
    session.commit()
    quoted = quoted_from_record(session, desk["clinic"].id, desk["patient"].id)["lab_results"].splitlines()
    assert len(quoted) == 2 and quoted[0].endswith("AST(GOT) 25 U/L") and "ALT(GPT) 18 U/L" in quoted[1]
