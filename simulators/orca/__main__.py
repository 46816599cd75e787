"""python -m simulators.orca --port N [--host 127.0.0.1]: serve the ORCA simulator (no debugger, no reloader)."""

from __future__ import annotations

import argparse
import logging

from werkzeug.serving import make_server

from simulators.orca import create_app


def main() -> None:
    """Serve until stopped."""
    parser = argparse.ArgumentParser(description="WebORCA API simulator (several clinics, one per base path)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server(args.host, args.port, create_app(), threaded=True)
    root = f"http://{args.host}:{server.server_port}"
    print(f"ORCA simulator on {root}/clinic/<医療機関コード>/api (harness: {root}/_sim/)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
