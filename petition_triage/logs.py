"""The one logging set-up: plain lines on stderr, with personal numbers masked."""

from __future__ import annotations

import logging

from .privacy import mask_personal_data, mask_url_secrets


class MaskingFormatter(logging.Formatter):
    """Masks phone and ID numbers and secret query values (a petitioner's status code) in every line
    written, whatever module logged it, tracebacks included (an error's frames can hold a petition)."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_personal_data(mask_url_secrets(super().format(record)))


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(MaskingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
