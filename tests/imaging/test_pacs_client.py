"""The DICOMweb client against a real Orthanc: QIDO-RS by PatientID, WADO-RS metadata and rendered images with
windows and frames, STOW-RS of broken files, and clear Japanese errors (down, wrong password, unknown UID)."""

from __future__ import annotations

import io
from datetime import date

import pytest
from PIL import Image

from app.imaging.synthetic import SeriesSpec
from app.integrations.pacs.client import (
    DicomWebClient,
    PacsAuthError,
    PacsBadData,
    PacsNotFound,
    PacsUnavailable,
)
from app.integrations.pacs.orthanc_process import free_port
from tests.imaging.pacs_data import new_patient_id, upload_study


@pytest.fixture
def pacs(orthanc_server) -> DicomWebClient:
    return DicomWebClient(orthanc_server.dicomweb_url, orthanc_server.username, orthanc_server.password)


def test_studies_are_matched_by_patient_id_newest_first(orthanc_server, pacs):
    mine, other = new_patient_id(), new_patient_id()
    old, _ = upload_study(orthanc_server, mine, study_date=date(2025, 4, 1), description="胸部単純 旧")
    new, _ = upload_study(orthanc_server, mine, study_date=date(2026, 9, 1), description="胸部CT", series=[
        SeriesSpec("CT", "単純 5mm", images=3), SeriesSpec("CT", "骨条件", images=2)])
    upload_study(orthanc_server, other)
    studies = pacs.studies(mine)
    assert [s.study_uid for s in studies] == [new, old]
    assert studies[0].modalities == ("CT",) and studies[0].number_of_instances == 5
    assert studies[0].number_of_series == 2 and studies[0].description == "胸部CT"
    assert studies[0].patient_name == "山田 太郎"  # ISO 2022 IR 87 decoded
    assert pacs.studies(mine[:-2] + "*") == []  # a wildcard never widens the match


def test_a_patient_id_that_is_a_prefix_of_another_is_not_confused(orthanc_server, pacs):
    base = new_patient_id()
    upload_study(orthanc_server, base + "9")
    assert pacs.studies(base) == []


def test_series_instances_metadata_and_frames(orthanc_server, pacs):
    pid = new_patient_id()
    study_uid, _ = upload_study(orthanc_server, pid, series=[SeriesSpec("CT", "axial", images=2),
                                                             SeriesSpec("US", "腹部", frames=3)])
    series = pacs.series(study_uid)
    assert [s.modality for s in series] == ["CT", "US"]
    instances = pacs.instances(study_uid, patient_id=pid)
    assert len(instances) == 3 and sorted(i.frames for i in instances) == [1, 1, 3]
    assert pacs.instances(study_uid, patient_id=new_patient_id()) == []
    assert len(pacs.metadata(study_uid)) == 3
    us = next(i for i in instances if i.frames == 3)
    frames = [pacs.rendered(study_uid, us.series_uid, us.instance_uid, frame=n)[0] for n in (1, 2, 3)]
    assert len(set(frames)) == 3  # the frames differ
    with pytest.raises(PacsNotFound):
        pacs.rendered(study_uid, us.series_uid, us.instance_uid, frame=0)


def test_rendered_png_and_jpeg_with_window(orthanc_server, pacs):
    pid = new_patient_id()
    study_uid, _ = upload_study(orthanc_server, pid, series=[SeriesSpec("CT", "axial", size=64)])
    image = pacs.instances(study_uid)[0]
    png, media = pacs.rendered(study_uid, image.series_uid, image.instance_uid)
    assert media == "image/png" and Image.open(io.BytesIO(png)).size == (64, 64)
    jpeg, media = pacs.rendered(study_uid, image.series_uid, image.instance_uid, media_type="image/jpeg")
    assert media == "image/jpeg" and jpeg[:2] == b"\xff\xd8"
    lung, _ = pacs.rendered(study_uid, image.series_uid, image.instance_uid, window=(-600, 1500))
    bone, _ = pacs.rendered(study_uid, image.series_uid, image.instance_uid, window=(500, 2000))
    assert lung != bone
    small, _ = pacs.rendered(study_uid, image.series_uid, image.instance_uid, viewport=(32, 32))
    assert Image.open(io.BytesIO(small)).size == (32, 32)


def test_unknown_and_malformed_uids(orthanc_server, pacs):
    pid = new_patient_id()
    study_uid, _ = upload_study(orthanc_server, pid)
    image = pacs.instances(study_uid)[0]
    with pytest.raises(PacsNotFound, match="PACSにありません"):
        pacs.rendered(study_uid, image.series_uid, "1.2.3.4.5")
    with pytest.raises(PacsNotFound, match="UID"):
        pacs.rendered(study_uid, image.series_uid, "../../system")
    with pytest.raises(PacsNotFound, match="この患者の検査ではない"):
        pacs.study(new_patient_id(), study_uid)
    assert pacs.study(pid, study_uid).study_uid == study_uid


def test_broken_dicom_is_refused_with_a_reason(orthanc_server, pacs):
    _, files = upload_study(orthanc_server, new_patient_id())
    with pytest.raises(PacsBadData, match="DICOMファイルではありません"):
        pacs.store(b"not a dicom file at all")
    with pytest.raises(PacsBadData, match="受け付けませんでした"):
        pacs.store(files[0][:600])
    assert pacs.store(files[0])  # the intact file is accepted (same UID: stored again)


def test_wrong_password_is_a_clear_error(orthanc_server):
    client = DicomWebClient(orthanc_server.dicomweb_url, orthanc_server.username, "wrong-password")
    with pytest.raises(PacsAuthError, match="認証に失敗"):
        client.studies(new_patient_id())


def test_unreachable_pacs_is_a_clear_error():
    client = DicomWebClient(f"http://127.0.0.1:{free_port()}/dicom-web", "u", "p", timeout=1)
    with pytest.raises(PacsUnavailable, match="接続できません"):
        client.studies("P1")


def test_names_outside_jis_x0208_are_written_in_their_everyday_form(orthanc_server, pacs):
    from app.imaging.synthetic import PatientNames, jis_x0208

    assert jis_x0208("髙橋^美咲") == "高橋^美咲"
    with pytest.raises(ValueError, match="表せない文字"):
        jis_x0208("🙂")
    pid = new_patient_id()
    from app.imaging.synthetic import make_study

    _, files = make_study(patient_id=pid, names=PatientNames("Takahashi^Misaki", "髙橋^美咲", "たかはし^みさき"),
                          birth_date=None, sex="F", study_date=date(2026, 1, 1), description="胸部",
                          accession="A1", series=[SeriesSpec("CR", "PA")])
    orthanc_server.upload(files[0])
    assert pacs.studies(pid)[0].patient_name == "高橋 美咲"


def test_ct_phantom_in_hounsfield_units_answers_to_the_windows(orthanc_server, pacs):
    pid = new_patient_id()
    study_uid, _ = upload_study(orthanc_server, pid, series=[SeriesSpec("CT", "胸部", images=1, size=64,
                                                                        phantom=True)])
    image = pacs.instances(study_uid)[0]

    def grey(window, x, y) -> int:
        png, _ = pacs.rendered(study_uid, image.series_uid, image.instance_uid, window=window)
        return Image.open(io.BytesIO(png)).convert("L").getpixel((x, y))

    lung, soft = (14, 26), (32, 16)  # a point in the left lung field, one in the chest wall
    assert grey((40, 400), *lung) == 0 and grey((40, 400), *soft) > 100  # 縦隔: lungs black, tissue grey
    assert 40 < grey((-600, 1500), *lung) < 160 and grey((-600, 1500), *soft) > 200  # 肺野: lungs grey


def test_a_pacs_that_never_answers_times_out_with_a_clear_error():
    import socket

    with socket.socket() as silent:  # accepts the connection, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        client = DicomWebClient(f"http://127.0.0.1:{silent.getsockname()[1]}/dicom-web", "u", "p", timeout=0.5)
        with pytest.raises(PacsUnavailable, match="時間内に応答しません"):
            client.studies("P1")


def test_images_come_in_series_number_order(orthanc_server, pacs):
    pid = new_patient_id()
    specs = [SeriesSpec("CT", f"series {n}", images=2) for n in range(1, 5)]
    study_uid, _ = upload_study(orthanc_server, pid, series=specs)
    images = pacs.instances(study_uid)
    assert [(i.series_number, i.number) for i in images] == [(s, n) for s in range(1, 5) for n in (1, 2)]
    assert images[0].series_uid == specs[0].series_uid
