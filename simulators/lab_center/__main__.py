"""python -m simulators.lab_center --port N [--host 127.0.0.1] [--auto-release SECONDS]: serve the lab simulator."""

from __future__ import annotations

import argparse
import logging

from werkzeug.serving import make_server

from simulators.lab_center import create_app


def main() -> None:
    """Serve until stopped."""
    parser = argparse.ArgumentParser(description="臨床検査センター simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8002)
    parser.add_argument("--auto-release", type=float, default=20.0,
                        help="report results this many seconds after accepting an order (0: only on /_sim/release)")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server(args.host, args.port, create_app(auto_release_seconds=args.auto_release), threaded=True)
    print(f"臨床検査センター simulator on http://{args.host}:{server.server_port}/clinic/<医療機関コード>", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
