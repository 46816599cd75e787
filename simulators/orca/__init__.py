"""A simulator of the WebORCA / 日医標準レセプトソフト HTTP API (docs/standards/orca.md) for demo and tests.

One process hosts several clinics, each as its own ORCA server under its own base path and Basic-auth user:

    http://HOST:PORT/clinic/<医療機関コード>/api/<API path>     e.g. …/clinic/1310123458/api/api01rv2/patientgetv2?id=1

(`/api` as on WebORCA; a clinic configured with api_prefix="" answers at the classic on-premises paths). Both
xml2 and JSON (`format=json`) are spoken, with the published result codes. `/_sim/…` is the test harness
(fault injection, reset, clerk actions) and is not part of ORCA. No CLAIM.
"""

from __future__ import annotations

from datetime import date

from flask import Flask, jsonify

from simulators.orca.data import DEFAULT_CLINICS, ClinicConfig
from simulators.orca.dispatch import APIS, handle
from simulators.orca.faults import FaultBoard
from simulators.orca.harness import register_harness
from simulators.orca.state import ClinicState

__all__ = ["DEFAULT_CLINICS", "ClinicConfig", "create_app"]

METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"]


def create_app(clinics: list[ClinicConfig] | None = None, today: date | None = None) -> Flask:
    """The simulator; `today` fixes the clinics' day (default: the date in Japan at each request)."""
    app = Flask(__name__)
    configs = list(clinics or DEFAULT_CLINICS)
    states = {c.institution_code: ClinicState(c, today) for c in configs}
    faults = FaultBoard()
    app.extensions["orca_simulator"] = {"states": states, "faults": faults}
    register_harness(app, states, faults, configs, today)

    @app.get("/")
    def index():
        return jsonify({"simulator": "WebORCA API", "clinics": {
            code: f"/clinic/{code}{state.config.api_prefix}" for code, state in states.items()},
            "apis": sorted(APIS), "harness": "/_sim/"})

    @app.route("/clinic/<code>/", defaults={"rest": ""}, methods=METHODS)
    @app.route("/clinic/<code>/<path:rest>", methods=METHODS)
    def clinic(code: str, rest: str):
        return handle(states.get(code), faults, code, rest)

    return app
