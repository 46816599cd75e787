"""`python -m bench.lab_drop DATABASE_URL CLINIC_ID DIRECTORY`: import a lab's file drop in a fresh process (nothing
of the lab-item master or the import remembered from earlier work) through `import_messages`, the import's public
entry point, and print {"lines": …, "seconds": …} as JSON. Reading the files is not timed; the import is."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace
from pathlib import Path

from app import create_app
from app.config import TestConfig
from app.labs.importer import import_messages
from bench.server import BENCH_SECRET


def main(argv: list[str]) -> None:
    """Import the directory's *.hl7 files as one drop; exit with a message when any of them is refused."""
    url, clinic_id, files = argv[0], int(argv[1]), sorted(Path(argv[2]).glob("*.hl7"))
    app = create_app(replace(TestConfig(), DATABASE_URL=url, SECRET_KEY=BENCH_SECRET))
    payloads = [(path.read_bytes(), path.name) for path in files]
    with app.extensions["db_sessionmaker"]() as session:
        started = time.perf_counter()
        outcomes = import_messages(session, clinic_id, payloads, source="file")
        seconds = time.perf_counter() - started
    refused = [o for o in outcomes if not o.ok]
    if refused:
        raise SystemExit(f"{len(refused)} of {len(outcomes)} drop files refused; first: {refused[0].error}")
    print(json.dumps({"lines": sum(o.results for o in outcomes), "seconds": seconds}))
    app.extensions["db_engine"].dispose()


if __name__ == "__main__":
    main(sys.argv[1:])
