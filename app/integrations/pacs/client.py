"""DICOMweb client of a clinic's PACS: QIDO-RS (studies, series, instances), WADO-RS (metadata, rendered).

Plain `requests` with HTTP basic authentication and timeouts. Every failure becomes a PacsError with a
Japanese message for staff. Pitfalls handled here (docs/standards/pacs.md §3.5):
- query strings are built by hand: `requests` would encode a `*` wildcard to %2A, which Orthanc treats
  literally;
- 0008,0005 in DICOMweb JSON is ignored (the body is UTF-8 JSON whatever it says);
- with Orthanc's DefaultEncoding "Japanese", a multi-valued CS such as ModalitiesInStudy comes back joined by
  "¥" (the JIS X 0201 backslash) instead of "\\": both are split.
- DICOMweb frame numbers count from 1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import quote

import requests

from app.integrations.errors import IntegrationError

DICOM_JSON = "application/dicom+json"
UID_RE = re.compile(r"^[0-9]+(\.[0-9]+)*$")
MEDIA_TYPES = ("image/png", "image/jpeg")
MSG_TIMEOUT = "PACS（画像サーバー）が時間内に応答しません。しばらくしてからもう一度お試しください"
MSG_UNREACHABLE = "PACS（画像サーバー）に接続できません。PACSが起動しているか、接続設定を確認してください"
MSG_AUTH = "PACS（画像サーバー）の認証に失敗しました。ユーザー名とパスワードを確認してください"
MSG_RENDER = "この画像はPACSで表示用に変換できませんでした（DICOMファイルが壊れている可能性があります）"
MSG_STORE = "PACSがDICOMファイルを受け付けませんでした（ファイルが壊れているか、DICOMではありません）"


class PacsError(IntegrationError):
    """The PACS could not answer as asked; `message_ja` is for staff, `status` the HTTP status to answer with
    (502, a bad gateway, unless the kind of error says otherwise)."""

    status = 502


class PacsNotConfigured(PacsError):
    """The clinic has no PACS connection."""

    status = 503


class PacsUnavailable(PacsError):
    """Not reachable, timed out, or 5xx."""

    status = 503


class PacsAuthError(PacsError):
    """401/403: wrong user or password."""


class PacsNotFound(PacsError):
    """An unknown UID (or one that is not this patient's)."""

    status = 404


class PacsBadData(PacsError):
    """Broken DICOM: the PACS refused a file, or cannot render an image."""


def valid_uid(uid: str) -> bool:
    """Whether a string is a DICOM UID (digits and dots, at most 64 characters)."""
    return bool(uid) and len(uid) <= 64 and bool(UID_RE.match(uid))


def _value(item: dict[str, Any], tag: str, default: Any = None) -> Any:
    values = (item.get(tag) or {}).get("Value") or []
    return values[0] if values else default


def _values(item: dict[str, Any], tag: str) -> list[Any]:
    out: list[Any] = []
    for value in (item.get(tag) or {}).get("Value") or []:
        out.extend(v for v in re.split(r"[\\¥]", value) if v) if isinstance(value, str) else out.append(value)
    return out


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _date(value: Any) -> date | None:
    text = str(value or "")
    if re.fullmatch(r"[0-9]{8}", text):
        try:
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        except ValueError:
            return None
    return None


def _name(item: dict[str, Any], tag: str = "00100010") -> str:
    pn = _value(item, tag) or {}
    if isinstance(pn, dict):
        return (pn.get("Ideographic") or pn.get("Alphabetic") or "").replace("^", " ").strip()
    return str(pn).replace("^", " ")


@dataclass(frozen=True)
class Study:
    """One study as QIDO-RS lists it."""

    study_uid: str
    patient_id: str
    study_date: date | None
    study_time: str
    modalities: tuple[str, ...]
    description: str
    accession: str
    number_of_series: int
    number_of_instances: int
    patient_name: str

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> Study:
        """Read a QIDO-RS study result."""
        return cls(study_uid=_value(item, "0020000D", ""), patient_id=str(_value(item, "00100020", "")),
                   study_date=_date(_value(item, "00080020")), study_time=str(_value(item, "00080030", "")),
                   modalities=tuple(_values(item, "00080061")), description=str(_value(item, "00081030", "")),
                   accession=str(_value(item, "00080050", "")), number_of_series=_int(_value(item, "00201206")),
                   number_of_instances=_int(_value(item, "00201208")), patient_name=_name(item))


@dataclass(frozen=True)
class Series:
    """One series of a study."""

    series_uid: str
    modality: str
    number: int
    description: str
    number_of_instances: int
    body_part: str = ""

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> Series:
        """Read a QIDO-RS series result."""
        return cls(series_uid=_value(item, "0020000E", ""), modality=str(_value(item, "00080060", "")),
                   number=_int(_value(item, "00200011")), description=str(_value(item, "0008103E", "")),
                   number_of_instances=_int(_value(item, "00201209")), body_part=str(_value(item, "00180015", "")))


@dataclass(frozen=True)
class Instance:
    """One image (SOP instance) with its number of frames."""

    study_uid: str
    series_uid: str
    instance_uid: str
    number: int
    frames: int
    series_number: int = 0
    rows: int = 0
    columns: int = 0
    window_center: float | None = None
    window_width: float | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> Instance:
        """Read a QIDO-RS instance result or a WADO-RS metadata item."""
        def number(tag: str) -> float | None:
            value = _value(item, tag)
            try:
                return float(value) if value is not None else None
            except (TypeError, ValueError):
                return None

        return cls(study_uid=_value(item, "0020000D", ""), series_uid=_value(item, "0020000E", ""),
                   instance_uid=_value(item, "00080018", ""), number=_int(_value(item, "00200013")),
                   frames=max(1, _int(_value(item, "00280008"), 1)), series_number=_int(_value(item, "00200011")),
                   rows=_int(_value(item, "00280010")),
                   columns=_int(_value(item, "00280011")), window_center=number("00281050"),
                   window_width=number("00281051"))


class DicomWebClient:
    """One clinic's connection to its PACS's DICOMweb root (e.g. http://127.0.0.1:8042/dicom-web)."""

    def __init__(self, base_url: str, username: str = "", password: str = "", *, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth = (username, password) if username else None
        self.timeout = timeout
        self.http = requests.Session()

    def _get(self, path: str, *, accept: str = DICOM_JSON, not_found: str | None = None) -> requests.Response:
        try:
            response = self.http.get(f"{self.base_url}/{path}", auth=self.auth, timeout=self.timeout,
                                     headers={"Accept": accept})
        except requests.Timeout as exc:
            raise PacsUnavailable(MSG_TIMEOUT) from exc
        except requests.RequestException as exc:
            raise PacsUnavailable(MSG_UNREACHABLE) from exc
        if response.status_code in (401, 403):
            raise PacsAuthError(MSG_AUTH)
        if response.status_code == 404:
            raise PacsNotFound(not_found or "指定された画像がPACSにありません")
        if response.status_code >= 400 and "/rendered" in path:
            # Orthanc answers 400 ("Parameter out of range") or 500 when the pixel data is broken.
            raise PacsBadData(MSG_RENDER)
        if response.status_code >= 500:
            raise PacsUnavailable(f"PACS（画像サーバー）がエラーを返しました（HTTP {response.status_code}）")
        if response.status_code >= 400:
            raise PacsError(f"PACS（画像サーバー）が要求を受け付けませんでした（HTTP {response.status_code}）")
        return response

    def _json(self, path: str, **kwargs: Any) -> list[dict[str, Any]]:
        response = self._get(path, **kwargs)
        if not response.content:
            return []
        try:
            payload = response.json()
        except ValueError as exc:
            raise PacsError("PACS（画像サーバー）の応答を読めませんでした（DICOMwebの応答ではありません）") from exc
        if not isinstance(payload, list):
            raise PacsError("PACS（画像サーバー）の応答を読めませんでした（DICOMwebの応答ではありません）")
        return payload

    @staticmethod
    def _uid(uid: str) -> str:
        if not valid_uid(uid):
            raise PacsNotFound("画像の識別子（UID）が正しくありません")
        return uid

    def check(self) -> None:
        """Raise PacsError unless the PACS answers an authenticated QIDO-RS query."""
        self._json("studies?limit=1")

    def studies(self, patient_id: str) -> list[Study]:
        """QIDO-RS: the studies of one PatientID (exact match, never a name), newest first."""
        query = (f"PatientID={quote(patient_id, safe='')}&includefield=00081030&includefield=00080061"
                 "&includefield=00201206&includefield=00201208")
        studies = [Study.from_json(item) for item in self._json(f"studies?{query}")]
        # The PACS may treat a PatientID query loosely (wildcards, case): keep exact matches only.
        studies = [s for s in studies if s.patient_id == patient_id]
        return sorted(studies, key=lambda s: (s.study_date or date.min, s.study_time, s.study_uid), reverse=True)

    def study(self, patient_id: str, study_uid: str) -> Study:
        """QIDO-RS: one study, only if it belongs to this PatientID (else PacsNotFound)."""
        query = (f"StudyInstanceUID={self._uid(study_uid)}&PatientID={quote(patient_id, safe='')}"
                 "&includefield=00081030&includefield=00080061&includefield=00201206&includefield=00201208")
        found = [Study.from_json(i) for i in self._json(f"studies?{query}")]
        found = [s for s in found if s.patient_id == patient_id and s.study_uid == study_uid]
        if not found:
            raise PacsNotFound("この患者の検査ではないか、PACSにない検査です")
        return found[0]

    def series(self, study_uid: str) -> list[Series]:
        """QIDO-RS: the series of a study, by series number."""
        items = self._json(f"studies/{self._uid(study_uid)}/series?includefield=0008103E&includefield=00180015")
        return sorted((Series.from_json(i) for i in items), key=lambda s: (s.number, s.series_uid))

    def instances(self, study_uid: str, series_uid: str | None = None, *,
                  patient_id: str | None = None) -> list[Instance]:
        """QIDO-RS: the images of a study (or one series), by series number then instance number; with `patient_id`
        only those of that patient (the PACS filters on the study's PatientID)."""
        path = f"studies/{self._uid(study_uid)}"
        if series_uid:
            path += f"/series/{self._uid(series_uid)}"
        query = ("includefield=00280008&includefield=00280010&includefield=00280011&includefield=00200013"
                 "&includefield=00281050&includefield=00281051&includefield=00200011")
        if patient_id is not None:
            query += f"&PatientID={quote(patient_id, safe='')}"
        items = [Instance.from_json(i) for i in self._json(f"{path}/instances?{query}")]
        return sorted(items, key=lambda i: (i.series_number, i.series_uid, i.number, i.instance_uid))

    def metadata(self, study_uid: str, series_uid: str | None = None) -> list[dict[str, Any]]:
        """WADO-RS metadata (DICOM JSON, no bulk data) of a study or a series."""
        path = f"studies/{self._uid(study_uid)}"
        if series_uid:
            path += f"/series/{self._uid(series_uid)}"
        return self._json(f"{path}/metadata", not_found="この検査はPACSにありません")

    def rendered(self, study_uid: str, series_uid: str, instance_uid: str, *, frame: int | None = None,
                 window: tuple[float, float] | None = None, viewport: tuple[int, int] | None = None,
                 media_type: str = "image/png") -> tuple[bytes, str]:
        """WADO-RS rendered: one image (or frame, counted from 1) as PNG or JPEG; window = (center, width)
        is passed as the standard `window=center,width,linear` parameter, viewport as `viewport=w,h`."""
        if media_type not in MEDIA_TYPES:
            raise ValueError(media_type)
        path = (f"studies/{self._uid(study_uid)}/series/{self._uid(series_uid)}"
                f"/instances/{self._uid(instance_uid)}")
        if frame is not None:
            if frame < 1:
                raise PacsNotFound("フレーム番号は1から始まります")
            path += f"/frames/{frame}"
        params = []
        if window is not None:
            center, width = window
            params.append(f"window={center:g},{max(width, 1):g},linear")
        if viewport is not None:
            params.append(f"viewport={viewport[0]},{viewport[1]}")
        url = f"{path}/rendered" + ("?" + "&".join(params) if params else "")
        response = self._get(url, accept=media_type, not_found="指定された画像がPACSにありません")
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        if not response.content or not content_type.startswith("image/"):
            raise PacsBadData("PACSから画像を受け取れませんでした（DICOMファイルが壊れている可能性があります）")
        return response.content, content_type

    def store(self, dicom: bytes) -> str:
        """STOW-RS: store one DICOM Part 10 file; its SOPInstanceUID. Broken files raise PacsBadData."""
        if len(dicom) < 132 or dicom[128:132] != b"DICM":
            raise PacsBadData("DICOMファイルではありません（ファイルの先頭に DICM の印がありません）")
        boundary = "kamikarte-stow-boundary"
        body = (f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode() + dicom
                + f"\r\n--{boundary}--\r\n".encode())
        headers = {"Accept": DICOM_JSON,
                   "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}'}
        try:
            response = self.http.post(f"{self.base_url}/studies", data=body, auth=self.auth, timeout=self.timeout,
                                      headers=headers)
        except requests.RequestException as exc:
            raise PacsUnavailable(MSG_UNREACHABLE) from exc
        if response.status_code in (401, 403):
            raise PacsAuthError(MSG_AUTH)
        try:
            payload = response.json() if response.content else {}
        except ValueError:
            payload = {}
        stored = ((payload.get("00081199") or {}).get("Value") or []) if isinstance(payload, dict) else []
        if response.status_code >= 400 or not stored:
            raise PacsBadData(MSG_STORE)
        return str(_value(stored[0], "00081155", ""))
