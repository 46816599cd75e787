"""Fault injection for tests (POST /_sim/faults) — the test harness, not part of ORCA.

Modes: "down" (HTTP 503, or `status`), "slow" (answer after `delay` seconds), "malformed" (a reply that breaks
the published shape; `kind` says how), "error_code" (an Api_Result error: `code`, `message`), "lost_reply" (ORCA
does the work, the reply is lost on the way: HTTP 504). Optional scope:
`clinic` (医療機関コード), `api` (e.g. "patientgetv2"), `times` (then the fault clears itself).
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, fields
from typing import Any

MODES = ("down", "slow", "malformed", "error_code", "lost_reply")
#: How a malformed reply is broken. Record kinds change fields; body kinds break the bytes.
MALFORMED_KINDS = ("fields", "date", "insurance", "chars", "shape", "syntax", "encoding")
BODY_KINDS = ("syntax", "encoding")


@dataclass
class Fault:
    """One injected fault and its scope."""

    mode: str
    clinic: str = ""
    api: str = ""
    times: int | None = None
    delay: float = 3.0
    status: int = 503
    code: str = "90"
    message: str = "他端末使用中"
    kind: str = "fields"

    @classmethod
    def from_json(cls, spec: dict[str, Any]) -> Fault:
        """A fault from its JSON description; ValueError names what is wrong."""
        unknown = set(spec) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown fault options: {sorted(unknown)}")
        fault = cls(**spec)
        if fault.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        if fault.kind not in MALFORMED_KINDS:
            raise ValueError(f"kind must be one of {MALFORMED_KINDS}")
        if fault.times is not None and (not isinstance(fault.times, int) or fault.times < 1):
            raise ValueError("times must be a positive integer")
        if not isinstance(fault.delay, int | float) or not 0 <= fault.delay <= 120:
            raise ValueError("delay must be 0–120 seconds")
        if not isinstance(fault.status, int) or not 500 <= fault.status <= 599:
            raise ValueError("status must be a 5xx code")
        return fault


class FaultBoard:
    """The fault in force (one at a time), shared by the server's threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fault: Fault | None = None

    def set(self, spec: dict[str, Any]) -> dict[str, Any] | None:
        """Put a fault in force ({} clears)."""
        fault = Fault.from_json(spec) if spec else None
        with self._lock:
            self._fault = fault
        return asdict(fault) if fault else None

    def clear(self) -> None:
        """No fault."""
        with self._lock:
            self._fault = None

    def describe(self) -> dict[str, Any] | None:
        """The fault in force, as JSON."""
        with self._lock:
            return asdict(self._fault) if self._fault else None

    def take(self, clinic: str, api: str) -> Fault | None:
        """The fault that applies to this call (counting it down when limited)."""
        with self._lock:
            fault = self._fault
            if fault is None or (fault.clinic and fault.clinic != clinic) or (fault.api and fault.api != api):
                return None
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self._fault = None
            return fault


def corrupt(value: Any, kind: str) -> Any:
    """Break a reply's content the way `kind` says (in place; returns the value)."""
    if isinstance(value, list):
        for item in value:
            corrupt(item, kind)
    elif isinstance(value, dict):
        if kind == "fields":
            if "Patient_ID" in value and "WholeName" in value:
                del value["WholeName"]
            for key in ("Acceptance_Id", "Code", "Medical_Uid", "event"):
                value.pop(key, None)
            if "CreateDate" in value:
                value.pop("Patient_ID", None)
        elif kind == "date":
            for key, bad in (("BirthDate", "1958-02-30"), ("Acceptance_Time", "25:61:00"),
                             ("Perform_Date", "2026-02-30"), ("time", "2026-02-30T09:00:00+0900")):
                if key in value:
                    value[key] = bad
        elif kind == "insurance" and value.get("InsuranceProvider_Number"):
            value["InsuranceProvider_Number"] = "99130019"  # 法別番号 99 does not exist
        elif kind == "chars" and isinstance(value.get("WholeName"), str):
            value["WholeName"] += "\ufffd"
        for item in value.values():
            corrupt(item, kind)
    return value


def corrupt_body(body: bytes, kind: str) -> bytes:
    """Break a reply's bytes: cut it short ("syntax") or send Shift_JIS where UTF-8 is promised ("encoding")."""
    if kind == "syntax":  # cut between characters, so the fault is the syntax and never the encoding
        text = body.decode("utf-8")
        return text[: max(len(text) // 2, 1)].encode("utf-8")
    if kind == "encoding":
        return body.decode("utf-8").encode("cp932", errors="replace")
    return body
