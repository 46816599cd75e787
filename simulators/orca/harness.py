"""/_sim/…: the test and demo harness (faults, reset, what a clerk does on ORCA's own screens). Not ORCA."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Flask, abort, jsonify, request

from simulators.orca.data import ClinicConfig
from simulators.orca.faults import FaultBoard
from simulators.orca.state import ClinicState, parse_day


def register_harness(app: Flask, states: dict[str, ClinicState], faults: FaultBoard, configs: list[ClinicConfig],
                     today: date | None) -> None:
    """Add the /_sim/ endpoints."""

    def state_of(code: str) -> ClinicState:
        state = states.get(code)
        if state is None:
            abort(404)
        return state

    def body() -> dict[str, Any]:
        payload = request.get_json(silent=True, force=True)
        return payload if isinstance(payload, dict) else {}

    @app.get("/_sim/faults")
    def show_fault():
        return jsonify({"fault": faults.describe()})

    @app.post("/_sim/faults")
    def set_fault():
        """{"mode": "down"|"slow"|"malformed"|"error_code", …}; {} clears."""
        try:
            return jsonify({"fault": faults.set(body())})
        except (TypeError, ValueError) as exc:
            return jsonify({"error": str(exc)}), 400

    @app.delete("/_sim/faults")
    def clear_fault():
        faults.clear()
        return jsonify({"fault": None})

    @app.post("/_sim/reset")
    def reset():
        """Fresh seeded data in every clinic, no fault."""
        faults.clear()
        for config in configs:
            states[config.institution_code] = ClinicState(config, today)
        return jsonify({"status": "reset"})

    @app.post("/_sim/clinic/<code>/patients/<patient_id>")
    def change_patient(code: str, patient_id: str):
        """Change a patient as a clerk does on ORCA's screen 12 (ORCA field names); patient_information follows."""
        state = state_of(code)
        with state.lock:
            if patient_id not in state.patients:
                abort(404)
            return jsonify(state.update_patient(patient_id, body()))

    @app.post("/_sim/clinic/<code>/patients/<patient_id>/first-calculation")
    def set_first_calculation(code: str, patient_id: str):
        """{"date": "YYYY-MM-DD" or null}: the patient's 初診算定日 as a clerk sets it in ORCA (null: none)."""
        state = state_of(code)
        raw = body().get("date")
        day = parse_day(raw) if raw else None
        with state.lock:
            if patient_id not in state.patients or (raw and day is None):
                abort(404 if patient_id not in state.patients else 400)
            if day is None:
                state.first_calculation.pop(patient_id, None)
            else:
                state.first_calculation[patient_id] = day
            return jsonify({"First_Calculation_Date": day.isoformat() if day else None})

    @app.post("/_sim/clinic/<code>/receptions/<day>/<acceptance_id>/account")
    def account(code: str, day: str, acceptance_id: str):
        """会計 as the clerk finishes it in ORCA: Account_Time is set, patient_account is announced."""
        state = state_of(code)
        parsed = parse_day(day)
        with state.lock:
            reception = state.find_reception(parsed, acceptance_id) if parsed else None
            if reception is None:
                abort(404)
            state.pay(reception)
            return jsonify({"Acceptance_Id": reception.acceptance_id, "Account_Time": reception.account_time})

    @app.post("/_sim/clinic/<code>/push/last_id")
    def push_last_id(code: str):
        """{"id": N}: the next PUSH notification gets id N+1 (N = 65535 wraps to 1), to exercise the wrap."""
        state = state_of(code)
        value = body().get("id")
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 65535:
            return jsonify({"error": "id must be 0–65535"}), 400
        with state.lock:
            state.event_counter = value
        return jsonify({"next_id": value % 65535 + 1})

    @app.post("/_sim/clinic/<code>/medical/<uid>/open")
    def open_medical(code: str, uid: str):
        """The clerk opens a 中途データ in 「21 診療行為」 (Medical_Mode 1): the API can no longer delete it."""
        state = state_of(code)
        with state.lock:
            entry = next((m for m in state.medical if m["Medical_Uid"] == uid), None)
            if entry is None:
                return jsonify({"error": "no such Medical_Uid"}), 404
            entry["Medical_Mode"] = "1"
            return jsonify(entry)

    @app.get("/_sim/clinic/<code>/medical")
    def medical(code: str):
        """The 中途データ kept from medicalmodv2."""
        state = state_of(code)
        with state.lock:
            return jsonify(state.medical)
