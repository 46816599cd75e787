"""ORCA's "xml2" format: leaves type="string", groups type="record", lists type="array" of NAME_child."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET  # noqa: S405 — only ORCA's replies and our own requests are parsed

from app.integrations.orca.errors import OrcaProtocolError


def parse_xml2(raw: bytes | str) -> tuple[str, dict[str, Any]]:
    """The response record's name and its content as plain dicts, lists and strings."""
    try:
        root = ET.fromstring(raw)  # noqa: S314 — ORCA is a configured, authenticated peer
    except ET.ParseError as exc:
        raise OrcaProtocolError(f"ORCAの応答（XML）を読み取れません: {exc}") from exc
    if root.tag == "xmlio2":
        if len(root) != 1:
            raise OrcaProtocolError("ORCAの応答（XML）に応答レコードがありません")
        root = root[0]
    return root.tag, _element_value(root)


def _element_value(element: ET.Element) -> Any:
    kind = element.get("type")
    if kind == "array":
        return [_element_value(child) for child in element]
    if kind == "record" or (kind is None and len(element)):
        return {child.tag: _element_value(child) for child in element}
    return element.text or ""


def build_xml2(request_name: str, fields: dict[str, Any]) -> bytes:
    """A request body: <data><NAME type="record">…</NAME></data>, UTF-8."""
    data = ET.Element("data")
    _append(data, request_name, fields)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(data, encoding="utf-8")


def _append(parent: ET.Element, name: str, value: Any) -> None:
    if isinstance(value, dict):
        node = ET.SubElement(parent, name, type="record")
        for key, item in value.items():
            _append(node, key, item)
    elif isinstance(value, list):
        node = ET.SubElement(parent, name, type="array")
        for item in value:
            _append(node, f"{name}_child", item)
    else:
        node = ET.SubElement(parent, name, type="string")
        node.text = "" if value is None else str(value)
