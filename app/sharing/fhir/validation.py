"""Checks every JP-CLINS resource and bundle must pass before it leaves (and that incoming ones are read with):
structure by the FHIR R4B models, then our profile rules — a known JP-CLINS profile, codings from the systems
jp-clins.md names, the codes a kind must carry, references that resolve inside the bundle."""

from __future__ import annotations

import base64
import binascii
import csv
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from app.sharing.fhir import systems as S

DATA = Path(__file__).resolve().parent.parent / "data"
DRUG_MASTER = Path(__file__).resolve().parents[2] / "prescriptions" / "data" / "drugs.csv"


class FhirValidationError(ValueError):
    """A resource or bundle that must not leave (or be trusted); `problems` are Japanese reasons."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@lru_cache(maxsize=1)
def known_general_name_codes() -> frozenset[str]:
    """一般名コード the shipped drug master and data/general_name_codes.csv know."""
    codes: set[str] = set()
    for path, column in ((DRUG_MASTER, "generic_code"), (DATA / "general_name_codes.csv", "code")):
        with path.open(encoding="utf-8", newline="") as handle:
            codes |= {row[column] for row in csv.DictReader(handle) if row.get(column)}
    return frozenset(codes)


@lru_cache(maxsize=1)
def core_lab_codes() -> dict[str, str]:
    """JLAC10 codes of the JP-CLINS core lab item set (43 items, 437 codes) → Japanese name."""
    with (DATA / "lab_core.csv").open(encoding="utf-8", newline="") as handle:
        return {row["jlac10"]: row["name_ja"] for row in csv.DictReader(handle)}


def _strip_version(profile: str) -> str:
    return profile.split("|", 1)[0]


def _codings(value: Any) -> Iterator[dict[str, Any]]:
    """Every Coding inside a resource (anything with system+code inside a `coding` list)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "coding" and isinstance(item, list):
                yield from (c for c in item if isinstance(c, dict))
            yield from _codings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _codings(item)


def references(value: Any) -> Iterator[str]:
    """Every Reference.reference string inside a resource or bundle."""
    if isinstance(value, dict):
        if isinstance(value.get("reference"), str):
            yield value["reference"]
        for item in value.values():
            yield from references(item)
    elif isinstance(value, list):
        for item in value:
            yield from references(item)


def _system_known(system: str) -> bool:
    return system in S.KNOWN_SYSTEMS or system.startswith(S.KNOWN_SYSTEM_PREFIXES)


def _codes(concept: dict[str, Any] | None, system: str) -> list[str]:
    return [c.get("code", "") for c in (concept or {}).get("coding", []) if c.get("system") == system]


def _label(resource: dict[str, Any]) -> str:
    return f"{resource.get('resourceType', '?')}" + (f"（{resource['id']}）" if resource.get("id") else "")


def profile_problems(resource: dict[str, Any]) -> list[str]:
    """Our JP-CLINS rules beyond structure, for one resource (empty when it passes)."""
    kind = resource.get("resourceType", "")
    label = _label(resource)
    problems: list[str] = []
    profiles = [_strip_version(p) for p in (resource.get("meta") or {}).get("profile", [])]
    if not profiles:
        problems.append(f"{label}: meta.profile がありません")
    for profile in profiles:
        if profile not in S.KNOWN_PROFILES:
            problems.append(f"{label}: 未知のプロファイル {profile}")
    required = S.REQUIRED_PROFILE.get(kind)
    if required and profiles and not any(p in required for p in profiles):
        problems.append(f"{label}: プロファイル {required[0]} がありません")
    for coding in _codings({k: v for k, v in resource.items() if k != "contained"}):
        system = coding.get("system", "")
        if not system:
            problems.append(f"{label}: system のないコード {coding.get('code', '')}")
        elif not _system_known(system):
            problems.append(f"{label}: 未知のコード体系 {system}")
        elif not coding.get("code"):
            problems.append(f"{label}: {system} のコード値が空です")
    checker = _KIND_RULES.get(kind)
    if checker:
        problems += checker(resource, label)
    return problems


def _condition(resource: dict[str, Any], label: str) -> list[str]:
    code = resource.get("code") or {}
    if not code.get("coding") and not code.get("text"):
        return [f"{label}: 傷病名（code）がありません"]
    if not resource.get("subject"):
        return [f"{label}: 患者（subject）がありません"]
    return []


def _allergy(resource: dict[str, Any], label: str) -> list[str]:
    code = resource.get("code") or {}
    problems = []
    if not code.get("coding") and not code.get("text"):
        problems.append(f"{label}: アレルゲン（code）がありません")
    if not resource.get("patient"):
        problems.append(f"{label}: 患者（patient）がありません")
    return problems


def _medication_request(resource: dict[str, Any], label: str) -> list[str]:
    concept = resource.get("medicationCodeableConcept") or {}
    problems = []
    yj, general, nocoded = (_codes(concept, S.YJ), _codes(concept, S.GENERAL_NAME), _codes(concept, S.DRUG_NOCODED))
    if not (yj or general or nocoded):
        problems.append(f"{label}: 医薬品コード（YJ・一般名コード・標準コードなし）がありません")
    problems += [f"{label}: YJコード {c} は12桁ではありません" for c in yj if len(c) != 12]
    known = known_general_name_codes()
    problems += [f"{label}: 一般名コード {c} は一般名処方マスターにありません" for c in general if c not in known]
    if not resource.get("subject"):
        problems.append(f"{label}: 患者（subject）がありません")
    return problems


def _observation(resource: dict[str, Any], label: str) -> list[str]:
    profiles = [_strip_version(p) for p in (resource.get("meta") or {}).get("profile", [])]
    code = resource.get("code") or {}
    problems = []
    if S.LAB_RESULT in profiles:
        if not _codes(code, S.LAB_LOCAL):
            problems.append(f"{label}: 検査結果に施設固有の検査項目コード（{S.LAB_LOCAL}）がありません")
        problems += [f"{label}: JLAC10 コード {c} が17桁ではありません" for c in _codes(code, S.JLAC10) if len(c) != 17]
        core = core_lab_codes()
        problems += [f"{label}: JLAC10 {c} はJP-CLINSの核となる検査項目にありません"
                     for c in _codes(code, S.JLAC10_CORE) if c not in core]
    elif not code.get("coding") and not code.get("text"):
        problems.append(f"{label}: 観察項目（code）がありません")
    if resource.get("status") not in ("registered", "preliminary", "final", "amended", "corrected", "cancelled",
                                      "entered-in-error", "unknown"):
        problems.append(f"{label}: status がありません")
    return problems


def _document_reference(resource: dict[str, Any], label: str) -> list[str]:
    """An attached file (JP_DocumentReference_eCS): status (current; an export's earlier versions superseded or
    entered-in-error), content with a contentType, and embedded data that
    matches its size and hash (FHIR R4 Attachment.hash: SHA-1 of the data, base64) — a damaged copy must not
    leave as if it were the image the doctor attached."""
    problems = []
    if resource.get("status") not in ("current", "superseded", "entered-in-error"):
        problems.append(f"{label}: status は current（差し替え済みは superseded）である必要があります")
    contents = resource.get("content") or []
    if not contents:
        problems.append(f"{label}: 添付ファイル（content）がありません")
    for content in contents:
        attachment = content.get("attachment") or {}
        if not attachment.get("contentType"):
            problems.append(f"{label}: 添付ファイルの contentType がありません")
        if not attachment.get("data") and not attachment.get("url"):
            problems.append(f"{label}: 添付ファイルの data も url もありません")
        if not attachment.get("data"):
            continue
        try:
            data = base64.b64decode(attachment["data"], validate=True)
        except (binascii.Error, ValueError):
            problems.append(f"{label}: 添付ファイルの data が base64 ではありません")
            continue
        if "size" in attachment and attachment["size"] != len(data):
            problems.append(f"{label}: 添付ファイルの size が data の長さと一致しません")
        if "hash" in attachment and attachment["hash"] != base64.b64encode(hashlib.sha1(data).digest()).decode():  # noqa: S324 — R4 defines it as SHA-1
            problems.append(f"{label}: 添付ファイルの hash（SHA-1）が data と一致しません")
    return problems


_KIND_RULES = {"Condition": _condition, "AllergyIntolerance": _allergy, "MedicationRequest": _medication_request,
               "Observation": _observation, "DocumentReference": _document_reference}


def _parse(resource: dict[str, Any]) -> str | None:
    """Structure check with the R4B models; the first error line, or None."""
    from fhir.resources.R4B import get_fhir_model_class

    try:
        get_fhir_model_class(resource.get("resourceType", "")).model_validate(resource)
    except Exception as exc:  # noqa: BLE001 — the model library raises several kinds of errors
        lines = [line for line in str(exc).splitlines() if line.strip()]
        return " ".join(lines[:3])[:300]
    return None


#: Results of checking one resource, by a digest of its canonical JSON (see resource_problems).
_checked: OrderedDict[bytes, tuple[str, ...]] = OrderedDict()
_checked_lock = threading.Lock()
CHECKED_MEMO_SIZE = 4096


def _check_resource(resource: dict[str, Any], with_profile: bool) -> list[str]:
    problems = []
    if (error := _parse(resource)) is not None:
        problems.append(f"{_label(resource)}: FHIR として正しくありません: {error}")
    if with_profile:
        problems += profile_problems(resource)
    return problems


def resource_problems(resource: dict[str, Any], *, with_profile: bool = True) -> list[str]:
    """Structure (R4B models) and, `with_profile`, our JP-CLINS rules for one resource (empty when it passes).

    Memoised by content: the check is a pure function of the resource's JSON (the models and the code lists
    are fixed for the process), and the same unchanged records are mapped again each time a patient's 6
    information is shown or registered, so a resource identical to one already checked is not parsed again
    (parsing is four fifths of building a bundle). The key is a BLAKE2b digest of the canonical JSON; a changed
    resource, even by one character, is checked afresh."""
    canonical = json.dumps(resource, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    key = hashlib.blake2b(f"{int(with_profile)}{canonical}".encode(), digest_size=20).digest()
    with _checked_lock:
        known = _checked.get(key)
        if known is not None:
            _checked.move_to_end(key)
            return list(known)
    problems = _check_resource(resource, with_profile)
    with _checked_lock:
        _checked[key] = tuple(problems)
        while len(_checked) > CHECKED_MEMO_SIZE:
            _checked.popitem(last=False)
    return problems


def forget_checked() -> None:
    """Empty the memo of checked resources (tests and the benchmark's cold case)."""
    with _checked_lock:
        _checked.clear()


def validate_resource(resource: dict[str, Any]) -> None:
    """Refuse a single resource that is not valid FHIR R4 or breaks our JP-CLINS rules."""
    if problems := resource_problems(resource):
        raise FhirValidationError(problems)


def validate_bundle(bundle: dict[str, Any]) -> None:
    """Refuse a bundle (registration collection or document) that must not leave: structure, bundle profile,
    first entry, references resolving inside it, and every entry's own rules."""
    problems = []
    if bundle.get("resourceType") != "Bundle":
        raise FhirValidationError(["Bundle ではありません"])
    entries = bundle.get("entry") or []
    # The shell and each resource are parsed by their own models: the same checks as parsing the whole Bundle,
    # a fifth faster (no per-entry class lookup inside the Bundle model), and an error names its entry.
    shell = {**bundle, "entry": [{k: v for k, v in e.items() if k != "resource"} for e in entries]}
    if (error := _parse(shell if entries else bundle)) is not None:
        problems.append(f"Bundle: FHIR として正しくありません: {error}")
    for entry in entries:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict):  # the Composition is checked for structure only (its own rules below)
            problems += resource_problems(resource, with_profile=resource.get("resourceType") != "Composition")
    profiles = [_strip_version(p) for p in (bundle.get("meta") or {}).get("profile", [])]
    if S.BUNDLE_CLINS in profiles:
        if bundle.get("type") != "collection":
            problems.append("6情報の登録 Bundle は type=collection である必要があります")
        if not entries or entries[0].get("resource", {}).get("resourceType") != "Patient":
            problems.append("6情報の登録 Bundle の最初の entry が Patient ではありません")
        if not any(t.get("system") == S.BUNDLE_RESOURCE_TYPE for t in (bundle.get("meta") or {}).get("tag", [])):
            problems.append("6情報の登録 Bundle に meta.tag（BundleResourceType_CS）がありません")
    elif S.BUNDLE_REFERRAL in profiles or S.BUNDLE_PCS in profiles:
        if bundle.get("type") != "document":
            problems.append("文書 Bundle は type=document である必要があります")
        if not entries or entries[0].get("resource", {}).get("resourceType") != "Composition":
            problems.append("文書 Bundle の最初の entry が Composition ではありません")
    else:
        problems.append("Bundle に JP-CLINS のプロファイル（JP_Bundle_CLINS / eReferral / ePCS）がありません")
    if not any(i.get("system") == S.BUNDLE_IDENTIFIER for i in _as_list(bundle.get("identifier"))):
        problems.append(f"Bundle.identifier（{S.BUNDLE_IDENTIFIER}）がありません")
    urls = {e.get("fullUrl") for e in entries}
    for entry in entries:
        resource = entry.get("resource") or {}
        local_ids = {f"#{c.get('id')}" for c in resource.get("contained", [])}
        for reference in references(resource):
            if reference.startswith("urn:uuid:") and reference not in urls:
                problems.append(f"{_label(resource)}: 文書内で解決できない参照 {reference}")
            elif reference.startswith("#") and reference not in local_ids:
                problems.append(f"{_label(resource)}: contained にない参照 {reference}")
    if problems:
        raise FhirValidationError(problems)


def _as_list(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return [value]
    return [v for v in value or [] if isinstance(v, dict)]
