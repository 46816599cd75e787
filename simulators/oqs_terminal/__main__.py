"""python -m simulators.oqs_terminal --port N [--host 127.0.0.1]: serve the 資格確認端末 relay simulator with the
national services' simulators behind it (the 電子処方箋管理サービス, オンライン資格確認's histories)."""

from __future__ import annotations

import argparse
import logging

from werkzeug.serving import make_server

from simulators.eprescription import create_app
from simulators.onshi import handlers as onshi_handlers
from simulators.onshi.demo_data import demo_state as onshi_demo_state


def main() -> None:
    """Serve until stopped."""
    parser = argparse.ArgumentParser(description="資格確認端末 simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8005)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = create_app(extra_handlers=onshi_handlers(onshi_demo_state()))
    server = make_server(args.host, args.port, app, threaded=True)
    print(f"資格確認端末 simulator on http://{args.host}:{server.server_port}/clinic/<医療機関コード>", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
