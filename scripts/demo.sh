#!/usr/bin/env bash
# Start the demo: install what is needed, migrate, seed an empty database, start the simulators
# (and Orthanc where installed), and serve on 127.0.0.1:${PORT:-5000} until stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec .venv/bin/python -m scripts.run_demo "$@"
