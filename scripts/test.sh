#!/usr/bin/env bash
# Run the whole test suite: install what is needed, lint, then unit, HTTP, integration and browser
# tests on PostgreSQL and, where it behaves differently, SQLite (see tests/conftest.py).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
# PostgreSQL is part of the suite; start the local cluster if it is installed but stopped.
if command -v pg_isready >/dev/null && ! pg_isready -h 127.0.0.1 -q 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
fi
.venv/bin/ruff check .
# Four workers on two cores: much of a test's time is waiting (a server starting, a browser, Orthanc), and more
# workers fill those waits (two workers kept the cores about 55% busy, three about 75%).
.venv/bin/python -m pytest -q -p no:cacheprovider -n 4 "$@"
