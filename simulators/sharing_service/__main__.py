"""python -m simulators.sharing_service --port N [--host 127.0.0.1]: serve the 電子カルテ情報共有サービス simulator."""

from __future__ import annotations

from simulators.common import serve_until_stopped
from simulators.sharing_service import create_app


def main() -> None:
    """Serve until stopped."""
    serve_until_stopped("電子カルテ情報共有サービス simulator", 8002, lambda args: create_app(),
                        lambda root: f"電子カルテ情報共有サービス simulator on {root}/clinic/<医療機関コード>/fhir")


if __name__ == "__main__":
    main()
