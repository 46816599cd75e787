"""Start the ORCA simulator on a free port in a thread, for tests (they reach it over real HTTP only).

    orca = start_orca_simulator()
    client = OrcaClient(orca.base_url("1310123458"), *orca.credentials("1310123458"))
    orca.set_fault("down", api="acceptlstv2", times=1)
    orca.stop()
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import requests
from werkzeug.serving import BaseWSGIServer, make_server

from simulators.orca import create_app
from simulators.orca.data import DEFAULT_CLINICS, ClinicConfig


@dataclass
class RunningOrca:
    """A running simulator: its root URL, each clinic's base URL and credentials, the harness, stop()."""

    url: str
    server: BaseWSGIServer
    thread: threading.Thread
    clinics: list[ClinicConfig] = field(default_factory=lambda: list(DEFAULT_CLINICS))

    @property
    def root(self) -> str:
        """The root URL (same as .url)."""
        return self.url

    def base_url(self, institution_code: str) -> str:
        """The base URL a clinic configures (ends in /api, as on WebORCA)."""
        config = self._config(institution_code)
        return f"{self.url}/clinic/{institution_code}{config.api_prefix}"

    def credentials(self, institution_code: str) -> tuple[str, str]:
        """The clinic's Basic-auth user and password."""
        config = self._config(institution_code)
        return config.user, config.password

    def set_fault(self, mode: str, **options: Any) -> None:
        """Inject a fault: down, slow, malformed (kind=…), error_code (code=…, message=…); scope with
        clinic=…, api=…, times=…"""
        self._post("/_sim/faults", {"mode": mode, **options})

    def clear_faults(self) -> None:
        """Back to normal."""
        self._post("/_sim/faults", {})

    def reset(self) -> None:
        """Fresh seeded data, no fault."""
        self._post("/_sim/reset", {})

    def account(self, institution_code: str, day: date, acceptance_id: str) -> None:
        """Finish a reception's 会計 in ORCA (Account_Time, patient_account)."""
        self._post(f"/_sim/clinic/{institution_code}/receptions/{day.isoformat()}/{acceptance_id}/account", {})

    def set_first_calculation(self, institution_code: str, patient_id: str, day: date | None) -> None:
        """Set (or clear, None) a patient's 初診算定日 in ORCA."""
        self._post(f"/_sim/clinic/{institution_code}/patients/{patient_id}/first-calculation",
                   {"date": day.isoformat() if day else None})

    def medical(self, institution_code: str) -> list[dict[str, Any]]:
        """The 中途データ the clinic's ORCA keeps (what medicalmodv2 registered)."""
        response = requests.get(f"{self.url}/_sim/clinic/{institution_code}/medical", timeout=5)
        response.raise_for_status()
        return response.json()

    def open_medical(self, institution_code: str, medical_uid: str) -> None:
        """A clerk opens that 中途データ in ORCA (the API can no longer delete or replace it)."""
        self._post(f"/_sim/clinic/{institution_code}/medical/{medical_uid}/open", {})

    def stop(self) -> None:
        """Shut the server down and free the port."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def _config(self, institution_code: str) -> ClinicConfig:
        for config in self.clinics:
            if config.institution_code == institution_code:
                return config
        raise KeyError(institution_code)

    def _post(self, path: str, payload: dict[str, Any]) -> None:
        requests.post(self.url + path, json=payload, timeout=15).raise_for_status()  # generous: a busy test machine


def start_orca_simulator(today: date | None = None, clinics: list[ClinicConfig] | None = None) -> RunningOrca:
    """Serve the simulator on 127.0.0.1:<free port> in a daemon thread; call .stop() when done."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    configs = list(clinics or DEFAULT_CLINICS)
    server = make_server("127.0.0.1", 0, create_app(configs, today=today), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="orca-simulator", daemon=True)
    thread.start()
    return RunningOrca(f"http://127.0.0.1:{server.server_port}", server, thread, configs)
