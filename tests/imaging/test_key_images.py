"""Key images through real HTTP against a real Orthanc: kept with the rendered bytes and their SHA-256, readable
when the PACS is gone, versions for corrections and withdrawals, refused for another patient's image, clerks may
look but not keep, copies by id for referral letters."""

from __future__ import annotations

import hashlib
import io
from datetime import date

from PIL import Image
from sqlalchemy import select

from app.clinics.models import Clinic
from app.core.models import AuditEntry
from app.imaging import services
from app.imaging.models import KeyImage
from app.integrations.pacs.client import DicomWebClient
from tests.factories import make_clinic
from tests.imaging.world import PacsDown, add_key_image, configure, login


def test_key_image_keeps_the_rendered_bytes_and_their_sha256(client, session, world, orthanc_server):
    login(client, world.doctor)
    f, response = add_key_image(client, world, frame_index=0, window=("-600", "1500"))
    assert response.status_code == 302 and response.location.endswith("#key-images")
    item = session.scalars(select(KeyImage).where(KeyImage.patient_id == world.patient.id)).one()
    pacs = DicomWebClient(orthanc_server.dicomweb_url, orthanc_server.username, orthanc_server.password)
    expected, _ = pacs.rendered(world.ct_uid, f["series"], f["instance"], window=(-600, 1500))
    assert item.image_bytes == expected and item.image_sha256 == hashlib.sha256(expected).hexdigest()
    assert (item.study_uid, item.series_uid, item.instance_uid, item.frame) == (world.ct_uid, f["series"],
                                                                                f["instance"], 1)
    assert item.study_date == date(2026, 10, 1) and item.modality == "CT" and item.window_width == 1500
    page = client.get(f"/patients/{world.patient.id}/images").get_data(as_text=True)
    assert "右下肺野に浸潤影" in page
    stored = client.get(f"/patients/{world.patient.id}/key-images/{item.id}/image")
    assert stored.data == expected and stored.headers["X-Content-SHA256"] == item.image_sha256
    audit = session.scalars(select(AuditEntry.action).where(AuditEntry.patient_id == world.patient.id)).all()
    assert audit == ["key_image.create"]


def test_key_image_of_a_frame_and_the_api_for_letters(client, session, world):
    login(client, world.doctor)
    add_key_image(client, world, caption="腹部エコー 2フレーム目", frame_index=4)
    copies = services.key_images_for_patient(session, world.clinic.id, world.patient.id)
    assert len(copies) == 1
    copy = copies[0]
    assert copy.caption == "腹部エコー 2フレーム目" and copy.frame == 2 and copy.modality == "US"
    assert copy.taken_on == date(2026, 10, 1) and copy.is_intact
    assert copy.sha256 == hashlib.sha256(copy.image_bytes).hexdigest()
    assert Image.open(io.BytesIO(copy.image_bytes)).format == "PNG"
    other_clinic = make_clinic(session)
    assert services.key_images_for_patient(session, other_clinic.id, world.patient.id) == []


def test_key_image_stays_readable_when_the_pacs_is_gone(client, session, world):
    login(client, world.doctor)
    add_key_image(client, world)
    item = session.scalars(select(KeyImage)).one()
    configure(session, session.get(Clinic, world.clinic.id), PacsDown())
    stored = client.get(f"/patients/{world.patient.id}/key-images/{item.id}/image")
    assert stored.status_code == 200 and hashlib.sha256(stored.data).hexdigest() == item.image_sha256


def test_key_image_of_another_patients_image_is_refused_and_nothing_is_stored(client, session, world, orthanc_server):
    login(client, world.doctor)
    pacs = DicomWebClient(orthanc_server.dicomweb_url, orthanc_server.username, orthanc_server.password)
    theirs = pacs.instances(world.other_study_uid)[0]
    client.get(f"/patients/{world.patient.id}/images/{world.ct_uid}")
    for study in (world.ct_uid, world.other_study_uid):
        response = client.post(f"/patients/{world.patient.id}/images/{study}/key-images", {
            "series_uid": theirs.series_uid, "instance_uid": theirs.instance_uid, "frame": "1", "caption": "x"})
        assert response.status_code == 302
    assert session.scalars(select(KeyImage)).all() == []
    html = client.get(f"/patients/{world.patient.id}/images/{world.ct_uid}").get_data(as_text=True)
    assert "キー画像を保存できませんでした" in html


def test_key_image_needs_a_caption_and_valid_numbers(client, session, world):
    login(client, world.doctor)
    _, response = add_key_image(client, world, caption="  ")
    assert response.status_code == 302
    assert "説明（キャプション）を入力してください" in client.get(response.location).get_data(as_text=True)
    _, response = add_key_image(client, world, window=("x", "y"))
    assert "数値" in client.get(response.location).get_data(as_text=True)
    assert session.scalars(select(KeyImage)).all() == []


def test_key_image_caption_correction_and_withdrawal_are_versions(client, session, world):
    login(client, world.doctor)
    add_key_image(client, world, caption="初回")
    first = session.scalars(select(KeyImage)).one()
    client.get(f"/patients/{world.patient.id}/images")
    response = client.post(f"/patients/{world.patient.id}/key-images/{first.id}/caption",
                           {"caption": "修正後", "change_reason": "部位の記載誤り"})
    assert response.status_code == 302
    current = services.current_key_images(session, world.clinic.id, world.patient.id)
    assert [k.caption for k in current] == ["修正後"] and current[0].version == 2
    assert current[0].image_sha256 == first.image_sha256
    history = client.get(f"/patients/{world.patient.id}/key-images/{current[0].id}/history").get_data(as_text=True)
    assert "初回" in history and "部位の記載誤り" in history
    client.get(f"/patients/{world.patient.id}/images")
    assert client.post(f"/patients/{world.patient.id}/key-images/{first.id}/retract",
                       {"reason": "x"}).status_code == 404  # a superseded version cannot be withdrawn
    client.get(f"/patients/{world.patient.id}/images")
    client.post(f"/patients/{world.patient.id}/key-images/{current[0].id}/retract", {"reason": "別患者の画像"})
    assert services.current_key_images(session, world.clinic.id, world.patient.id) == []
    assert len(session.scalars(select(KeyImage)).all()) == 3


def test_clerk_may_look_but_not_keep_key_images(client, session, world):
    login(client, world.clerk)
    html = client.get(f"/patients/{world.patient.id}/images/{world.ct_uid}").get_data(as_text=True)
    assert 'id="key-image-form"' not in html
    response = client.post(f"/patients/{world.patient.id}/images/{world.ct_uid}/key-images", {"caption": "x"})
    assert response.status_code == 403


def test_key_image_copy_by_id_for_a_letter(client, session, world):
    login(client, world.doctor)
    add_key_image(client, world)
    item = session.scalars(select(KeyImage)).one()
    copy = services.key_image_copy(session, world.clinic.id, world.patient.id, item.id)
    assert copy is not None and copy.image_bytes == item.image_bytes
    assert services.key_image_copy(session, world.clinic.id, world.other_patient.id, item.id) is None
    assert services.key_image_copy(session, make_clinic(session).id, world.patient.id, item.id) is None

