"""Keeps secrets out of logs, events and failure reasons."""
from __future__ import annotations

import logging
from typing import Iterable

_secrets: list[str] = []


def register_secrets(values: Iterable[str]) -> None:
    """Remember values that must be masked wherever text leaves the process."""
    for value in values:
        if value and value not in _secrets:
            _secrets.append(value)


def redact(text: str) -> str:
    """`text` with every registered secret replaced by ***."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, "***")
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that masks registered secrets in the formatted message."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _secrets:
            message = record.getMessage()
            masked = redact(message)
            if masked != message:
                record.msg, record.args = masked, None
        return True
