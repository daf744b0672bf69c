"""Personal data in petitions: masking for logs, one-way hashes for matching contacts."""

from __future__ import annotations

import hashlib
import re

# Mainland ID numbers (18 characters, last may be X) and mobile numbers, not inside longer digit runs.
_ID_NUMBER = re.compile(r"(?<!\d)(\d{6})\d{8}(\d{3}[\dXx])(?!\d)")
_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})-?\d{7,8}(?!\d)")


# Secrets a URL may carry in its query: a petitioner's status code, a key pasted into a link.
_QUERY_SECRET = re.compile(r"([?&](?:code|key|api_key|token|csrf)=)[^&\s\"']+", re.IGNORECASE)


def mask_url_secrets(text: str) -> str:
    """Hides the values of secret query parameters (`?code=123456` becomes `?code=***`)."""
    return _QUERY_SECRET.sub(r"\1***", text)


def mask_personal_data(text: str) -> str:
    """Masks ID, mobile and landline numbers, keeping just enough to tell records apart."""
    text = _ID_NUMBER.sub(r"\1********\2", text)
    text = _MOBILE.sub(r"\1****\2", text)
    return _LANDLINE.sub(r"\1-********", text)


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PERSONAL_NUMBERS = (_ID_NUMBER, _MOBILE, _LANDLINE, _EMAIL)


def hash_personal_data(text: str, salt: str) -> str:
    """Replaces each ID, mobile or landline number and e-mail address by `#` and 16 hex digits of its
    salted hash: stored metadata keeps no contact in clear under any key, and equal numbers still
    compare equal."""
    for pattern in _PERSONAL_NUMBERS:
        text = pattern.sub(lambda m: "#" + contact_hash(m.group(0), salt)[:16], text)
    return text


def contact_hash(value: str, salt: str) -> str:
    """A salted SHA-256 of a normalised phone or ID number: comparable, never reversible to clear text."""
    normalised = re.sub(r"[\s-]", "", value).upper()
    return hashlib.sha256((salt + normalised).encode("utf-8")).hexdigest()
