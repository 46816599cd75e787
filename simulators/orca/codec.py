"""ORCA's two wire formats for the simulator: xml2 (<xmlio2><NAME type="record">…) and JSON ({"NAME": {…}}).

Requests come as `<data><NAMEreq type="record">…</NAMEreq></data>` or `{"NAMEreq": {…}}`; replies are written
the way the published samples show them (orca.md §1, §1b, §9): every leaf a string, empty fields left out,
JSON arrays of ORCA's fixed-size tables padded with {} where the real replies were seen padded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from xml.etree import ElementTree as ET  # noqa: S405 — DOCTYPEs are refused before parsing (see read_record)
from xml.sax.saxutils import escape

from flask import Response


@dataclass
class Reply:
    """A reply before it is written: the response record's name and content, and the JSON padding to apply."""

    name: str
    record: dict[str, Any]
    pad: dict[str, int] = field(default_factory=dict)


class BadBody(Exception):
    """The request body could not be used: ORCA's 97 (送信内容に誤りがあります) or 98 (…読込ができませんでした)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


UNREADABLE = BadBody("98", "送信内容の読込ができませんでした")
WRONG_SHAPE = BadBody("97", "送信内容に誤りがあります")


def header(now: datetime, result: str, message: str, reskey: str = "Patient Info") -> dict[str, Any]:
    """The fields every ORCA reply starts with."""
    return {"Information_Date": now.date().isoformat(), "Information_Time": now.strftime("%H:%M:%S"),
            "Api_Result": result, "Api_Result_Message": message, "Reskey": reskey}


def read_record(raw: bytes, root: str) -> dict[str, Any]:
    """The request record from an xml2 or JSON body; an empty body is a record with every field unset."""
    if not raw.strip():
        return {}
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UNREADABLE from None
    if text.lstrip().startswith("<"):
        if "<!DOCTYPE" in text or "<!ENTITY" in text:
            raise UNREADABLE
        try:
            document = ET.fromstring(raw)  # noqa: S314 — no DOCTYPE/ENTITY (checked above)
        except ET.ParseError:
            raise UNREADABLE from None
        node = document.find(root) if document.tag == "data" else None
        if node is None:
            raise WRONG_SHAPE
        value = _xml_value(node)
    else:
        try:
            payload = json.loads(text)
        except ValueError:
            raise UNREADABLE from None
        value = payload.get(root) if isinstance(payload, dict) else None
    if not isinstance(value, dict):
        raise WRONG_SHAPE
    return value


def _xml_value(node: ET.Element) -> Any:
    kind = node.get("type")
    children = list(node)
    if kind == "array" or (kind is None and children and all(c.tag.endswith("_child") for c in children)):
        return [_xml_value(child) for child in children]
    if kind == "record" or (kind is None and children):
        return {child.tag: _xml_value(child) for child in children}
    return (node.text or "").strip()


def compact(value: Any) -> Any:
    """Leave out empty fields, as ORCA does (its replies omit unset fields)."""
    if isinstance(value, dict):
        items = {k: compact(v) for k, v in value.items()}
        return {k: v for k, v in items.items() if v not in ("", None, {}, [])}
    if isinstance(value, list):
        return [compact(v) for v in value]
    return value


def to_json(reply: Reply) -> dict[str, Any]:
    """The JSON document of a reply, fixed-size tables padded with {}."""
    body = compact(reply.record)
    for key, size in reply.pad.items():
        if isinstance(body.get(key), list):
            body[key] = body[key] + [{}] * max(size - len(body[key]), 0)
    return {reply.name: body}


def to_xml(reply: Reply) -> str:
    """The xml2 document of a reply."""
    return '<?xml version="1.0" encoding="UTF-8"?>\n<xmlio2>' + _xml(reply.name, compact(reply.record)) + "</xmlio2>\n"


def _xml(name: str, value: Any) -> str:
    if isinstance(value, dict):
        return f'<{name} type="record">' + "".join(_xml(k, v) for k, v in value.items()) + f"</{name}>"
    if isinstance(value, list):
        return f'<{name} type="array">' + "".join(_xml(f"{name}_child", v) for v in value) + f"</{name}>"
    return f'<{name} type="string">{escape(str(value))}</{name}>'


def render(reply: Reply, json_mode: bool) -> Response:
    """The HTTP response of a reply in the caller's format (ORCA answers business errors with HTTP 200 too)."""
    if json_mode:
        return json_response(to_json(reply))
    return Response(to_xml(reply).encode("utf-8"), mimetype="application/xml")


def json_response(document: Any, status: int = 200) -> Response:
    """A JSON response (UTF-8, Japanese written as is)."""
    return Response(json.dumps(document, ensure_ascii=False), status=status, mimetype="application/json")
