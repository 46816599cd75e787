"""What every client's errors share: a Japanese message for staff (`message_ja`) and whether trying again later
can help (`retryable`). Each client subclasses it with its own kinds (unavailable, rejected …)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class IntegrationError(Exception):
    """An outside system could not be used as asked."""

    retryable = True

    def __init__(self, message_ja: str) -> None:
        super().__init__(message_ja)
        self.message_ja = message_ja


class Refused:
    """Mixin of a client's error that trying again cannot mend: a refusal for good, a setting to fix, a reply that
    cannot be read (put it before the client's own error class)."""

    retryable = False


def connection_answer(client: Any, ask: Callable[[Any], T], not_configured: str) -> tuple[T | None, str]:
    """A connection test's one call to an outside system: (its answer, "") or (None, why in Japanese) — no
    client because the settings are incomplete (`not_configured`), or the system's refusal."""
    if client is None:
        return None, not_configured
    try:
        return ask(client), ""
    except IntegrationError as exc:
        return None, exc.message_ja
