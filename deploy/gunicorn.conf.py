"""gunicorn settings of every Kamikarte web server: the systemd unit, the container and the demo.

One worker process per core (KAMIKARTE_WEB_WORKERS, read by app.config.Config), each with threads for the waits on
the database and the outside systems (ORCA, PACS, the national services). Each worker builds its own app after the
fork (no preload), so no database connection is shared between processes. The address comes from `--bind`.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, before gunicorn's own chdir

from app.config import Config  # noqa: E402 — after the path above

workers = max(1, Config().WEB_WORKERS)
worker_class = "gthread"
threads = 8
timeout = 120  # a letter PDF with key images or a slow outside system, never a stuck worker
graceful_timeout = 30
keepalive = 5
proc_name = "kamikarte-web"
# No control socket ($HOME/.gunicorn/gunicorn.ctl): the units manage the server by signals (systemctl reload is
# SIGHUP), the home directory is read-only under systemd, and several servers of one user would share the path.
control_socket_disable = True
