"""Start and stop a private Orthanc (Debian's orthanc + orthanc-dicomweb) as the PACS of the demo and the tests.

The configuration kept in the repository (deploy/orthanc/orthanc.json) is copied into a run directory with
what changes per run filled in: storage directory, a free loopback port, credentials. Authentication is always
on. The process is tied to its parent (PR_SET_PDEATHSIG on Linux), so a killed demo or test run leaves no
Orthanc behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[3]
CONFIG_TEMPLATE = ROOT / "deploy" / "orthanc" / "orthanc.json"
ORTHANC_BINARY = "/usr/sbin/Orthanc"
DICOMWEB_PLUGIN = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"


class OrthancNotInstalled(RuntimeError):
    """Orthanc or its DICOMweb plugin is missing on this machine."""


def orthanc_missing_reason() -> str | None:
    """None when Orthanc and the DICOMweb plugin are installed, else what is missing (in Japanese)."""
    binary = shutil.which("Orthanc") or (ORTHANC_BINARY if Path(ORTHANC_BINARY).exists() else None)
    if binary is None:
        return "Orthanc がインストールされていません（scripts/setup.sh が orthanc を入れます）"
    if not Path(DICOMWEB_PLUGIN).exists():
        return "Orthanc の DICOMweb プラグインがありません（orthanc-dicomweb を入れてください）"
    return None


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    """In the child before exec: receive SIGTERM when the parent dies (Linux), so no Orthanc is orphaned."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class RunningOrthanc:
    """A running Orthanc: its URL (DICOMweb root is url + '/dicom-web'), credentials, stop()."""

    url: str
    username: str
    password: str
    run_dir: Path
    process: subprocess.Popen
    owns_run_dir: bool = True
    _stopped: bool = field(default=False, repr=False)

    @property
    def dicomweb_url(self) -> str:
        """The DICOMweb root a clinic configures."""
        return f"{self.url}/dicom-web"

    @property
    def auth(self) -> tuple[str, str]:
        """HTTP basic credentials."""
        return (self.username, self.password)

    def upload(self, dicom: bytes) -> dict:
        """Store one DICOM file through Orthanc's REST API (used by seeds and tests); Orthanc's answer."""
        response = requests.post(f"{self.url}/instances", data=dicom, auth=self.auth, timeout=30)
        response.raise_for_status()
        return response.json()

    def stop(self) -> None:
        """Stop Orthanc and wait for the PID to exit (a restart on the same DB fails while it lives)."""
        if self._stopped:
            return
        self._stopped = True
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self.owns_run_dir:
            shutil.rmtree(self.run_dir, ignore_errors=True)


def write_config(run_dir: Path, port: int, username: str, password: str) -> Path:
    """The repository's configuration with this run's storage, port and credentials; its path."""
    config = json.loads(CONFIG_TEMPLATE.read_text(encoding="utf-8"))
    storage = run_dir / "db"
    storage.mkdir(parents=True, exist_ok=True)
    config.update({"StorageDirectory": str(storage), "IndexDirectory": str(storage), "HttpPort": port,
                   "RegisteredUsers": {username: password}, "Plugins": [DICOMWEB_PLUGIN]})
    config["DicomWeb"] = {**config["DicomWeb"], "Host": f"127.0.0.1:{port}"}
    path = run_dir / "orthanc.json"
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    return path


def start_orthanc(run_dir: Path | None = None, *, username: str = "kamikarte", password: str | None = None,
                  port: int | None = None, timeout: float = 20.0) -> RunningOrthanc:
    """Start Orthanc on 127.0.0.1:<free port> with authentication on; wait until it answers /system."""
    reason = orthanc_missing_reason()
    if reason:
        raise OrthancNotInstalled(reason)
    owns = run_dir is None
    run_dir = Path(run_dir or tempfile.mkdtemp(prefix="kamikarte-orthanc-"))
    run_dir.mkdir(parents=True, exist_ok=True)
    password = password or secrets.token_urlsafe(16)
    port = port or free_port()
    config = write_config(run_dir, port, username, password)
    binary = shutil.which("Orthanc") or ORTHANC_BINARY
    log = open(run_dir / "orthanc.log", "wb")  # noqa: SIM115 — the child keeps writing to it
    process = subprocess.Popen([binary, str(config)], stdout=log, stderr=subprocess.STDOUT,  # noqa: S603
                               cwd=run_dir, preexec_fn=_die_with_parent)  # noqa: PLW1509
    log.close()
    running = RunningOrthanc(f"http://127.0.0.1:{port}", username, password, run_dir, process, owns)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = (run_dir / "orthanc.log").read_text(errors="replace")[-2000:]
            running.stop()
            raise RuntimeError(f"Orthanc exited at start-up (code {process.returncode}):\n{tail}")
        try:
            if requests.get(f"{running.url}/system", auth=running.auth, timeout=1).status_code == 200:
                return running
        except requests.RequestException:
            pass
        time.sleep(0.05)
    running.stop()
    raise RuntimeError(f"Orthanc did not answer in {timeout:.0f} s")


def main() -> None:
    """Run a private Orthanc in the foreground (for trying things by hand) until Ctrl-C."""
    orthanc = start_orthanc(password=os.environ.get("ORTHANC_PASSWORD"))
    print(f"Orthanc: {orthanc.url}  DICOMweb: {orthanc.dicomweb_url}  user: {orthanc.username} "
          f"password: {orthanc.password}", flush=True)
    try:
        orthanc.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        orthanc.stop()


if __name__ == "__main__":
    main()
