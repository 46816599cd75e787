"""The doctor's signature on an electronic prescription: XAdES-BES, enveloped, exc-c14n, SHA-256, with three
references — the prescription data, the signer's certificate (KeyInfo) and the SignedProperties
(docs/standards/eprescription.md §2.3). Made by one of three signers behind one interface:

- `CommandSigner`: a local signing module run as an outside command (an HPKI card through PKCS#11, a
  署名共通モジュール): the unsigned XML on its stdin, the signed XML on its stdout; configured by path.
- `RemoteSigner`: the HPKIセカンド電子証明書 remote signing service over HTTPS; the doctor authenticates once a day
  (`authenticate`), the day's token then signs without asking again.
- `TestSigner`: a test CA and a doctor's certificate made by the project at first use in a folder of the instance
  (never committed); for the demo and the tests. Its CA certificate is what a test service must trust.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import tempfile
from base64 import b64encode
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import DigestAlgorithm, SignatureMethod, methods
from signxml.algorithms import CanonicalizationMethod
from signxml.util import ds_tag
from signxml.xades import XAdESSigner

EXC_C14N = CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0
TEST_SIGNER_FILE = "eprescription-test-signer.pem"
JST = dt.timezone(dt.timedelta(hours=9))


class SigningError(Exception):
    """The prescription could not be signed; `message_ja` is for the doctor."""

    def __init__(self, message_ja: str) -> None:
        super().__init__(message_ja)
        self.message_ja = message_ja


class Signer(Protocol):
    """What issuing needs of a signer."""

    def sign(self, document: bytes) -> bytes:
        """The document with the doctor's enveloped XAdES signature."""


class _XAdESExcC14n(XAdESSigner):
    """signxml's XAdES signer, with the canonicalisation named in the SignedProperties and certificate references
    too: without a Transform a verifier digests those with inclusive c14n, and exc-c14n would not verify."""

    def _add_reference_to_signed_info(self, sig_root, node_to_reference, **attrs):
        signed_info = self._find(sig_root, "SignedInfo")
        reference = etree.SubElement(signed_info, ds_tag("Reference"), nsmap=self.namespaces)
        reference.set("URI", f"#{node_to_reference.get('Id')}")
        for name, value in attrs.items():
            reference.set(name, value)
        transforms = etree.SubElement(reference, ds_tag("Transforms"), nsmap=self.namespaces)
        etree.SubElement(transforms, ds_tag("Transform"), nsmap=self.namespaces, Algorithm=self.c14n_alg.value)
        etree.SubElement(reference, ds_tag("DigestMethod"), nsmap=self.namespaces, Algorithm=self.digest_alg.value)
        digest = self._get_digest(self._c14n(node_to_reference, algorithm=self.c14n_alg), algorithm=self.digest_alg)
        etree.SubElement(reference, ds_tag("DigestValue"), nsmap=self.namespaces).text = b64encode(digest).decode()


def xades_sign(document: bytes, key: rsa.RSAPrivateKey, chain: list[x509.Certificate]) -> bytes:
    """Sign `document` (XML bytes) with `key`, the signer's certificate first in `chain`."""
    try:
        root = etree.fromstring(document)
    except etree.XMLSyntaxError as exc:
        raise SigningError("署名する処方箋XMLが読めません") from exc
    signer = _XAdESExcC14n(method=methods.enveloped, signature_algorithm=SignatureMethod.RSA_SHA256,
                           digest_algorithm=DigestAlgorithm.SHA256, c14n_algorithm=EXC_C14N)
    signed = signer.sign(root, key=key, cert=chain, always_add_key_value=False)
    return etree.tostring(signed, xml_declaration=True, encoding="UTF-8")


# --- the test signer --------------------------------------------------------------------------------------

def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Kamikarte test (not HPKI)"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key_usage(*, signer: bool) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=signer, content_commitment=signer, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=not signer, crl_sign=not signer,
                         encipher_only=False, decipher_only=False)


def make_test_credentials(doctor: str = "テスト医師") -> bytes:
    """A new test CA and a doctor's key and certificate it issued, as one PEM: CA certificate, doctor certificate,
    doctor key. For tests and the demo only — the service trusts HPKI, never this CA."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("Kamikarte test CA")
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
          .not_valid_after(now + dt.timedelta(days=3650))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(_key_usage(signer=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (x509.CertificateBuilder().subject_name(_name(doctor)).issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=825))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(signer=True), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    return (ca.public_bytes(pem) + cert.public_bytes(pem) + key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


class TestSigner:
    """Signs with the project's test CA, made at first use in `folder` (written whole, then renamed, so two
    processes starting together never see half a file)."""

    __test__ = False  # not a pytest class

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        path = Path(folder) / TEST_SIGNER_FILE
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".", suffix=".part", delete=False) as part:
                part.write(make_test_credentials())
            os.chmod(part.name, 0o600)
            os.replace(part.name, path)
        data = path.read_bytes()
        self.ca, self.certificate = x509.load_pem_x509_certificates(data)[:2]
        self.key = serialization.load_pem_private_key(data, password=None)

    @property
    def ca_pem(self) -> bytes:
        """The test CA's certificate (what a test service trusts)."""
        return self.ca.public_bytes(serialization.Encoding.PEM)

    def sign(self, document: bytes) -> bytes:
        """Sign with the test doctor's key."""
        return xades_sign(document, self.key, [self.certificate])


# --- a local signing module -------------------------------------------------------------------------------

class CommandSigner:
    """An outside command that signs (PKCS#11 with the HPKI card, or a 署名共通モジュール's command form): unsigned
    XML on stdin, signed XML on stdout, exit 0; anything else is refused with what it wrote on stderr."""

    def __init__(self, command: list[str], *, timeout: float = 60.0) -> None:
        if not command or not Path(command[0]).is_file():
            raise SigningError("署名モジュールのコマンドが見つかりません。接続設定を確認してください")
        self.command = command
        self.timeout = timeout

    def sign(self, document: bytes) -> bytes:
        """Run the command once."""
        try:
            # S603: the command is the module the administrator configured, never text from a request.
            done = subprocess.run(self.command, input=document, capture_output=True,  # noqa: S603
                                  timeout=self.timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise SigningError(f"署名モジュールが{self.timeout:.0f}秒以内に応答しません（HPKIカードを確認してください）"
                               ) from exc
        except OSError as exc:
            raise SigningError(f"署名モジュールを実行できません（{exc.strerror}）") from exc
        if done.returncode != 0:
            detail = done.stderr.decode("utf-8", "replace").strip()[:200] or f"終了コード {done.returncode}"
            raise SigningError(f"署名モジュールが署名しませんでした: {detail}")
        if b"Signature" not in done.stdout:
            raise SigningError("署名モジュールの出力に署名がありません")
        return done.stdout


# --- HPKIセカンド電子証明書 (remote) ------------------------------------------------------------------------

@dataclass
class RemoteSession:
    """The day's authentication: its token and the Japan date it is good for."""

    token: str = ""
    day: dt.date | None = None

    def valid_on(self, day: dt.date) -> bool:
        """Whether the token is the one of `day`."""
        return bool(self.token) and self.day == day


class RemoteSigner:
    """The remote signing service: `POST {base}/auth` once a day (the doctor's ID and one-time code) gives the
    day's token; `POST {base}/sign` with it returns the signed XML."""

    def __init__(self, base_url: str, session: RemoteSession, *, timeout: float = 15.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session
        self.timeout = timeout

    def _post(self, path: str, **kwargs) -> requests.Response:
        try:
            response = requests.post(f"{self.base_url}/{path}", timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise SigningError(f"リモート署名サービスに接続できません（{type(exc).__name__}）") from exc
        if response.status_code in (401, 403):
            self.session.token = ""
            raise SigningError("リモート署名の認証が切れています。本日の認証をやり直してください")
        if response.status_code >= 400:
            raise SigningError(f"リモート署名サービスが署名しませんでした（HTTP {response.status_code}）")
        return response

    def authenticate(self, user_id: str, one_time_code: str, today: dt.date | None = None) -> None:
        """The doctor's authentication of the day."""
        response = self._post("auth", json={"user_id": user_id, "code": one_time_code})
        token = (response.json() or {}).get("token") if response.content else None
        if not token:
            raise SigningError("リモート署名サービスの応答にトークンがありません")
        self.session.token = str(token)
        self.session.day = today or dt.datetime.now(JST).date()

    def sign(self, document: bytes) -> bytes:
        """Sign with the day's token; refused when the doctor has not authenticated today."""
        if not self.session.valid_on(dt.datetime.now(JST).date()):
            raise SigningError("リモート署名の本日の認証がまだです。HPKIセカンド電子証明書で認証してください")
        response = self._post("sign", data=document, headers={"Authorization": f"Bearer {self.session.token}",
                                                               "Content-Type": "application/xml"})
        return response.content
