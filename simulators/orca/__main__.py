"""python -m simulators.orca --port N: serve the ORCA simulator on loopback."""

from __future__ import annotations

import argparse
import logging

from werkzeug.serving import make_server

from simulators.orca import create_app


def main() -> None:
    """Serve until stopped."""
    parser = argparse.ArgumentParser(description="ORCA API simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server(args.host, args.port, create_app(), threaded=True)
    print(f"ORCA simulator on http://{args.host}:{server.server_port}/clinic/<医療機関コード>/api", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
