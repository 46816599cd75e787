"""Simulator of a lab company's Web API (臨床検査センター), reached over HTTP only (the app never imports it).

Per clinic (/clinic/<医療機関コード>/…, bearer token): it receives JAHIS OML^O33 orders (ISO-2022-JP or UTF-8),
checks them and answers ORL^O34 with MSA AA, or AR/AE and ERR naming the problem; later it reports results as
OUL^R22 (normal, abnormal with H/L, corrected with OBX-11 C, comments in NTE with kanji such as 本 図 奥 whose JIS
bytes equal HL7 delimiters). Results wait to be fetched (GET …/results, then POST …/results/<id>/ack), and are
pushed to the clinic's endpoint when one is set. Its menu is the lab's published item master (the same file a
clinic imports). An order sent again with ORC-1 CA is cancelled (refused once results exist).
A message is applied once per message control id (MSH-10): a repeat of the same id is answered with the first
reply and changes nothing (how a retried delivery stays single). Faults: down (503), lost_reply (applied, then
504). Harness: /_sim/reset, /_sim/faults, /_sim/push, /_sim/release, /_sim/orders, /_sim/cancelled,
/_sim/results, /_sim/received.
"""

from __future__ import annotations

import base64
import csv
import random
import re
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import requests
from flask import Flask, Response, jsonify, request

from simulators.common import LOST_REPLY, add_reset_and_faults, bearer_ok, lost_reply, take_fault

DEMO_TOKENS = {"1310123458": "demo-lab-a", "1310156789": "demo-lab-b"}
HL7 = "x-application/hl7-v2+er7"
JST = timezone(timedelta(hours=9))
#: The lab's published item master (what clinics load with `masters import-lab-items`).
MENU_FILE = Path(__file__).resolve().parents[2] / "app" / "labs" / "data" / "lab_items.csv"
MATERIALS = {"001": "尿", "019": "全血(添加物入り)", "022": "血漿", "023": "血清"}
COMMENTS = ["本検体は軽度の溶血を認めます。参考値として報告します", "図示した経過と併せてご確認ください",
            "検体到着が遅れました（奥多摩営業所経由）"]


def load_menu(path: Path = MENU_FILE) -> dict[str, dict[str, str]]:
    """The lab's items by lab code."""
    with path.open(encoding="utf-8", newline="") as handle:
        return {row["lab_code"]: row for row in csv.DictReader(handle)}


def _now() -> str:
    return datetime.now(JST).strftime("%Y%m%d%H%M%S")


def _decode(data: bytes) -> str:
    # The whole message first: kanji bytes may equal a delimiter.
    for codec in (("iso2022_jp", "iso2022_jp_2004") if b"\x1b" in data else ("utf-8",)):
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            continue
    raise ValueError("文字コードが ISO-2022-JP でも UTF-8 でもありません")


def _segments(text: str) -> list[list[str]]:
    lines = [line for line in re.split(r"\r\n|\r|\n", text) if line.strip()]
    return [line.split("|") for line in lines]


def _ack(kind: str, code: str, control: str, text: str = "") -> bytes:
    lines = [f"MSH|^~\\&|LABCENTER|LABCENTER|KAMIKARTE||{_now()}||{kind}|A{control[-16:]}|P|2.5||||||~ISO IR87||"
             "ISO 2022-1994", f"MSA|{code}|{control}|{text}"]
    if code != "AA":
        lines.append(f"ERR||||E|||{text}")
    return ("\r".join(lines) + "\r").encode("iso2022_jp", errors="replace")


def check_order(text: str, menu: dict[str, dict[str, str]]) -> tuple[dict[str, Any] | None, str, str]:
    """Validate an OML^O33: (order, "", "") or (None, AR/AE, reason)."""
    segs = _segments(text)
    if not segs or segs[0][0] != "MSH" or len(segs[0]) < 12:
        return None, "AR", "MSH セグメントがありません"
    msh = ["MSH", "|", *segs[0][1:]]
    if msh[9].split("^")[:2] != ["OML", "O33"]:
        return None, "AR", f"OML^O33 ではありません（{msh[9]}）"
    if not msh[12].startswith("2.5"):
        return None, "AR", "HL7 バージョンが 2.5 ではありません"
    names = [s[0] for s in segs]
    if "PID" not in names:
        return None, "AE", "患者（PID）がありません"
    pid = next(s for s in segs if s[0] == "PID")
    if len(pid) < 4 or not pid[3].split("^")[0]:
        return None, "AE", "患者ID（PID-3）がありません"
    specimens: list[dict[str, Any]] = []
    order_number, order_control = "", ""
    for seg in segs:
        if seg[0] == "SPM":
            number = seg[2].split("^")[0] if len(seg) > 2 else ""
            material = seg[4].split("^")[0] if len(seg) > 4 else ""
            if not number:
                return None, "AE", f"検体番号（SPM-2）がありません（SPM {seg[1] if len(seg) > 1 else '?'}）"
            if material not in MATERIALS:
                return None, "AE", f"材料コード「{material}」は当社で受けられません"
            specimens.append({"number": number, "material": material, "items": []})
        elif seg[0] == "ORC":
            order_number = seg[2] if len(seg) > 2 else order_number
            order_control = seg[1] if len(seg) > 1 else ""
            if order_control not in ("NW", "CA"):  # HL7 table 0119: new order, or cancel order request
                return None, "AE", f"オーダ制御（ORC-1）「{order_control}」は受けられません（NW / CA）"
        elif seg[0] == "OBX":
            if not specimens:
                return None, "AR", "SPM より前に OBX があります"
            code = seg[3].split("^") if len(seg) > 3 else []
            local = code[3] if len(code) > 3 else ""
            if len(code) < 3 or len(code[0]) != 17 or code[2] != "JC10":
                return None, "AE", f"JLAC10 コードが正しくありません（{seg[3] if len(seg) > 3 else ''}）"
            item = menu.get(local)
            if item is None or item["jlac10"] != code[0]:
                return None, "AE", f"当社の検査項目にない依頼です（{local} / {code[0]}）"
            if item["specimen_code"] != specimens[-1]["material"]:
                return None, "AE", f"{item['name']} は材料 {MATERIALS[specimens[-1]['material']]} では検査できません"
            specimens[-1]["items"].append(local)
    if not specimens or not any(s["items"] for s in specimens):
        return None, "AE", "検査項目（OBX）がありません"
    if not order_number:
        return None, "AE", "依頼番号（ORC-2）がありません"
    return {"control": msh[10], "order_number": order_number, "pid": "|".join(pid), "specimens": specimens,
            "sex": pid[8] if len(pid) > 8 else "", "order_control": order_control}, "", ""


def _esc(text: str) -> str:
    return text.replace("\\", "\\E\\").replace("|", "\\F\\").replace("^", "\\S\\").replace("&", "\\T\\")


def _decimals(text: str) -> int:
    return len(text.split(".")[1]) if "." in text else 0


def _value(item: dict[str, str], sex: str, rng: random.Random, kind: str, index: int) -> tuple[str, str, str]:
    """A result value, its flag and the reference range printed with it."""
    reference = item["ref_female"] if sex == "F" else item["ref_male"]
    if item["value_type"] != "NM":
        return ("(+)", "A", reference) if kind == "abnormal" and index == 0 else ("(−)", "", reference)
    low_text, high_text = reference.split("-")
    low, high = float(low_text), float(high_text)
    places = max(_decimals(low_text), _decimals(high_text))
    if kind == "abnormal" and index % 3 == 0:
        return f"{high * 1.35 + 0.1:.{places}f}", "H", reference
    if kind == "abnormal" and index % 3 == 1 and low > 0:
        return f"{low * 0.7:.{places}f}", "L", reference
    return f"{low + (high - low) * rng.uniform(0.25, 0.75):.{places}f}", "", reference


class State:
    """Orders and results of every clinic; faults; the push target."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forget everything."""
        self.orders: dict[str, dict[str, Any]] = {}
        self.results: dict[str, dict[str, Any]] = {}
        self.fault: dict[str, Any] = {}
        self.push: dict[str, dict[str, str]] = {}
        self.cancelled: set[str] = set()
        self.sequence = 0
        #: "<clinic>:<MSH-10>" → (HTTP status, ACK bytes) of each message applied; a repeat gets the same reply.
        self.replies: dict[str, tuple[int, bytes]] = {}
        #: Every order message that reached the lab: clinic, MSH-10, ORC-1, whether it was a repeat.
        self.received: list[dict[str, Any]] = []


def build_result(order: dict[str, Any], specimen: dict[str, Any], menu: dict[str, dict[str, str]], kind: str,
                 control: str) -> bytes:
    """One OUL^R22 for one specimen of an order (ISO-2022-JP, the whole message encoded at once)."""
    rng = random.Random(specimen["number"])
    taken = order["received_at"].strftime("%Y%m%d%H%M")
    lines = [f"MSH|^~\\&|LABCENTER|LABCENTER|KAMIKARTE|{order['clinic']}|{_now()}||OUL^R22^OUL_R22|{control}|P|2.5"
             "||||||~ISO IR87||ISO 2022-1994", order["pid"], "PV1|1|O",
             f"SPM|1|{specimen['number']}||{specimen['material']}^{MATERIALS[specimen['material']]}^JC10|||||||||||||"
             f"{taken}", f"OBR|1|{order['order_number']}|{specimen['number']}|LAB^臨床検査^99LAB|||{taken}",
             f"ORC|SC|{order['order_number']}|{specimen['number']}||CM"]
    for index, code in enumerate(specimen["items"]):
        item = menu[code]
        value, flag, reference = _value(item, order.get("sex", ""), rng, kind, index)
        if kind == "corrected" and index == 0 and item["value_type"] == "NM":
            value = f"{float(value) * 1.1:.{_decimals(value)}f}"
        status = "C" if kind == "corrected" and index == 0 else "F"
        # "10^3/μL": a caret in a value is escaped (\S\), as HL7 requires.
        unit = f"{_esc(item['unit_ascii'])}^{_esc(item['unit'])}^99LAB" if item["unit"] else ""
        lines.append(f"OBX|{index + 1}|{item['value_type']}|{item['jlac10']}^{item['name']}^JC10^{code}^"
                     f"{item['short_name']}^99LAB||{value}|{unit}|{reference}|{flag}|||{status}|||{taken}")
        if kind == "corrected" and index == 0:
            lines.append("NTE|1||再検査により結果を訂正しました（本検体）")
        elif kind == "abnormal" and index == 0:
            lines.append(f"NTE|1||{COMMENTS[0]}")
            lines.append(f"NTE|2||{COMMENTS[1]}")
        elif kind == "comment" and index == 0:
            lines.append(f"NTE|1||{COMMENTS[2]}")
    return ("\r".join(lines) + "\r").encode("iso2022_jp")


def create_app(menu_path: Path = MENU_FILE, auto_release_seconds: float = 0) -> Flask:
    """The simulator as a WSGI app; with auto_release_seconds > 0 it reports results by itself that long after
    accepting an order (and pushes them when a push target is set)."""
    app = Flask(__name__)
    state = State()
    menu = load_menu(menu_path)

    def authorised(code: str) -> bool:
        return bearer_ok(DEMO_TOKENS, code)

    def fault_reply() -> Any:
        if take_fault(state) == "down":
            return Response("service down", status=503)
        return None

    def release(order_number: str | None, kind: str, only_first: bool = False) -> list[str]:
        made = []
        with state.lock:
            orders = [o for o in state.orders.values() if order_number in (None, o["order_number"])]
            for order in orders:
                for specimen in order["specimens"][:1] if only_first else order["specimens"]:
                    state.sequence += 1
                    result_id = f"r{state.sequence:06d}"
                    data = build_result(order, specimen, menu, kind, f"LC{state.sequence:010d}")
                    state.results[result_id] = {"clinic": order["clinic"], "hl7": data, "acked": None,
                                                "order_number": order["order_number"]}
                    made.append(result_id)
        for result_id in made:
            push(result_id)
        return made

    def push(result_id: str) -> None:
        result = state.results[result_id]
        target = state.push.get(result["clinic"])
        if not target:
            return
        try:
            response = requests.post(target["url"], data=result["hl7"], timeout=10, headers={
                "Content-Type": f"{HL7}; charset=iso-2022-jp", "Authorization": f"Bearer {target['token']}"})
        except requests.RequestException:
            return  # stays waiting to be fetched
        if response.content:
            msa = [s for s in _segments(_decode(response.content)) if s[0] == "MSA"]
            if msa:
                result["acked"] = msa[0][1] if len(msa[0]) > 1 else ""

    def auto(order_number: str) -> None:
        time.sleep(auto_release_seconds)
        release(order_number, "normal")

    @app.get("/")
    def root():
        return jsonify({"service": "lab_center simulator", "clinics": sorted(DEMO_TOKENS)})

    @app.post("/clinic/<code>/orders")
    def receive_order(code: str):
        fault = take_fault(state)
        if fault == "down":
            return Response("service down", status=503)
        if not authorised(code):
            return jsonify({"error": "unauthorized"}), 401
        try:
            text = _decode(request.get_data())
        except ValueError as exc:
            return Response(_ack("ORL^O34^ORL_O34", "AR", "", str(exc)), status=422, mimetype=HL7)
        segments = _segments(text)
        control = segments[0][9] if segments and len(segments[0]) > 9 else ""
        key = f"{code}:{control}"
        with state.lock:
            first = state.replies.get(key) if control else None
            state.received.append({"clinic": code, "control": control, "repeat": first is not None})
        if first is None:  # a message control id seen before is answered as the first time, never applied twice
            first = apply_order(code, text, control)
            if control:
                with state.lock:
                    first = state.replies.setdefault(key, first)
        if fault == LOST_REPLY:
            return lost_reply()
        return Response(first[1], status=first[0], mimetype=HL7)

    def apply_order(code: str, text: str, control: str) -> tuple[int, bytes]:
        """Check and apply one order message: (HTTP status, ORL^O34)."""
        order, code_ack, reason = check_order(text, menu)
        if order is None:
            return 422, _ack("ORL^O34^ORL_O34", code_ack, control, reason)
        if order["order_control"] == "CA":
            return cancel(code, order, control)
        with state.lock:
            known = state.orders.get(f"{code}:{order['order_number']}")
            if known is None:  # the same order sent again (a retry) is accepted once
                state.orders[f"{code}:{order['order_number']}"] = {**order, "clinic": code,
                                                                   "received_at": datetime.now(JST)}
        if known is None and auto_release_seconds > 0:
            threading.Thread(target=auto, args=(order["order_number"],), daemon=True).start()
        return 200, _ack("ORL^O34^ORL_O34", "AA", control, "受付しました")

    def cancel(code: str, order: dict[str, Any], control: str) -> tuple[int, bytes]:
        """ORC-1 CA: forget the order (a repeated request is answered the same); refused once results exist."""
        with state.lock:
            if any(r["clinic"] == code and r["order_number"] == order["order_number"] for r in state.results.values()):
                return 422, _ack("ORL^O34^ORL_O34", "AE", control, "結果を報告済みのため取り消せません")
            state.orders.pop(f"{code}:{order['order_number']}", None)
            state.cancelled.add(f"{code}:{order['order_number']}")
        return 200, _ack("ORL^O34^ORL_O34", "AA", control, "取り消しました")

    @app.get("/clinic/<code>/results")
    def pending(code: str):
        if (reply := fault_reply()) is not None:
            return reply
        if not authorised(code):
            return jsonify({"error": "unauthorized"}), 401
        with state.lock:
            items = [{"id": k, "hl7": base64.b64encode(v["hl7"]).decode()} for k, v in state.results.items()
                     if v["clinic"] == code and v["acked"] is None]
        return jsonify({"messages": items})

    @app.post("/clinic/<code>/results/<result_id>/ack")
    def acknowledge(code: str, result_id: str):
        if not authorised(code):
            return jsonify({"error": "unauthorized"}), 401
        with state.lock:
            result = state.results.get(result_id)
            if result is None or result["clinic"] != code:
                return jsonify({"error": "not found"}), 404
            msa = [s for s in _segments(_decode(request.get_data())) if s[0] == "MSA"]
            result["acked"] = msa[0][1] if msa and len(msa[0]) > 1 else "?"
        return "", 204

    add_reset_and_faults(app, state)

    @app.post("/_sim/push")
    def set_push():
        body = request.get_json(silent=True) or {}
        state.push[body["clinic"]] = {"url": body["url"], "token": body["token"]}
        return jsonify({"ok": True})

    @app.post("/_sim/release")
    def release_now():
        body = request.get_json(silent=True) or {}
        made = release(body.get("order_number"), body.get("kind", "normal"), bool(body.get("only_first")))
        return jsonify({"results": made})

    @app.get("/_sim/orders")
    def orders():
        with state.lock:
            return jsonify({k: {**v, "received_at": v["received_at"].isoformat()} for k, v in state.orders.items()})

    @app.get("/_sim/cancelled")
    def cancelled():
        with state.lock:
            return jsonify(sorted(state.cancelled))

    @app.get("/_sim/received")
    def received():
        with state.lock:
            return jsonify(state.received)

    @app.get("/_sim/results")
    def results():
        with state.lock:
            return jsonify({k: {"clinic": v["clinic"], "acked": v["acked"], "order_number": v["order_number"],
                                "hl7": base64.b64encode(v["hl7"]).decode()} for k, v in state.results.items()})

    return app
