"""ORCA's "xml2" format: leaves type="string", groups type="record", lists type="array" of NAME_child."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET  # noqa: S405 — DOCTYPE/ENTITY are refused before parsing

from app.integrations.orca.errors import OrcaProtocolError


def parse_xml2(raw: bytes) -> tuple[str, dict[str, Any]]:
    """The reply record's name and content (<xmlio2><NAME type="record">…) as dicts, lists and strings."""
    if b"<!DOCTYPE" in raw or b"<!ENTITY" in raw:
        raise OrcaProtocolError("ORCAの応答（XML）に DOCTYPE/ENTITY 宣言が含まれています。受け付けません")
    try:
        root = ET.fromstring(raw)  # noqa: S314 — no DTD possible (checked above)
    except ET.ParseError as exc:
        raise OrcaProtocolError(f"ORCAの応答（XML）を読み取れません（{exc}）") from exc
    if root.tag != "xmlio2" or len(root) != 1:
        raise OrcaProtocolError(f"ORCAの応答（XML）が <xmlio2> に応答レコードを1つ持つ形ではありません（<{root.tag}>）")
    record = root[0]
    value = _value(record)
    if not isinstance(value, dict):
        raise OrcaProtocolError(f"ORCAの応答（XML）の <{record.tag}> がレコードではありません")
    return record.tag, value


def _value(element: ET.Element) -> Any:
    kind = element.get("type")
    children = list(element)
    if kind == "array" or (kind is None and children and all(c.tag.endswith("_child") for c in children)):
        return [_value(child) for child in children]
    if kind == "record" or (kind is None and children):
        return {child.tag: _value(child) for child in children}
    return element.text or ""


def build_xml2(request_name: str, fields: dict[str, Any]) -> bytes:
    """A request body: <data><NAME type="record">…</NAME></data>, UTF-8."""
    data = ET.Element("data")
    _append(data, request_name, fields)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(data, encoding="utf-8", xml_declaration=False)


def _append(parent: ET.Element, name: str, value: Any) -> None:
    if isinstance(value, dict):
        node = ET.SubElement(parent, name, type="record")
        for key, item in value.items():
            _append(node, key, item)
    elif isinstance(value, list | tuple):
        node = ET.SubElement(parent, name, type="array")
        for item in value:
            _append(node, f"{name}_child", item)
    else:
        node = ET.SubElement(parent, name, type="string")
        node.text = "" if value is None else str(value)
