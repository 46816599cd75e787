"""Routing one clinic's ORCA API call: faults, Basic auth, the /api prefix, the API table, the reply's format."""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Response, request

from simulators.orca import (
    api_acsimulate,
    api_contraindication,
    api_first_visit,
    api_medical,
    api_patients,
    api_reception,
    api_system,
)
from simulators.orca.api_common import Call
from simulators.orca.codec import BadBody, Reply, json_response, read_record, to_json, to_xml
from simulators.orca.faults import BODY_KINDS, Fault, FaultBoard, corrupt, corrupt_body
from simulators.orca.state import ClinicState


@dataclass(frozen=True)
class Api:
    """One API of the published table (orca.md §0, §9): path, method, record names, Reskey, handler."""

    path: str
    method: str
    request_root: str | None
    response_root: str
    reskey: str
    handler: Callable[[Call], Any]
    json_only: bool = False
    #: Served by WebORCA (under /api) only: pusheventgetv2 says "現在はクラウド版のみ提供しています" (§6a), so a
    #: classic on-premises ORCA (api_prefix "") has no such API and answers 404 as for any unknown one.
    cloud_only: bool = False

    @property
    def name(self) -> str:
        """The last path segment, e.g. "patientgetv2" (what fault scopes name)."""
        return self.path.rsplit("/", 1)[-1]

    def root(self, call: Call) -> str:
        """The response record name (system01lstv2's depends on the Request_Number)."""
        return api_system.root_for(call.request_number()) if self.name == "system01lstv2" else self.response_root


APIS = {api.path: api for api in (
    Api("api01rv2/patientgetv2", "GET", None, "patientinfores", "Patient Info", api_patients.patientget),
    Api("api01rv2/patientlst1v2", "POST", "patientlst1req", "patientlst1res", "Patient Info",
        api_patients.patientlst1),
    Api("api01rv2/patientlst2v2", "POST", "patientlst2req", "patientlst2res", "Patient Info",
        api_patients.patientlst2),
    Api("api01rv2/patientlst3v2", "POST", "patientlst3req", "patientlst2res", "Patient Info",
        api_patients.patientlst3),
    Api("api01rv2/acceptlstv2", "POST", "acceptlstreq", "acceptlstres", "Patient Info", api_reception.acceptlst),
    Api("orca11/acceptmodv2", "POST", "acceptreq", "acceptres", "Acceptance_Info", api_reception.acceptmod),
    Api("api01rv2/pusheventgetv2", "POST", "pusheventgetv2req", "", "", api_reception.pusheventget,
        json_only=True, cloud_only=True),
    Api("api01rv2/system01lstv2", "POST", "system01_managereq", "system01_manageres", "Patient Info",
        api_system.system01lst),
    Api("api21/medicalmodv2", "POST", "medicalreq", "medicalres", "Medical Info", api_medical.medicalmod),
    Api("api21/medicalmodv23", "POST", "medicalv2req3", "medicalv2res3", "Medical Info",
        api_first_visit.first_calculation),
    Api("api01rv2/acsimulatev2", "POST", "acsimulatereq", "acsimulateres", "Medical Info", api_acsimulate.acsimulate),
    Api("api01rv2/tmedicalgetv2", "POST", "tmedicalgetreq", "tmedicalgetres", "Medical Info",
        api_medical.tmedicalget),
    Api("api01rv2/contraindicationcheckv2", "POST", "contraindication_checkreq", "contraindication_checkres",
        "Medical Info", api_contraindication.contraindicationcheck),
)}


def _authorized(state: ClinicState) -> bool:
    auth = request.authorization
    if auth is None or auth.type != "basic":
        return False
    user_ok = hmac.compare_digest((auth.username or "").encode(), state.config.user.encode())
    password_ok = hmac.compare_digest((auth.password or "").encode(), state.config.password.encode())
    return user_ok and password_ok


def _web_ui_router(method: str) -> Response:
    """What WebORCA answers for a path without /api (its web UI's router, §7d)."""
    if method == "GET":
        return json_response({"Code": 404, "Message": "code=404, message=Not Found"}, 404)
    response = json_response({"Code": 405, "Message": "code=405, message=Method Not Allowed"}, 405)
    response.headers["Allow"] = "OPTIONS, GET"
    return response


def handle(state: ClinicState | None, faults: FaultBoard, code: str, rest: str) -> Response:
    """Answer one request under /clinic/<code>/…"""
    if state is None:
        return json_response({"Code": 404, "Message": "code=404, message=Not Found"}, 404)
    fault = faults.take(code, rest.rstrip("/").rsplit("/", 1)[-1])
    if fault and fault.mode == "down":
        return Response("Service Unavailable", fault.status, mimetype="text/plain")
    if fault and fault.mode == "slow":
        time.sleep(fault.delay)
    if not _authorized(state):
        return Response("Unauthorized", 401, {"WWW-Authenticate": 'Basic realm="ORCA"'}, mimetype="text/plain")
    prefix = state.config.api_prefix.strip("/")
    if prefix and not rest.startswith(prefix + "/"):
        return _web_ui_router(request.method)
    api = APIS.get(rest[len(prefix) + 1:] if prefix else rest)
    if api is None or (api.cloud_only and not prefix):
        return json_response({"message": "APIが存在しません"}, 404)
    if request.method != api.method:
        response = json_response({"message": "Method Not Allowed"}, 405)
        response.headers["Allow"] = api.method
        return response
    json_mode = api.json_only or request.args.get("format") == "json"
    query = {k: v for k, v in request.args.items()}
    with state.lock:
        result = _run(api, state, query, fault)
    if fault and fault.mode == "lost_reply":  # the work is done; the caller never hears of it
        return Response("Gateway Timeout", 504, mimetype="text/plain")
    return _respond(result, json_mode, fault)


def _run(api: Api, state: ClinicState, query: dict[str, str], fault: Fault | None) -> Any:
    try:
        record = read_record(request.get_data(), api.request_root) if api.request_root else {}
    except BadBody as exc:
        call = Call(state, {}, query)
        if api.json_only:
            return api_reception.push_error("00" + exc.code, exc.message + "。")
        return call.reply(api.root(call), exc.code, exc.message, api.reskey)
    call = Call(state, record, query)
    if fault and fault.mode == "error_code":
        if api.json_only:
            return api_reception.push_error(fault.code, fault.message)
        return call.reply(api.root(call), fault.code, fault.message, api.reskey)
    return api.handler(call)


def _respond(result: Any, json_mode: bool, fault: Fault | None) -> Response:
    broken = fault.kind if fault and fault.mode == "malformed" else ""
    if isinstance(result, Reply):
        if broken and broken not in BODY_KINDS:
            corrupt(result.record, broken)
        document: Any = to_json(result) if json_mode else None
        text = to_xml(result) if not json_mode else ""
    else:
        document = corrupt(result, broken) if broken and broken not in BODY_KINDS else result
        text = ""
    if broken == "shape":
        document, text = (["unexpected"], "") if json_mode else (None, '<?xml version="1.0"?>\n<xmlio2></xmlio2>\n')
    if json_mode:
        response = json_response(document)
    else:
        response = Response(text.encode("utf-8"), mimetype="application/xml")
    if broken in BODY_KINDS:
        response.set_data(corrupt_body(response.get_data(), broken))
    return response
