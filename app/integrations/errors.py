"""What every client's errors share: a Japanese message for staff (`message_ja`) and whether trying again later
can help (`retryable`). Each client subclasses it with its own kinds (unavailable, rejected …)."""

from __future__ import annotations


class IntegrationError(Exception):
    """An outside system could not be used as asked."""

    retryable = True

    def __init__(self, message_ja: str) -> None:
        super().__init__(message_ja)
        self.message_ja = message_ja
