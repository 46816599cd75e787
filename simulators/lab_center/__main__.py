"""python -m simulators.lab_center --port N [--host 127.0.0.1] [--auto-release SECONDS]: serve the lab simulator."""

from __future__ import annotations

from simulators.common import serve_until_stopped
from simulators.lab_center import create_app


def main() -> None:
    """Serve until stopped."""
    serve_until_stopped(
        "臨床検査センター simulator", 8002, lambda args: create_app(auto_release_seconds=args.auto_release),
        lambda root: f"臨床検査センター simulator on {root}/clinic/<医療機関コード>",
        lambda parser: parser.add_argument(
            "--auto-release", type=float, default=20.0,
            help="report results this many seconds after accepting an order (0: only on /_sim/release)"))


if __name__ == "__main__":
    main()
