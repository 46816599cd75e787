"""Referral letters over real HTTP: 自動引用 from the record, draft → confirm, the PDF in the MHLW layout (text
checked with pdftotext, fonts embedded), the FHIR document download, sharing through the service via the outbox
with the recipient's read state, received letters, and the sandboxed printing."""

from __future__ import annotations

import html
import json
import re
import subprocess  # noqa: S404 -- fixed commands on files this test wrote

import pytest
from sqlalchemy import select

from app.documents.models import ReferralLetter
from app.outbox import worker as outbox
from app.prescriptions.drug_master import load_shipped_subset
from app.printing.html_pdf import RefusedURL, _environment, make_fetcher, render_pdf
from app.sharing.fhir.validation import validate_bundle
from tests.helpers import HTMLClient
from tests.printing.pdf_tools import _tool, pdf_text
from tests.sharing.records import CLINIC_A, MEMBER, arrange, connect

HOSPITAL = "1310000009"


def _text(pdf: bytes, tmp_path) -> str:
    return pdf_text(pdf, tmp_path)


def _write(client, patient, **fields):
    page = f"/patients/{patient.id}/letters/new"
    form = client.get(page).get_data(as_text=True)
    # What the browser sends back: the quoted text areas as shown, then what the doctor typed.
    quoted = {name: html.unescape(value) for name, value in
              re.findall(r'<textarea id="f-\w+" name="(\w+)"[^>]*>(.*?)</textarea>', form, re.S)}
    data = {**quoted, "to_institution": "みなと総合病院", "to_institution_code": HOSPITAL,
            "to_department": "循環器内科", "to_doctor": "港 一郎 先生", "purpose": "狭心症の精査をお願いします。",
            "course": "労作時の胸痛が2週間前から。",
            "remarks": "ご高診のほどよろしくお願いいたします。", **fields}
    return form, client.post(f"/patients/{patient.id}/letters", data, form_page=page)


@pytest.fixture
def desk(session, sharing):
    load_shipped_subset(session)
    return arrange(session, integrations=connect(sharing=sharing))


def test_write_confirm_print_and_download(client, session, desk, tmp_path):
    patient = desk["patient"]
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    form, created = _write(client, patient)
    # 自動引用: diagnoses, allergies with 禁忌, current medicines come from the record.
    assert "高血圧症（2020-04-01〜、継続）" in form and "ロキソニン錠６０ｍｇ：蕁麻疹" in form
    assert "【禁忌】ワルファリンカリウム：出血傾向" in form
    assert created.status_code == 302
    letter = session.scalars(select(ReferralLetter)).one()
    assert letter.status == "draft" and "高血圧症" in letter.diagnoses
    show = client.get(created.location).get_data(as_text=True)
    assert "下書き" in show and "確定する" in show
    confirm = client.post(f"{created.location}/confirm", {}, form_page=created.location)
    assert confirm.status_code == 302
    pdf = client.get(f"{created.location}/pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = _text(pdf.data, tmp_path)
    assert "診 療 情 報 提 供 書" in text  # the title, spaced as on the form
    assert re.search(r"山田\s+太郎", text) and "昭和33年3月2日" in text
    for expected in ("令和", "みなと総合病院", "港 一郎 先生", "高血圧症",
                     "狭心症の精査をお願いします。", "労作時の胸痛", "印", desk["clinic"].name, "医師 一郎"):
        assert expected in text, expected
    # The doctor typed the name with 先生: printed with that one honorific, never 「先生 殿」.
    assert text.count("先生") == 1 and "殿" not in text
    assert letter.to_doctor == "港 一郎" and letter.honorific == "先生"
    (tmp_path / "f.pdf").write_bytes(pdf.data)
    fonts = subprocess.run([_tool("pdffonts"), str(tmp_path / "f.pdf")], capture_output=True,  # noqa: S603
                           text=True, check=True).stdout.splitlines()[2:]
    assert fonts and any("IPAex" in line for line in fonts)
    assert all(line.split()[-5] == "yes" for line in fonts)  # every font embedded
    session.expire_all()
    assert session.get(ReferralLetter, letter.id).printed_at is not None
    download = client.get(f"{created.location}/fhir")
    assert download.mimetype == "application/fhir+json"
    bundle = json.loads(download.data)
    validate_bundle(bundle)
    composition = bundle["entry"][0]["resource"]
    assert bundle["type"] == "document" and composition["type"]["coding"][0]["code"] == "57133-1"
    assert bundle["identifier"]["value"] == f"{CLINIC_A}^{letter.written_on.year}^Referral-{letter.id}"
    titles = [s["title"] for s in composition["section"][2]["section"]]
    assert titles[:2] == ["紹介目的", "傷病名・主訴"]
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds.count("Condition") == 1 and kinds.count("AllergyIntolerance") == 3
    assert "送付済みにする" in client.get(created.location).get_data(as_text=True)


def test_share_then_the_recipient_reads_it(app, client, session, desk, sharing):
    import requests

    patient = desk["patient"]
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    _, created = _write(client, patient)
    client.post(f"{created.location}/confirm", {}, form_page=created.location)
    shared = client.post(f"{created.location}/share", {}, form_page=created.location)
    assert "共有を受け付けました" in client.get(shared.location).get_data(as_text=True)
    outbox.run_once(app.extensions["db_sessionmaker"], base_delay=0)
    session.expire_all()
    letter = session.scalars(select(ReferralLetter)).one()
    assert letter.share_status == "shared" and letter.document_id
    assert "先方既読" not in client.get(created.location).get_data(as_text=True)
    # The hospital lists and fetches it at the service (real HTTP, as the recipient); our page then shows it read.
    headers = {"Authorization": f"Bearer {sharing.token(HOSPITAL)}"}
    listed = requests.get(f"{sharing.base_url(HOSPITAL)}/Composition", params={"identifier": MEMBER},
                          headers=headers, timeout=5).json()
    assert [e["resource"]["id"] for e in listed["entry"]] == [letter.document_id]
    fetched = requests.get(f"{sharing.base_url(HOSPITAL)}/Bundle/{letter.document_id}", headers=headers, timeout=5)
    assert fetched.json()["entry"][0]["resource"]["title"] == "診療情報提供書"
    assert "先方既読" in client.get(created.location).get_data(as_text=True)


def test_a_letter_without_a_destination_or_purpose_is_refused_and_nothing_is_lost(client, session, desk):
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    _, response = _write(client, desk["patient"], to_institution="", purpose="", to_institution_code="12")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "紹介先医療機関を入力してください" in html
    assert "紹介目的を入力してください" in html and "10桁の数字" in html
    assert "労作時の胸痛が2週間前から。" in html  # what was typed is still there
    assert session.scalars(select(ReferralLetter)).all() == []


def test_received_letters_are_listed_and_readable(client, session, desk, sharing):
    from app.documents.fhir import referral_document

    other = type("Clinic", (), {"institution_code": HOSPITAL, "name": "みなと総合病院", "phone": "",
                                "address": "", "departments": [{"code": "01", "name": "内科"}]})()
    letter = ReferralLetter(id=999, author_id=1, author_name="港 一郎", to_institution="当院",
                            to_institution_code=CLINIC_A, to_department="", to_doctor="", purpose="退院後の経過観察",
                            diagnoses="狭心症", history="", course="経皮的冠動脈形成術後、経過良好。", medicines="",
                            lab_results="", allergies="", images="", remarks="",
                            written_on=desk["prescription"].issued_on)
    bundle = referral_document(letter, desk["patient"], other)
    sharing.seed_document(bundle, HOSPITAL, CLINIC_A)
    client.login(desk["nurse"].login_id, desk["nurse"].totp_secret)
    index = client.get(f"/patients/{desk['patient'].id}/letters").get_data(as_text=True)
    assert "他院から届いた文書" in index and "診療情報提供書" in index and "みなと総合病院" in index
    link = f"/patients/{desk['patient'].id}/letters/received/{bundle['identifier']['value']}"
    page = client.get(link).get_data(as_text=True)
    assert "退院後の経過観察" in page and "経皮的冠動脈形成術後、経過良好。" in page
    assert sharing.registered()["documents"][bundle["identifier"]["value"]]["read_at"] is not None


def test_roles(app, client, session, desk):
    client.login(desk["nurse"].login_id, desk["nurse"].totp_secret)
    assert client.get(f"/patients/{desk['patient'].id}/letters").status_code == 200
    assert client.get(f"/patients/{desk['patient'].id}/letters/new").status_code == 403
    clerk = HTMLClient(app.test_client())
    clerk.login(desk["clerk"].login_id, desk["clerk"].totp_secret)
    assert clerk.get(f"/patients/{desk['patient'].id}/letters").status_code == 403


def test_printing_is_sandboxed_and_fetches_nothing_from_outside(session, desk, tmp_path):
    from jinja2.exceptions import SecurityError

    fetcher = make_fetcher("referral_letter")
    for url in ("file:///etc/passwd", "http://example.org/x.png", "https://127.0.0.1/", "kamikarte-asset:../x"):
        with pytest.raises(RefusedURL):
            fetcher.fetch(url)
    assert fetcher.fetch("kamikarte-asset:ipaexm").status == 200
    with pytest.raises(SecurityError):
        _environment("referral_letter").from_string("{{ ''.__class__.__mro__[1].__subclasses__() }}").render()
    letter = ReferralLetter(id=1, author_id=1, author_name="医師 一郎", to_institution="<img src='file:///etc/passwd'>",
                            to_institution_code="", to_department="", to_doctor="", purpose="{{ 7*7 }}",
                            diagnoses="", history="", course="", medicines="", lab_results="", allergies="",
                            images="", remarks="", written_on=desk["prescription"].issued_on)
    from app.documents.printing import letter_context

    refused: list[str] = []
    pdf = render_pdf("referral_letter", letter_context(letter, desk["patient"], desk["clinic"]), refused)
    text = _text(pdf, tmp_path)
    assert "{{ 7*7 }}" in text and "<img src='file:///etc/passwd'>" in text and refused == []


def test_sharing_while_the_service_is_down_is_retried_and_a_refusal_is_explained(app, client, session, desk,
                                                                                 sharing):
    patient = desk["patient"]
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    _, created = _write(client, patient)
    client.post(f"{created.location}/confirm", {}, form_page=created.location)
    client.post(f"{created.location}/share", {}, form_page=created.location)
    sharing.set_fault("down")
    outbox.run_once(app.extensions["db_sessionmaker"], base_delay=0)
    session.expire_all()
    letter = session.scalars(select(ReferralLetter)).one()
    assert letter.share_status == "retrying" and "サービス停止中" in letter.share_error
    assert "再送待ち" in client.get(created.location).get_data(as_text=True)
    outbox.run_once(app.extensions["db_sessionmaker"], base_delay=0)
    session.expire_all()
    assert session.get(ReferralLetter, letter.id).share_status == "shared"
    # A patient the service cannot identify: refused, with the service's reason on the letter.
    patient.insurances = [{"insurer_number": "12", "symbol": "", "number": "3", "branch": "00"}]
    session.commit()
    _, second = _write(client, patient)
    client.post(f"{second.location}/confirm", {}, form_page=second.location)
    client.post(f"{second.location}/share", {}, form_page=second.location)
    outbox.run_once(app.extensions["db_sessionmaker"], base_delay=0)
    html = client.get(second.location).get_data(as_text=True)
    assert "共有拒否" in html and "被保険者番号がありません" in html


def _key_image(session, desk, patient=None, caption="右肺下葉の結節"):
    import io
    from datetime import UTC, date, datetime

    from PIL import Image

    from app.imaging.models import KeyImage
    from app.imaging.services import sha256_hex

    buffer = io.BytesIO()
    Image.new("L", (64, 64), 200).save(buffer, format="PNG")
    data = buffer.getvalue()
    owner = patient or desk["patient"]
    item = KeyImage(clinic_id=owner.clinic_id, patient_id=owner.id, study_uid="1.2.3", series_uid="1.2.3.1",
                    instance_uid="1.2.3.1.1", frame=1, caption=caption, image_bytes=data, media_type="image/png",
                    image_sha256=sha256_hex(data), study_date=date(2026, 11, 15), recorded_at=datetime.now(UTC))
    session.add(item)
    session.flush()
    item.lineage_id = item.id
    session.commit()
    return item


def test_a_key_image_is_chosen_shown_and_printed_from_its_stored_copy(client, session, desk, tmp_path):
    image = _key_image(session, desk)
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    form, created = _write(client, desk["patient"], key_image=str(image.id))
    # The form offers the patient's key images, ticked (自動引用), with their stored picture.
    assert f'name="key_image" value="{image.id}" checked' in form and "右肺下葉の結節" in form
    assert created.status_code == 302
    letter = session.scalars(select(ReferralLetter)).one()
    assert letter.key_image_ids == [image.id]
    page = client.get(created.location).get_data(as_text=True)
    assert f"/key-images/{image.id}/image" in page and "添付キー画像" in page
    pdf = client.get(f"{created.location}/pdf").data
    assert "2026-11-15 右肺下葉の結節" in _text(pdf, tmp_path)
    path = tmp_path / "letter.pdf"
    path.write_bytes(pdf)
    listed = subprocess.run([_tool("pdfimages"), "-list", str(path)], capture_output=True, text=True,  # noqa: S603
                            check=True).stdout
    assert re.search(r"\bimage\s+64\s+64\b", listed), listed


def test_another_patients_key_image_cannot_be_attached(client, session, desk):
    from tests.factories import make_patient

    other = make_patient(session, desk["clinic"], name="別人　花子")
    session.commit()
    foreign = _key_image(session, desk, patient=other, caption="別人の画像")
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    _, refused = _write(client, desk["patient"], key_image=str(foreign.id))
    assert refused.status_code == 422
    assert "この患者のキー画像ではない画像は添付できません" in refused.get_data(as_text=True)
    assert session.scalar(select(ReferralLetter.id)) is None


def test_the_fhir_document_carries_the_key_images_in_the_attachment_section(app, client, session, desk, sharing):
    """添付情報 (210): each attached key image as a DocumentReference with the stored bytes, contentType, caption,
    SHA-1 hash (R4 Attachment.hash); validated by the R4B models and our rules, and shared as it is."""
    import base64
    import hashlib

    from fhir.resources.R4B.bundle import Bundle

    image = _key_image(session, desk)
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    _, created = _write(client, desk["patient"], key_image=str(image.id))
    bundle = json.loads(client.get(f"{created.location}/fhir").data)
    validate_bundle(bundle)
    Bundle.model_validate(bundle)  # the whole document as one R4B model, as a receiver would parse it
    composition = bundle["entry"][0]["resource"]
    attached = [s for s in composition["section"] if s["code"]["coding"][0]["code"] == "210"]
    assert len(attached) == 1 and attached[0]["title"] == "添付情報"
    assert attached[0]["code"]["coding"][0] == {"system": "http://jpfhir.jp/fhir/clins/CodeSystem/document-section",
                                                "code": "210", "display": "添付情報セクション"}
    assert attached[0]["text"]["status"] == "additional" and "右肺下葉の結節" in attached[0]["text"]["div"]
    by_url = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
    [reference] = attached[0]["entry"]
    document = by_url[reference["reference"]]
    assert document["resourceType"] == "DocumentReference" and reference["type"] == "DocumentReference"
    assert document["meta"]["profile"] == ["http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_DocumentReference_eCS"]
    assert document["status"] == "current" and document["description"] == "右肺下葉の結節"
    assert document["subject"]["reference"] == composition["subject"]["reference"]
    content = document["content"][0]["attachment"]
    assert base64.b64decode(content["data"]) == image.image_bytes
    assert hashlib.sha256(base64.b64decode(content["data"])).hexdigest() == image.image_sha256
    assert content["contentType"] == "image/png" and content["title"] == "2026-11-15 右肺下葉の結節"
    assert content["hash"] == base64.b64encode(hashlib.sha1(image.image_bytes).digest()).decode()  # noqa: S324
    assert content["size"] == len(image.image_bytes) and content["creation"] == "2026-11-15"
    assert not any(e["resource"]["resourceType"] == "Binary" for e in bundle["entry"])  # not allowed since IG 1.2
    # Shared through the service, the recipient gets the same image.
    client.post(f"{created.location}/confirm", {}, form_page=created.location)
    client.post(f"{created.location}/share", {}, form_page=created.location)
    outbox.run_once(app.extensions["db_sessionmaker"], base_delay=0)
    session.expire_all()
    letter = session.scalars(select(ReferralLetter)).one()
    assert letter.share_status == "shared", letter.share_error
    import requests

    held = requests.get(f"{sharing.base_url(HOSPITAL)}/Bundle/{letter.document_id}", timeout=5,
                        headers={"Authorization": f"Bearer {sharing.token(HOSPITAL)}"}).json()
    shared = [e["resource"] for e in held["entry"] if e["resource"]["resourceType"] == "DocumentReference"]
    assert base64.b64decode(shared[0]["content"][0]["attachment"]["data"]) == image.image_bytes


def test_a_letter_without_key_images_has_no_attachment_section_and_a_damaged_attachment_is_refused(client, session,
                                                                                                  desk):
    import base64

    from app.sharing.fhir.validation import FhirValidationError

    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    _, created = _write(client, desk["patient"])
    bundle = json.loads(client.get(f"{created.location}/fhir").data)
    assert all(s["code"]["coding"][0]["code"] != "210" for s in bundle["entry"][0]["resource"]["section"])
    image = _key_image(session, desk)
    letter = session.scalars(select(ReferralLetter)).one()
    letter.key_image_ids = [image.id]
    session.commit()
    bundle = json.loads(client.get(f"{created.location}/fhir").data)
    document = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "DocumentReference")
    attachment = document["content"][0]["attachment"]
    attachment["data"] = base64.b64encode(base64.b64decode(attachment["data"]) + b"x").decode()
    with pytest.raises(FhirValidationError) as refused:
        validate_bundle(bundle)
    assert any("hash" in p for p in refused.value.problems) and any("size" in p for p in refused.value.problems)


def test_another_patients_document_is_not_fetched_nor_marked_read(client, session, desk, sharing):
    from app.documents.fhir import referral_document
    from tests.factories import make_patient

    other = type("Clinic", (), {"institution_code": HOSPITAL, "name": "みなと総合病院", "phone": "",
                                "address": "", "departments": [{"code": "01", "name": "内科"}]})()
    letter = ReferralLetter(id=998, author_id=1, author_name="港 一郎", to_institution="当院",
                            to_institution_code=CLINIC_A, to_department="", to_doctor="", purpose="経過観察",
                            diagnoses="狭心症", history="", course="", medicines="", lab_results="", allergies="",
                            images="", remarks="", written_on=desk["prescription"].issued_on)
    bundle = referral_document(letter, desk["patient"], other)
    sharing.seed_document(bundle, HOSPITAL, CLINIC_A)
    stranger = make_patient(session, desk["clinic"], name="佐藤　花子", kana="サトウ　ハナコ", orca_patient_id="00077",
                            insurances=[{**desk["patient"].insurances[0], "number": "7812399"}])
    session.commit()
    client.login(desk["nurse"].login_id, desk["nurse"].totp_secret)
    page = client.get(f"/patients/{stranger.id}/letters/received/{bundle['identifier']['value']}")
    assert page.status_code == 404  # answered like any record of another patient
    assert sharing.registered()["documents"][bundle["identifier"]["value"]]["read_at"] is None
