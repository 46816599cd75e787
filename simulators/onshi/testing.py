"""Start the 資格確認端末 simulator with the history service's handlers, for tests and the benchmark (reached over
real HTTP only; the test arranges what the service holds through `state`). As in the demo and in a clinic, the
same terminal also carries the 電子処方箋管理サービス."""

from __future__ import annotations

from dataclasses import dataclass, field

from simulators.eprescription import create_app as terminal_with_eprescription
from simulators.onshi import OnshiState, handlers
from simulators.oqs_terminal.testing import RunningTerminal
from simulators.testing import serve


@dataclass
class RunningOnshi:
    """The running terminal and the history service's state behind it."""

    terminal: RunningTerminal
    state: OnshiState = field(default_factory=OnshiState)

    def connection(self, institution_code: str, **extra: object) -> dict[str, object]:
        """A clinic's `national_gateway` setting pointing at the relay."""
        return {"url": self.terminal.base_url(institution_code), "token": self.terminal.token(institution_code),
                **extra}

    def stop(self) -> None:
        """Shut the terminal down."""
        self.terminal.stop()


def start_onshi(state: OnshiState | None = None) -> RunningOnshi:
    """Serve the terminal on a free port answering YZKsiquc01 / TKKsiquc01 from `state` (a new one by default)."""
    state = state or OnshiState()
    return RunningOnshi(serve(terminal_with_eprescription(extra_handlers=handlers(state)), RunningTerminal), state)
