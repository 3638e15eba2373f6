"""Logging filters."""

from __future__ import annotations

import logging


class ClientErrorsOneLine(logging.Filter):
    """Drop the traceback from django.request records of ordinary client errors.

    Django logs a refused permission ("Forbidden (Permission denied): /path") with the
    exception attached, so every 403 printed a traceback that says nothing about a fault. A 403
    or 404 is an answer, not a failure: keep the line (method, path and status are in it),
    drop the stack. Server errors keep theirs.
    """

    QUIET = frozenset({403, 404})

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) in self.QUIET:
            record.exc_info = None
            record.exc_text = None
        return True
