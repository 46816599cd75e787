"""python -m simulators.sharing_service --port N [--host 127.0.0.1]: serve the 電子カルテ情報共有サービス simulator."""

from __future__ import annotations

import argparse
import logging

from werkzeug.serving import make_server

from simulators.sharing_service import create_app


def main() -> None:
    """Serve until stopped."""
    parser = argparse.ArgumentParser(description="電子カルテ情報共有サービス simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8002)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server(args.host, args.port, create_app(), threaded=True)
    print(f"電子カルテ情報共有サービス simulator on http://{args.host}:{server.server_port}"
          "/clinic/<医療機関コード>/fhir", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
