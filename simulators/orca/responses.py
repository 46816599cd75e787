"""Answer bodies as ORCA writes them: JSON ({"<name>res": {...}}) or xml2 (<xmlio2><NAME type="record">)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from flask import Response, request

from simulators.orca.data import JST


def wants_json() -> bool:
    """ORCA answers JSON when asked with format=json (or a JSON body), xml2 otherwise."""
    return request.args.get("format") == "json" or request.is_json


def request_record(name: str) -> dict[str, Any]:
    """The request's record from a JSON body ({"<name>": {...}}) or an xml2 body (<data><name>…)."""
    if request.is_json or request.args.get("format") == "json":
        payload = request.get_json(silent=True, force=True) or {}
        record = payload.get(name, {}) if isinstance(payload, dict) else {}
        return record if isinstance(record, dict) else {}
    from xml.etree import ElementTree as ET  # noqa: S405 — the simulator reads its own test traffic

    try:
        root = ET.fromstring(request.get_data() or b"<data/>")  # noqa: S314
    except ET.ParseError:
        return {"__unreadable__": True}
    node = root.find(name)
    return _xml_value(node) if node is not None else {}


def _xml_value(node: Any) -> Any:
    kind = node.get("type")
    if kind == "array":
        return [_xml_value(child) for child in node]
    if kind == "record" or len(node):
        return {child.tag: _xml_value(child) for child in node}
    return node.text or ""


def header(result: str, message: str, reskey: str = "Patient Info") -> dict[str, Any]:
    """The fields every ORCA reply starts with."""
    now = datetime.now(JST)
    return {"Information_Date": now.date().isoformat(), "Information_Time": now.strftime("%H:%M:%S"),
            "Api_Result": result, "Api_Result_Message": message, "Reskey": reskey}


def reply(name: str, record: dict[str, Any], pad: dict[str, int] | None = None) -> Response:
    """A reply in the caller's format; `pad` fills JSON arrays up to ORCA's fixed table sizes with {}."""
    if wants_json():
        body = dict(record)
        for key, size in (pad or {}).items():
            if isinstance(body.get(key), list):
                body[key] = body[key] + [{}] * max(size - len(body[key]), 0)
        return Response(json.dumps({name: body}, ensure_ascii=False), mimetype="application/json")
    xml = '<?xml version="1.0" encoding="UTF-8"?>\n<xmlio2>' + _xml(name, record) + "</xmlio2>\n"
    return Response(xml.encode("utf-8"), mimetype="application/xml")


def _xml(name: str, value: Any) -> str:
    if isinstance(value, dict):
        return f'<{name} type="record">' + "".join(_xml(k, v) for k, v in value.items()) + f"</{name}>"
    if isinstance(value, list):
        return f'<{name} type="array">' + "".join(_xml(f"{name}_child", v) for v in value) + f"</{name}>"
    return f'<{name} type="string">{escape(str(value))}</{name}>'
