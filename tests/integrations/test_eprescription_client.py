"""The 電子処方箋管理サービス client against its simulator behind the 資格確認端末 simulator, over real HTTP: the
envelopes and code values, the refusals (EPSB0052E, missing records, bad Base64, signatures), the duplicate check,
de-duplicated registration, cancellation, state and 控え; and the three signers."""

from __future__ import annotations

import base64
import stat
import sys
from pathlib import Path

import pytest

from app.integrations.eprescription import messages as m
from app.integrations.eprescription.client import (
    EPrescriptionClient,
    EPrescriptionRejected,
    EPrescriptionUnavailable,
    PatientKey,
    prescription_document,
    prescription_info,
)
from app.integrations.eprescription.signing import (
    CommandSigner,
    RemoteSession,
    RemoteSigner,
    SigningError,
    TestSigner,
)
from app.integrations.national_gateway import RelayGateway
from app.printing.prescription import build_check_csv, build_service_csv
from tests.prescriptions.remote_fake import GOOD_CODE, start_remote_signer
from tests.printing.rx_factory import make_prescription_print

CLINIC = "1310123458"
PATIENT = PatientKey("06132013", "１２３４５", "６７８９", "01", "19580302", card_consent=True)


@pytest.fixture
def client(eprescription) -> EPrescriptionClient:
    gateway = RelayGateway(eprescription.base_url(CLINIC), eprescription.token(CLINIC))
    return EPrescriptionClient(gateway, CLINIC, timeout=3)


@pytest.fixture
def signer(tmp_path, eprescription) -> TestSigner:
    signer = TestSigner(tmp_path / "instance")
    eprescription.trust(signer.ca_pem)
    return signer


def _csv(**overrides) -> str:
    return build_service_csv(make_prescription_print(**overrides))


def test_request_envelope_and_reply_codes():
    request_xml = m.build_request(CLINIC, "abc", {"PrescriptionId": "x", "L": [{"A": "1"}, {"A": "2"}]})
    assert request_xml.startswith(b'<?xml version="1.0" encoding="UTF-8" standalone="no"?><XmlMsg><MessageHeader>'
                                  b"<MedicalInstitutionCode>1310123458</MedicalInstitutionCode>"
                                  b"<ArbitraryFileIdentifier>abc</ArbitraryFileIdentifier></MessageHeader>")
    # The real EPSB0052E reply (eprescription.md §1.5), verbatim.
    reply = m.parse_reply("""<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<XmlMsg><MessageHeader><CharacterCodeIdentifier>0</CharacterCodeIdentifier>
<SegmentOfResult>1</SegmentOfResult>
<ArbitraryFileIdentifier>3xxxx</ArbitraryFileIdentifier></MessageHeader>
<MessageBody>
<ProcessingResultStatus>2</ProcessingResultStatus>
<CsvCheckResultList><ResultMessage>改行コードはLFで記録してください。</ResultMessage>
<ResultCode>EPSB0052E</ResultCode>
</CsvCheckResultList>
</MessageBody>
</XmlMsg>""".encode())
    assert not reply.ok and reply.file_identifier == "3xxxx"
    assert reply.problems() == ["EPSB0052E 改行コードはLFで記録してください。"]
    with pytest.raises(m.MessageError):
        m.parse_reply(b'<!DOCTYPE x [<!ENTITY a "b">]><XmlMsg/>')
    # A value from outside (the service's prescription id) stays text: it cannot add elements.
    assert b"<PrescriptionId>1&lt;/PrescriptionId&gt;&amp;</PrescriptionId>" in m.build_request(
        CLINIC, "x", {"PrescriptionId": "1</PrescriptionId>&"})


def test_paper_registration_gets_a_six_digit_exchange_number_once(client, eprescription):
    info = prescription_info(_csv(), None)
    first = client.register("rx1a", info, m.ISSUE_PAPER)
    assert len(first.access_code) == 6 and first.access_code.isdigit() and len(first.prescription_id) == 36
    again = client.register("rx1a", info, m.ISSUE_PAPER)  # the same identifier: the same registration
    assert again == first and len(eprescription.prescriptions()) == 1
    other = client.register("rx1b", info, m.ISSUE_PAPER)
    assert other.prescription_id != first.prescription_id and len(eprescription.prescriptions()) == 2


def test_lost_reply_then_retry_with_the_same_identifier_ends_with_one_prescription(client, eprescription):
    eprescription.set_fault("lost_reply")
    client.timeout = 0.3
    info = prescription_info(_csv(), None)
    with pytest.raises(EPrescriptionUnavailable):
        client.register("rxlost", info, m.ISSUE_PAPER)
    assert len(eprescription.prescriptions()) == 1  # the service did the work
    done = client.register("rxlost", info, m.ISSUE_PAPER)
    assert list(eprescription.prescriptions()) == [done.prescription_id]


@pytest.mark.parametrize("csv, expected", [
    (lambda c: c.replace("\n", "\r\n"), "EPSB0052E 改行コードはLFで記録してください。"),
    (lambda c: c.replace("SJ1\n", "", 1), "SIMC0002E"),
    (lambda c: "\n".join(line for line in c.split("\n") if not line.startswith("5,")), "SIMC0003E 医師レコード（5）"),
])
def test_a_csv_the_service_refuses_is_reported_with_its_code(client, csv, expected):
    with pytest.raises(EPrescriptionRejected) as refused:
        client.register("bad1", prescription_info(csv(_csv()), None), m.ISSUE_PAPER)
    assert refused.value.problems[0].startswith(expected) and not refused.value.retryable


def test_bad_base64_is_refused(client):
    with pytest.raises(EPrescriptionRejected, match="SIMX0003E"):
        client.register("bad2", "***", m.ISSUE_PAPER)


def test_electronic_registration_needs_a_valid_signature(client, signer, eprescription, tmp_path):
    csv = _csv()
    with pytest.raises(EPrescriptionRejected, match="SIMV0001E"):
        client.register("e1", prescription_info(csv, None), m.ISSUE_ELECTRONIC)
    signed = signer.sign(prescription_document(csv))
    assert signed.count(b"<ds:Reference ") == 3 and b"xml-exc-c14n" in signed and b"SignedProperties" in signed
    tampered = signed.replace(base64.b64encode(csv.encode()), base64.b64encode(csv.replace("28", "29").encode()))
    with pytest.raises(EPrescriptionRejected, match="SIMV0003E") as refused:
        client.register("e2", m.b64(tampered), m.ISSUE_ELECTRONIC)
    assert "電子署名の検証に失敗しました" in refused.value.message_ja
    stranger = TestSigner(tmp_path / "other")  # a CA the service does not trust
    with pytest.raises(EPrescriptionRejected, match="SIMV0003E"):
        client.register("e3", prescription_info(csv, stranger), m.ISSUE_ELECTRONIC)
    registered = client.register("e4", prescription_info(csv, signer), m.ISSUE_ELECTRONIC)
    pdf = client.reference_pdf("e4r", registered.prescription_id)
    assert pdf.startswith(b"%PDF")


def test_duplicate_check_needs_preparation_and_shows_the_other_drug(client, eprescription):
    check_csv = _csv()
    check_only = build_check_csv(make_prescription_print().rps)
    with pytest.raises(EPrescriptionRejected, match="SIMP0002E"):
        client.check_duplicates("c0", PATIENT, check_only)
    client.prepare_check("p1", PATIENT)
    assert client.check_duplicates("c1", PATIENT, check_only) == (False, [])
    with pytest.raises(EPrescriptionRejected, match="SIMC0004E"):
        client.check_duplicates("c2", PATIENT, check_csv)  # the whole CSV: only 101/111/201 belong in the check
    eprescription.add_history(patient=["06132013", "１２３４５", "６７８９", "01"], date="20991231",
                              code="2171022F3ZZZ", name="アムロジピン錠２．５ｍｇ「他」", institution="よその医院",
                              pharmacy="よその薬局")
    found, hits = client.check_duplicates("c3", PATIENT, check_only)
    assert found and [(h.category, h.past_drug_name, h.past_date, h.past_institution, h.past_pharmacy) for h in hits] \
        == [("重複投薬", "アムロジピン錠２．５ｍｇ「他」", "20991231", "よその医院", "よその薬局")]
    no_consent = PatientKey(*[getattr(PATIENT, f) for f in ("insurer_number", "symbol", "number", "branch",
                                                            "birth_date")])
    client.prepare_check("p2", no_consent)
    _, hidden = client.check_duplicates("c4", no_consent, check_only)
    assert hidden[0].past_institution == "" and "同意がない" in hidden[0].message


def test_cancel_state_and_dispensing_result(client, eprescription):
    done = client.register("s1", prescription_info(_csv(), None), m.ISSUE_PAPER)
    status = client.status("s1q", done.prescription_id)
    assert (status.state, status.text) == ("未受付", "薬局にて受付されていません。")
    eprescription.pharmacy(done.access_code, "dispensed", name="神田薬局")
    status = client.status("s1r", done.prescription_id)
    assert (status.state, status.pharmacy_name) == ("調剤済", "神田薬局")
    assert [line.name for line in status.dispensed][0] == "【般】アムロジピン口腔内崩壊錠２．５ｍｇ"
    with pytest.raises(EPrescriptionRejected, match="SIMP0004E"):
        client.cancel("s1c", done.prescription_id)
    other = client.register("s2", prescription_info(_csv(), None), m.ISSUE_PAPER)
    client.cancel("s2c", other.prescription_id)
    assert client.status("s2q", other.prescription_id).state == "取消済"


def test_garbage_and_down_are_retryable(client, eprescription):
    eprescription.set_fault("garbage")
    with pytest.raises(EPrescriptionUnavailable):
        client.status("g1", "x")
    eprescription.set_fault("down")
    with pytest.raises(EPrescriptionUnavailable):
        client.status("g2", "x")


# --- signers ---------------------------------------------------------------------------------------------

def test_test_signer_is_made_once_and_kept_private(tmp_path):
    first = TestSigner(tmp_path)
    path = next(tmp_path.iterdir())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert TestSigner(tmp_path).ca_pem == first.ca_pem


def test_command_signer_runs_the_configured_module(tmp_path, signer, client):
    module = tmp_path / "sign-module.py"
    instance = str(tmp_path / "instance")
    module.write_text(f"import sys\nsys.path.insert(0, {str(Path.cwd())!r})\n"
                      "from app.integrations.eprescription.signing import TestSigner\n"
                      f"sys.stdout.buffer.write(TestSigner({instance!r}).sign(sys.stdin.buffer.read()))\n")
    command = CommandSigner([sys.executable, str(module)])
    client.register("cmd1", prescription_info(_csv(), command), m.ISSUE_ELECTRONIC)
    failing = tmp_path / "fail.py"
    failing.write_text("import sys\nsys.stderr.write('PIN incorrect')\nsys.exit(3)\n")
    with pytest.raises(SigningError, match="PIN incorrect"):
        CommandSigner([sys.executable, str(failing)]).sign(b"<a/>")
    with pytest.raises(SigningError, match="見つかりません"):
        CommandSigner([str(tmp_path / "nowhere")])


def test_remote_signer_authenticates_once_a_day(signer, client):
    running, counts = start_remote_signer(signer)
    try:
        session = RemoteSession()
        remote = RemoteSigner(running.url, session)
        with pytest.raises(SigningError, match="本日の認証がまだ"):
            remote.sign(b"<a/>")
        with pytest.raises(SigningError, match="認証"):
            remote.authenticate("doctor1", "000000")
        remote.authenticate("doctor1", GOOD_CODE)
        for number in range(2):
            client.register(f"rem{number}", prescription_info(_csv(), remote), m.ISSUE_ELECTRONIC)
        assert counts["auth"] == 2  # one failed, one good: the good one signs all day
    finally:
        running.stop()
