"""Imaging through real HTTP against a real Orthanc: study list, viewer, rendered images and thumbnails served by
Kamikarte (clinic- and patient-checked), the PACS settings (key images: test_key_images.py); and
bad input: unknown UIDs, another patient's study, broken DICOM, PACS down, wrong password, PACS not configured."""

from __future__ import annotations

import io
import json
from datetime import date

from PIL import Image
from sqlalchemy import select

from app.clinics.models import Clinic
from app.core.models import AccessLogEntry, AuditEntry
from app.imaging.synthetic import SeriesSpec
from app.integrations.pacs.client import DicomWebClient
from tests.factories import make_clinic, make_patient, make_user
from tests.imaging.pacs_data import broken_pixels, new_patient_id, upload_study
from tests.imaging.world import PacsDown, configure, frames_of, login


def test_study_list_newest_first_with_thumbnails_and_access_log(client, session, world):
    login(client, world.clerk)
    response = client.get(f"/patients/{world.patient.id}/images")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.index(world.ct_uid) < html.index(world.study_uid)  # newest first
    assert "CT・US" in html and "胸部CT" in html and "4枚（2シリーズ）" in html and "胸部単純" in html
    assert "他患者の検査" not in html and world.other_study_uid not in html
    thumb = client.get(f"/patients/{world.patient.id}/images/{world.ct_uid}/thumbnail")
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    assert Image.open(io.BytesIO(thumb.data)).size == (128, 128)
    logged = session.scalars(select(AccessLogEntry).where(AccessLogEntry.patient_id == world.patient.id)
                             .order_by(AccessLogEntry.id)).all()
    assert [e.resource for e in logged] == ["patient.images", f"patient.images.thumbnail:{world.ct_uid}"]
    assert {e.user_id for e in logged} == {world.clerk.id}


def test_patient_page_links_to_images(client, world):
    login(client, world.clerk)
    assert f"/patients/{world.patient.id}/images" in client.get(f"/patients/{world.patient.id}").get_data(as_text=True)


def test_viewer_shows_study_series_and_every_frame(client, session, world):
    login(client, world.doctor)
    response = client.get(f"/patients/{world.patient.id}/images/{world.ct_uid}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "胸部CT" in html and "単純 5mm" in html and "腹部" in html
    assert all(label in html for label in ("肺野", "縦隔", "骨", "腹部"))
    assert "5 mm" in html and "0.7 × 0.7 mm" in html and "64 × 64" in html and "（3フレーム）" in html
    frames = frames_of(html)
    assert len(frames) == 3 + 3 and [f["frame"] for f in frames[3:]] == [1, 2, 3]
    assert 'id="key-image-form"' in html
    image = client.get(frames[4]["url"])
    assert image.status_code == 200 and image.mimetype == "image/png"
    assert session.scalars(select(AccessLogEntry.resource).where(
        AccessLogEntry.patient_id == world.patient.id).order_by(AccessLogEntry.id)).all() == [
        f"patient.images.study:{world.ct_uid}", f"patient.images.image:{frames[4]['instance']}#2"]


def test_viewer_pages_through_images_without_javascript(client, world):
    login(client, world.clerk)
    frames = frames_of(client.get(f"/patients/{world.patient.id}/images/{world.ct_uid}").get_data(as_text=True))
    html = client.get(f"/patients/{world.patient.id}/images/{world.ct_uid}?i=3").get_data(as_text=True)
    assert f'src="{frames[2]["url"]}"' in html and "3 / 6" in html
    assert 'href="?i=2"' in html and 'href="?i=4"' in html
    for wrong in ("0", "99", "x"):
        assert client.get(f"/patients/{world.patient.id}/images/{world.ct_uid}?i={wrong}").status_code == 200


def test_rendered_image_is_what_the_pacs_renders_with_the_window(client, world, orthanc_server):
    login(client, world.clerk)
    frames = frames_of(client.get(f"/patients/{world.patient.id}/images/{world.ct_uid}").get_data(as_text=True))
    first = frames[0]
    pacs = DicomWebClient(orthanc_server.dicomweb_url, orthanc_server.username, orthanc_server.password)
    expected, _ = pacs.rendered(world.ct_uid, first["series"], first["instance"], window=(-600, 1500))
    ours = client.get(first["url"] + "?wc=-600&ww=1500")
    assert ours.status_code == 200 and ours.data == expected
    assert client.get(first["url"]).data != expected
    jpeg = client.get(first["url"] + "?format=jpeg")
    assert jpeg.mimetype == "image/jpeg"
    assert "no-store" in ours.headers["Cache-Control"]  # patient images stay out of browser caches


def test_another_patients_study_or_image_is_refused(client, world, orthanc_server):
    login(client, world.doctor)
    base = f"/patients/{world.patient.id}/images"
    assert client.get(f"{base}/{world.other_study_uid}").status_code == 404
    assert client.get(f"{base}/{world.other_study_uid}/thumbnail").status_code == 404
    pacs = DicomWebClient(orthanc_server.dicomweb_url, orthanc_server.username, orthanc_server.password)
    theirs = pacs.instances(world.other_study_uid)[0]
    # Another patient's image addressed through this patient's own study, and through the other study.
    for study in (world.study_uid, world.other_study_uid):
        response = client.get(f"{base}/{study}/series/{theirs.series_uid}/instances/{theirs.instance_uid}"
                              "/frames/1/rendered")
        assert response.status_code == 404
        assert "この患者の" in response.get_data(as_text=True)


def test_unknown_and_malformed_uids_and_frames(client, world):
    login(client, world.doctor)
    base = f"/patients/{world.patient.id}/images"
    assert client.get(f"{base}/1.2.3.4.5").status_code == 404
    assert client.get(f"{base}/not-a-uid").status_code == 404
    assert client.get(f"{base}/1.2.3.4.5/thumbnail").status_code == 404
    frames = frames_of(client.get(f"{base}/{world.ct_uid}").get_data(as_text=True))
    f = frames[0]
    prefix = f"{base}/{world.ct_uid}/series/{f['series']}/instances"
    assert client.get(f"{prefix}/1.2.3/frames/1/rendered").status_code == 404
    wrong_frame = client.get(f"{prefix}/{f['instance']}/frames/2/rendered")
    assert wrong_frame.status_code == 404 and "フレーム" in wrong_frame.get_data(as_text=True)
    bad_window = client.get(f"{prefix}/{f['instance']}/frames/1/rendered?wc=abc&ww=400")
    assert bad_window.status_code == 400 and "数値" in bad_window.get_data(as_text=True)


def test_broken_dicom_gives_a_clear_message(client, session, world, orthanc_server):
    pid = new_patient_id()
    patient = make_patient(session, world.clinic, orca_patient_id=pid)
    session.commit()
    broken_study, _ = _upload_broken(orthanc_server, pid)
    login(client, world.doctor)
    pacs = DicomWebClient(orthanc_server.dicomweb_url, orthanc_server.username, orthanc_server.password)
    image = pacs.instances(broken_study)[0]
    response = client.get(f"/patients/{patient.id}/images/{broken_study}/series/{image.series_uid}/instances/"
                          f"{image.instance_uid}/frames/1/rendered")
    assert response.status_code == 502
    assert "壊れている可能性" in response.get_data(as_text=True)
    page = client.get(f"/patients/{patient.id}/images")
    assert page.status_code == 200 and broken_study in page.get_data(as_text=True)


def _upload_broken(orthanc, patient_id: str) -> tuple[str, bytes]:
    from app.imaging.synthetic import make_study
    from tests.imaging.pacs_data import YAMADA

    study_uid, files = make_study(patient_id=patient_id, names=YAMADA, birth_date=None, sex="M",
                                  study_date=date(2023, 1, 1), description="破損", accession="BROKEN",
                                  series=[SeriesSpec("CR", "破損")])
    data = broken_pixels(files[0])
    orthanc.upload(data)
    return study_uid, data


def test_pacs_not_configured_is_said_plainly_and_the_chart_works(client, session, world):
    clinic = session.get(Clinic, world.clinic.id)
    clinic.integrations = {}
    session.commit()
    login(client, world.doctor)
    page = client.get(f"/patients/{world.patient.id}/images")
    assert page.status_code == 200 and "PACS（画像サーバー）が設定されていません" in page.get_data(as_text=True)
    viewer = client.get(f"/patients/{world.patient.id}/images/{world.ct_uid}")
    assert viewer.status_code == 503 and "設定されていません" in viewer.get_data(as_text=True)
    assert client.get(f"/patients/{world.patient.id}").status_code == 200
    assert client.get(f"/patients/{world.patient.id}/diagnoses").status_code == 200


def test_pacs_down_is_said_plainly(client, session, world):
    configure(session, session.get(Clinic, world.clinic.id), PacsDown())
    login(client, world.doctor)
    page = client.get(f"/patients/{world.patient.id}/images")
    assert page.status_code == 200 and "接続できません" in page.get_data(as_text=True)
    thumb = client.get(f"/patients/{world.patient.id}/images/{world.ct_uid}/thumbnail")
    assert thumb.status_code == 503 and "接続できません" in thumb.get_data(as_text=True)
    viewer = client.get(f"/patients/{world.patient.id}/images/{world.ct_uid}")
    assert viewer.status_code == 503 and "接続できません" in viewer.get_data(as_text=True)


def test_wrong_password_is_said_plainly(client, session, world, orthanc_server):
    configure(session, session.get(Clinic, world.clinic.id), orthanc_server, password="wrong")
    login(client, world.doctor)
    page = client.get(f"/patients/{world.patient.id}/images")
    assert page.status_code == 200 and "認証に失敗しました" in page.get_data(as_text=True)


def test_patient_id_mapping_with_prefix_and_kamikarte_id(client, session, world, orthanc_server):
    clinic = session.get(Clinic, world.clinic.id)
    patient = make_patient(session, clinic, orca_patient_id="77777")
    session.commit()
    prefix = new_patient_id()[:6]
    upload_study(orthanc_server, f"{prefix}{patient.id}", description="かみかるてIDの検査")
    upload_study(orthanc_server, f"{prefix}77777", description="ORCA番号の検査")
    login(client, world.doctor)
    configure(session, clinic, orthanc_server, id_source="kamikarte", id_prefix=prefix)
    html = client.get(f"/patients/{patient.id}/images").get_data(as_text=True)
    assert "かみかるてIDの検査" in html and "ORCA番号の検査" not in html
    configure(session, clinic, orthanc_server, id_source="orca", id_prefix=prefix)
    html = client.get(f"/patients/{patient.id}/images").get_data(as_text=True)
    assert "ORCA番号の検査" in html and "かみかるてIDの検査" not in html


def test_pacs_settings_saved_tested_and_audited_without_the_password(client, session, world, orthanc_server):
    login(client, world.admin)
    client.get("/clinic/pacs")
    response = client.post("/clinic/pacs", {"base_url": orthanc_server.dicomweb_url,
                                            "username": orthanc_server.username,
                                            "password": orthanc_server.password, "id_source": "kamikarte",
                                            "id_prefix": "K", "action": "test"})
    assert response.status_code == 200 and "PACSに接続できました" in response.get_data(as_text=True)
    clinic = session.get(Clinic, world.clinic.id)
    session.refresh(clinic)
    assert clinic.integrations["pacs"]["id_source"] == "kamikarte" and clinic.integrations["pacs"]["id_prefix"] == "K"
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "clinic.pacs_settings")).one()
    assert orthanc_server.password not in json.dumps(entry.summary, ensure_ascii=False)
    response = client.post("/clinic/pacs", {"base_url": orthanc_server.dicomweb_url, "username": "nobody",
                                            "password": "wrong", "id_source": "orca", "action": "test"})
    assert "認証に失敗しました" in response.get_data(as_text=True)
    response = client.post("/clinic/pacs", {"base_url": "http://pacs.example.jp/dicom-web", "id_source": "orca"})
    assert "https://" in response.get_data(as_text=True)


def test_pacs_settings_are_for_administrators(client, world):
    login(client, world.doctor)
    assert client.get("/clinic/pacs").status_code == 403


def test_nothing_confirmed_for_one_clinic_is_reused_by_another(client, session, world, orthanc_server):
    # Clinic A looks at its patient's study: the ownership of its images is confirmed and kept briefly.
    login(client, world.doctor)
    frames = frames_of(client.get(f"/patients/{world.patient.id}/images/{world.ct_uid}").get_data(as_text=True))
    # Clinic B has a patient with the same ORCA number, but its own PACS settings (a wrong password here).
    clinic_b = make_clinic(session)
    patient_b = make_patient(session, clinic_b, orca_patient_id=world.patient.orca_patient_id)
    doctor_b = make_user(session, clinic_b, role="doctor")
    configure(session, clinic_b, orthanc_server, password="clinic-b-wrong")
    login(client, doctor_b)
    f = frames[0]
    response = client.get(f"/patients/{patient_b.id}/images/{world.ct_uid}/series/{f['series']}/instances/"
                          f"{f['instance']}/frames/1/rendered")
    assert response.status_code == 502 and "認証に失敗" in response.get_data(as_text=True)


def test_import_a_patients_cd_under_our_patient_id(client, session, world, orthanc_server):
    from app.imaging.synthetic import make_study
    from tests.imaging.pacs_data import YAMADA

    foreign_id = "OTHER-HOSP-123"
    study_uid, files = make_study(patient_id=foreign_id, names=YAMADA, birth_date=None, sex="M",
                                  study_date=date(2026, 8, 8), description="他院 頭部MRI", accession="X1",
                                  series=[SeriesSpec("OT", "T2", images=2)])
    login(client, world.doctor)
    client.get(f"/patients/{world.patient.id}/images")
    response = client.post(f"/patients/{world.patient.id}/images/import", {
        "files": [(io.BytesIO(data), f"IM{i}.dcm") for i, data in enumerate(files)]},
        content_type="multipart/form-data")
    assert response.status_code == 302
    html = client.get(response.location).get_data(as_text=True)
    assert "1件の検査（2枚）を取り込みました" in html and "他院 頭部MRI" in html
    pacs = DicomWebClient(orthanc_server.dicomweb_url, orthanc_server.username, orthanc_server.password)
    assert pacs.studies(foreign_id) == []
    meta = pacs.metadata(study_uid)
    assert meta[0]["00101002"]["Value"][0]["00100020"]["Value"] == [foreign_id]  # OtherPatientIDsSequence
    assert session.scalars(select(AuditEntry.action).where(AuditEntry.patient_id == world.patient.id)).all() == [
        "imaging.import"]


def test_import_refuses_broken_dicom_and_stores_nothing_of_the_batch(client, session, world, orthanc_server):
    from app.imaging.synthetic import make_study
    from tests.imaging.pacs_data import YAMADA

    study_uid, files = make_study(patient_id="ELSEWHERE", names=YAMADA, birth_date=None, sex="M",
                                  study_date=date(2026, 8, 9), description="他院 胸部", accession="X2",
                                  series=[SeriesSpec("CR", "PA")])
    login(client, world.doctor)
    for name, data, reason in (("good.dcm", b"", "選んでください"),
                               ("notes.txt", b"this is not dicom", "DICOMファイルとして読めません"),
                               ("cut.dcm", files[0][:300], "")):
        client.get(f"/patients/{world.patient.id}/images")
        upload = [(io.BytesIO(files[0]), "good.dcm"), (io.BytesIO(data), name)] if data else []
        response = client.post(f"/patients/{world.patient.id}/images/import", {"files": upload},
                               content_type="multipart/form-data")
        html = client.get(response.location).get_data(as_text=True)
        assert "取り込めませんでした" in html and reason in html
    pacs = DicomWebClient(orthanc_server.dicomweb_url, orthanc_server.username, orthanc_server.password)
    assert pacs.studies(world.patient.orca_patient_id)[0].study_uid != study_uid
    assert all(s.study_uid != study_uid for s in pacs.studies(world.patient.orca_patient_id))
    assert session.scalars(select(AuditEntry).where(AuditEntry.action == "imaging.import")).all() == []
