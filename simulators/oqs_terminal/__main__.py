"""python -m simulators.oqs_terminal --port N [--host 127.0.0.1]: serve the 資格確認端末 relay simulator with the
national services' simulators behind it (the 電子処方箋管理サービス, オンライン資格確認's histories)."""

from __future__ import annotations

from simulators.common import serve_until_stopped
from simulators.eprescription import create_app
from simulators.onshi import handlers as onshi_handlers
from simulators.onshi.demo_data import demo_state as onshi_demo_state


def main() -> None:
    """Serve until stopped."""
    serve_until_stopped("資格確認端末 simulator", 8005,
                        lambda args: create_app(extra_handlers=onshi_handlers(onshi_demo_state())),
                        lambda root: f"資格確認端末 simulator on {root}/clinic/<医療機関コード>")


if __name__ == "__main__":
    main()
