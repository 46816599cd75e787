"""Orthanc's own REST API, for backing up and restoring a PACS's images: every stored DICOM file out
(GET /instances, GET /instances/{id}/file) and back in (POST /instances, which Orthanc indexes again).

Chosen over copying Orthanc's storage directory and index: it works whatever index Orthanc keeps (its SQLite file,
or PostgreSQL through the index plugin, whose tables a file copy would miss), needs no stop of Orthanc, and gives
whole DICOM files that Orthanc re-indexes on import — a storage copy is only consistent with its index when both are
taken together while Orthanc is stopped. Storing an instance Orthanc already has is harmless ("AlreadyStored").
"""

from __future__ import annotations

from collections.abc import Iterator

import requests

from app.integrations.pacs.client import MSG_AUTH, MSG_UNREACHABLE, PacsAuthError, PacsError, PacsUnavailable

DICOMWEB_SUFFIX = "/dicom-web"
PAGE = 500


def rest_root(dicomweb_url: str) -> str:
    """Orthanc's REST root from the DICOMweb root a clinic configured (…/dicom-web); PacsError when the PACS is
    not reached through Orthanc's DICOMweb plugin (its images must then be backed up by its own means)."""
    url = dicomweb_url.rstrip("/")
    if not url.endswith(DICOMWEB_SUFFIX):
        raise PacsError(f"PACS {dicomweb_url} はOrthancのDICOMweb（…/dicom-web）ではないため、画像はそのPACS自身の"
                        "手順でバックアップしてください（--without-pacs で画像を除いてバックアップできます）")
    return url.removesuffix(DICOMWEB_SUFFIX)


def _call(method: str, root: str, path: str, auth: tuple[str, str], timeout: float, *,
          params: dict[str, int] | None = None, data: bytes | None = None) -> requests.Response:
    """One request to Orthanc's REST API; PacsError (Japanese) for anything but 200."""
    headers = {"Content-Type": "application/dicom"} if data is not None else None
    try:
        response = requests.request(method, f"{root}{path}", params=params, data=data, headers=headers, auth=auth,
                                    timeout=timeout)
    except requests.RequestException as exc:
        raise PacsUnavailable(MSG_UNREACHABLE) from exc
    if response.status_code in (401, 403):
        raise PacsAuthError(MSG_AUTH)
    if response.status_code != 200:
        raise PacsError(f"PACSが {method} {path} に {response.status_code} を返しました")
    return response


def instance_ids(root: str, auth: tuple[str, str], timeout: float = 30.0) -> list[str]:
    """The ids of every instance Orthanc stores, page by page."""
    found: list[str] = []
    while True:
        page = _call("GET", root, "/instances", auth, timeout, params={"since": len(found), "limit": PAGE}).json()
        found.extend(page)
        if len(page) < PAGE:
            return found


def instance_files(root: str, auth: tuple[str, str], timeout: float = 60.0) -> Iterator[tuple[str, bytes]]:
    """(Orthanc id, the DICOM file as stored) of every instance."""
    for orthanc_id in instance_ids(root, auth, timeout):
        yield orthanc_id, _call("GET", root, f"/instances/{orthanc_id}/file", auth, timeout).content


def store_instance(root: str, auth: tuple[str, str], dicom: bytes, timeout: float = 60.0) -> str:
    """Store one DICOM file; Orthanc's status ("Success" or "AlreadyStored")."""
    return str(_call("POST", root, "/instances", auth, timeout, data=dicom).json().get("Status", ""))
