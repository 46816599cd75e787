"""python -m simulators.orca --port N [--host 127.0.0.1]: serve the ORCA simulator (no debugger, no reloader)."""

from __future__ import annotations

from simulators.common import serve_until_stopped
from simulators.orca import create_app


def main() -> None:
    """Serve until stopped."""
    serve_until_stopped("WebORCA API simulator (several clinics, one per base path)", 8000, lambda args: create_app(),
                        lambda root: f"ORCA simulator on {root}/clinic/<医療機関コード>/api (harness: {root}/_sim/)")


if __name__ == "__main__":
    main()
