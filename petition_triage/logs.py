"""The one logging set-up: plain lines on stderr, with personal numbers masked."""

from __future__ import annotations

import logging

from .privacy import mask_personal_data


class MaskingFilter(logging.Filter):
    """Masks phone and ID numbers in every record, whatever module logged it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_personal_data(record.getMessage())
        record.args = None
        return True


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(MaskingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
