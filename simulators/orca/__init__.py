"""A simulator of the WebORCA API (../shared/docs/standards/orca.md) for the demo and the tests.

One process hosts several clinics, each under its own base path and Basic-auth user, the way each clinic
has its own ORCA: http://HOST:PORT/clinic/<医療機関コード>/api/<API path>. /_sim/… is the test harness
(fault injection, reset), not part of ORCA.
"""

from __future__ import annotations

import time
from datetime import date, datetime
from typing import Any

from flask import Flask, Response, abort, jsonify, request

from simulators.orca.data import DEFAULT_CLINICS, JST, ClinicConfig
from simulators.orca.responses import reply
from simulators.orca.state import ClinicState


def create_app(clinics: list[ClinicConfig] | None = None, today: date | None = None) -> Flask:
    """The simulator app; `today` fixes the clinic day (default: the date in Japan at each request)."""
    app = Flask(__name__)
    states = {c.institution_code: ClinicState(c, today) for c in (clinics or DEFAULT_CLINICS)}
    faults: dict[str, Any] = {}
    app.config["ORCA_STATES"] = states

    def state_for(code: str) -> ClinicState:
        state = states.get(code)
        if state is None:
            abort(404)
        auth = request.authorization
        if auth is None or (auth.username, auth.password) != (state.config.user, state.config.password):
            return abort(Response("Unauthorized", 401, {"WWW-Authenticate": 'Basic realm="ORCA"'}))
        return state

    @app.before_request
    def apply_faults():
        if request.path.startswith("/_sim") or not faults:
            return None
        clinic = faults.get("clinic")
        if clinic and f"/clinic/{clinic}/" not in request.path:
            return None
        mode = faults.get("mode")
        if mode == "slow":
            time.sleep(float(faults.get("delay", 3)))
        elif mode == "down":
            return Response("Service Unavailable", 503)
        elif mode == "error_code":
            name = request.path.rstrip("/").rsplit("/", 1)[-1].replace("v2", "res")
            from simulators.orca.responses import header

            return reply(name, header(str(faults.get("code", "90")), faults.get("message", "他端末使用中")))
        return None

    @app.get("/")
    def index():
        return jsonify({"simulator": "ORCA", "clinics": sorted(states)})

    @app.post("/_sim/faults")
    def set_faults():
        faults.clear()
        faults.update(request.get_json(force=True) or {})
        return jsonify(faults)

    @app.post("/_sim/reset")
    def reset():
        faults.clear()
        for code, state in list(states.items()):
            states[code] = ClinicState(state.config, today)
        return jsonify({"status": "reset"})

    @app.post("/_sim/clinic/<code>/patients/<patient_id>")
    def change_patient(code: str, patient_id: str):
        """Harness: change a patient as a clerk would in ORCA's screen 12 (a patient_information event follows)."""
        state = states[code]
        state.update_patient(patient_id, request.get_json(force=True) or {})
        return jsonify(state.patients[patient_id])

    @app.route("/clinic/<code>/api/<path:api_path>", methods=["GET", "POST"])
    def api(code: str, api_path: str):
        state = state_for(code)
        if faults.get("mode") == "malformed":
            return _malformed(api_path)
        handler = state.handler(api_path, request.method)
        if handler is None:
            return Response('{"Code":404,"Message":"code=404, message=Not Found"}', 404,
                            mimetype="application/json")
        return handler()

    return app


def _malformed(api_path: str) -> Response:
    """A reply that breaks the published shape: required fields missing, an impossible date."""
    name = api_path.rsplit("/", 1)[-1].replace("v2", "res")
    body = {"Api_Result": "00", "Api_Result_Message": "処理終了",
            "Patient_Information": {"Patient_ID": "00001", "BirthDate": "1958-02-30", "Sex": "3"},
            "Acceptlst_Information": [{"Acceptance_Time": "25:61:00"}]}
    return Response(__import__("json").dumps({name: body}, ensure_ascii=False), mimetype="application/json")


def now_jst() -> datetime:
    """The simulator's clock in Japan time."""
    return datetime.now(JST)
