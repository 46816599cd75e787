"""The private Orthanc: authentication on, DICOMweb on, storage in its own directory, and it never outlives the
process that started it (not even a killed one)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from app.config import ROOT


def test_orthanc_refuses_anonymous_requests_and_serves_dicomweb(orthanc_server):
    assert requests.get(f"{orthanc_server.url}/system", timeout=5).status_code == 401
    assert requests.get(f"{orthanc_server.dicomweb_url}/studies", timeout=5).status_code == 401
    answer = requests.get(f"{orthanc_server.url}/plugins", auth=orthanc_server.auth, timeout=5).json()
    assert "dicom-web" in answer
    assert orthanc_server.url.startswith("http://127.0.0.1:")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split()[2] == "Z")


def test_orthanc_dies_with_a_killed_parent(orthanc_server):
    script = ("from app.integrations.pacs.orthanc_process import start_orthanc\n"
              "o = start_orthanc()\nprint(o.process.pid, o.run_dir, flush=True)\nimport time\ntime.sleep(60)\n")
    parent = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True)  # noqa: S603
    pid_text, run_dir = parent.stdout.readline().split()
    pid = int(pid_text)
    assert _alive(pid)
    parent.send_signal(signal.SIGKILL)  # no atexit, no cleanup: only the kernel's parent-death signal is left
    parent.wait(timeout=5)
    deadline = time.monotonic() + 20
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(pid), "Orthanc outlived its parent"
    shutil.rmtree(run_dir, ignore_errors=True)
