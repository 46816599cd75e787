"""The order as a JAHIS OML^O33 message (HL7 v2.5): one SPM group per container, each with its ORC, OBR and one
OBX per requested test (OBX-11 "O": order detail only). Built as Unicode text, validated against the HL7 v2.5
structure with hl7apy, then encoded as a whole in the link's character set."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from app.core.timeutil import JST
from app.labs.hl7 import CHARSET_FIELDS, ISO2022, encode_message, escape, normalise_for_sending

SENDING_APPLICATION = "KAMIKARTE"
#: The local code system of the lab company's item codes (a "99" name is a local system in JAHIS).
LAB_CODE_SYSTEM = "99LAB"


class OrderMessageError(ValueError):
    """An order that cannot become a valid OML^O33 (the text says why, in Japanese)."""


def hl7_time(value: datetime) -> str:
    """A timestamp in Japan time as HL7 DTM (YYYYMMDDHHMMSS)."""
    return value.astimezone(JST).strftime("%Y%m%d%H%M%S")


def _name_parts(name: str) -> tuple[str, str]:
    parts = re.split(r"[ \u3000]+", name.strip(), maxsplit=1)
    return (parts[0], parts[1] if len(parts) > 1 else "")


def build_oml(order: Any, patient: Any, clinic: Any, *, control_id: str, now: datetime,
              lab_facility: str = "LABCENTER", order_control: str = "NW") -> str:
    """The OML^O33 text (segments separated by CR) of an order with its specimens; ORC-1 (HL7 table 0119) is
    NW for a new order, CA to ask the lab to cancel it."""
    family, given = _name_parts(normalise_for_sending(patient.name))
    kana_family, kana_given = _name_parts(normalise_for_sending(patient.kana))
    charset, alternate = CHARSET_FIELDS[ISO2022]
    ordered_at = hl7_time(order.ordered_at)
    doctor_family, doctor_given = _name_parts(normalise_for_sending(order.ordered_by_name or ""))
    doctor = f"{escape(doctor_family)}^{escape(doctor_given)}"
    segments = [
        f"MSH|^~\\&|{SENDING_APPLICATION}|{clinic.institution_code}|{lab_facility}|{lab_facility}|{hl7_time(now)}||"
        f"OML^O33^OML_O33|{control_id}|P|2.5||||||{charset}||{alternate}",
        f"PID|1||{escape(patient.orca_patient_id)}^^^^PI||{escape(family)}^{escape(given)}^^^^^L^I~"
        f"{escape(kana_family)}^{escape(kana_given)}^^^^^L^P||{patient.birth_date:%Y%m%d}|{patient.sex}",
        "PV1|1|O",
    ]
    for specimen in order.specimens:
        collected = f"{order.ordered_on:%Y%m%d}"
        segments.append(f"SPM|{specimen.seq}|{specimen.specimen_number}||{specimen.specimen_code}^"
                        f"{escape(specimen.specimen)}^JC10|||||||||||||{collected}")
        segments.append(f"ORC|{order_control}|{order.order_number}|||||||{ordered_at}|||^{doctor}")
        container = escape(normalise_for_sending(specimen.container))
        segments.append(f"OBR|{specimen.seq}|{order.order_number}||{specimen.specimen_code}{specimen.seq:02d}^"
                        f"{container}^99KMK|||{collected}")
        for number, item in enumerate(specimen.items, start=1):
            name = escape(normalise_for_sending(item["name"]))
            short = escape(normalise_for_sending(item.get("short_name") or ""))
            segments.append(f"OBX|{number}||{item['jlac10']}^{name}^JC10^{item['lab_code']}^{short}^"
                            f"{LAB_CODE_SYSTEM}||||||||O")
    return "\r".join(segments) + "\r"


def validate_oml(text: str) -> None:
    """Check the message against the HL7 v2.5 OML_O33 structure (hl7apy, strict); OrderMessageError if not."""
    from hl7apy.core import Message
    from hl7apy.exceptions import HL7apyException
    from hl7apy.parser import parse_message
    from hl7apy.validation import VALIDATION_LEVEL

    try:
        message: Message = parse_message(text, validation_level=VALIDATION_LEVEL.STRICT, find_groups=True)
        message.validate()
    except HL7apyException as exc:
        raise OrderMessageError(f"OML^O33 が HL7 v2.5 の構造に合いません: {exc}") from exc
    except ValueError as exc:
        raise OrderMessageError(f"OML^O33 を組み立てられません: {exc}") from exc


def build_order_bytes(order: Any, patient: Any, clinic: Any, *, control_id: str, now: datetime) -> bytes:
    """Build, validate and encode the whole order message (ISO-2022-JP)."""
    text = build_oml(order, patient, clinic, control_id=control_id, now=now)
    validate_oml(text)
    return encode_message(text, ISO2022)
