"""The demo runner: simulators on free ports, migrate, seed an empty database, serve on 127.0.0.1:$PORT through
the production server (gunicorn, several worker processes) with the outbox worker, pollers and transfer worker as
processes.

Started by scripts/demo.sh (the README's first Quick start command). Everything it starts stops with it.
The app reaches the simulators over HTTP only, exactly as it would reach the real systems.
"""

from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from app.config import usable_cores

ROOT = Path(__file__).resolve().parent.parent
#: The worker processes beside the web server: the `flask --app wsgi …` commands of deploy/systemd's worker units
#: (tests/test_container_layout.py keeps the two lists equal).
WORKER_COMMANDS = (("outbox-worker",), ("orca-poller",), ("lab", "poller"), ("transfer-worker",))
CHILDREN: list[subprocess.Popen] = []


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_children() -> None:
    """Stop every process the demo started."""
    for child in CHILDREN:
        if child.poll() is None:
            child.terminate()
    for child in CHILDREN:
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.kill()


def wait_http(url: str, timeout: float = 30.0) -> None:
    """Wait until a URL answers (any status)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {timeout:.0f} s")


def start_simulator(module: str) -> str:
    """Start one simulator (python -m simulators.<module>) on a free port; return its root URL."""
    port = free_port()
    command = [sys.executable, "-m", f"simulators.{module}", "--host", "127.0.0.1", "--port", str(port)]
    CHILDREN.append(subprocess.Popen(command, cwd=ROOT))  # noqa: S603 — our own module, fixed arguments
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/")
    return url


def start_pacs():
    """Start Orthanc as the demo PACS (stopped with the demo), or say plainly why there is none."""
    from app.integrations.pacs.orthanc_process import orthanc_missing_reason, start_orthanc

    reason = orthanc_missing_reason()
    if reason:
        print(f"PACS: なし — {reason}。画像の画面は「PACSが設定されていません」などと表示します", flush=True)
        return None
    pacs = start_orthanc()
    atexit.register(pacs.stop)
    print(f"PACS (Orthanc): {pacs.dicomweb_url}", flush=True)
    return pacs


def main() -> None:
    """Run the demo in the foreground until Ctrl-C."""
    os.environ.setdefault("KAMIKARTE_COOKIE_SECURE", "0")  # plain HTTP on loopback
    port = int(os.environ.get("PORT", "5000"))
    atexit.register(stop_children)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    orca_root = start_simulator("orca")
    print(f"ORCA simulator: {orca_root}", flush=True)
    terminal_root = start_simulator("oqs_terminal")
    print(f"資格確認端末 simulator (電子処方箋, オンライン資格確認 histories): {terminal_root}", flush=True)
    sharing_root = start_simulator("sharing_service")
    print(f"電子カルテ情報共有サービス simulator: {sharing_root}", flush=True)

    lab_root = start_simulator("lab_center")
    print(f"臨床検査センター simulator: {lab_root}", flush=True)

    pacs = start_pacs()

    from app import create_app
    from app.cli import upgrade_database
    from app.config import Config
    from app.demo.runtime import prepare_demo

    config = Config()
    upgrade_database(config.DATABASE_URL)
    app = create_app(config)
    from app.integrations.eprescription.signing import TestSigner

    # The demo's doctors sign with the project's test CA, which the simulated service is told to trust.
    requests.post(f"{terminal_root}/_sim/eprescription/trust", data=TestSigner(app.instance_path).ca_pem,
                  timeout=5).raise_for_status()
    with app.app_context():
        prepare_demo(app, orca_root, terminal_root, pacs=pacs, lab_root=lab_root, sharing_root=sharing_root)
    from app.demo.seed import LAB_INBOUND_DEMO_TOKENS

    for code, token in LAB_INBOUND_DEMO_TOKENS.items():  # the lab pushes results to our endpoint
        requests.post(f"{lab_root}/_sim/push", timeout=5, json={
            "clinic": code, "url": f"http://127.0.0.1:{port}/integrations/lab/{code}/results", "token": token})

    serve_like_production(port, config.DATABASE_URL)


def serve_like_production(port: int, database_url: str) -> None:
    """Serve as production does (deploy/systemd): gunicorn with several worker processes, and the outbox worker,
    the pollers and the transfer worker as processes of their own, all on the same database; return when the web
    server stops."""
    env = {**os.environ, "KAMIKARTE_OUTBOX_THREAD": "0"}
    env.setdefault("KAMIKARTE_WEB_WORKERS", str(max(2, usable_cores())))
    bin_dir = Path(sys.executable).parent
    web = subprocess.Popen([str(bin_dir / "gunicorn"), "--config", "deploy/gunicorn.conf.py",  # noqa: S603
                            "--bind", f"127.0.0.1:{port}", "wsgi:app"], cwd=ROOT, env=env)
    CHILDREN.append(web)
    for command in WORKER_COMMANDS:
        CHILDREN.append(subprocess.Popen([str(bin_dir / "flask"), "--app", "wsgi", *command],  # noqa: S603
                                         cwd=ROOT, env=env))
    wait_http(f"http://127.0.0.1:{port}/healthz", timeout=120)
    print(f"web: gunicorn × {env['KAMIKARTE_WEB_WORKERS']} workers; outbox worker, ORCA and lab pollers, "
          "transfer worker", flush=True)
    print(f"Kamikarte demo: http://127.0.0.1:{port}/  (database: {database_url})", flush=True)
    web.wait()


if __name__ == "__main__":
    main()
