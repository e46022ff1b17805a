"""Secrets (the bot token, database passwords) never reach a log line or an error.

Every secret the process holds is registered once; the logging filter and
the command line's error printer replace it wherever it appears, including in
messages from libraries (httpx request URLs carry the token; so does
python-telegram-bot's InvalidToken message).
"""

from __future__ import annotations

import logging

REDACTED = "<redacted>"
_secrets: set[str] = set()


def register_secret(value: str) -> None:
    if len(value) >= 6:  # too short to be a real secret, and would redact ordinary words
        _secrets.add(value)


def redact(text: str) -> str:
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites a record's final message (and drops its traceback text's secrets)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _secrets:
            message = record.getMessage()
            cleaned = redact(message)
            if cleaned != message:
                record.msg, record.args = cleaned, None
            if record.exc_info and record.exc_info[1] is not None:
                formatted = logging.Formatter().formatException(record.exc_info)
                record.exc_info = None
                record.exc_text = redact(formatted)
        return True


def install_filter(logger: logging.Logger | None = None) -> None:
    """Put the filter on every handler of ``logger`` (default: root), where
    records from child loggers pass too."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
