"""Protection of rater and applicant personal data (评价人信息保护).

Values are encrypted at rest with Fernet (AES-128-CBC + HMAC) under keys from configuration; the first
key encrypts, all keys decrypt, so a key can be rotated by prepending a new one and re-encrypting
(``haochaping pii rotate``, later). Look-ups use a keyed HMAC-SHA256 of the normalised value, so equal
phone numbers can be matched without decrypting. Display always goes through ``mask_*``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


def _fernet_key(secret: str) -> bytes:
    # Accept any configured secret string: derive the 32-byte Fernet key from it.
    return base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest())


@lru_cache(maxsize=4)
def _cipher(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(_fernet_key(k)) for k in keys])


def _current_cipher() -> MultiFernet:
    return _cipher(tuple(settings.PII_KEYS))


def normalise(value: str) -> str:
    return "".join(value.split()).upper()


def encrypt(value: str) -> str:
    if not value:
        return ""
    return _current_cipher().encrypt(normalise(value).encode()).decode()


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _current_cipher().decrypt(token.encode()).decode()
    except InvalidToken:
        return ""


def lookup_hash(value: str) -> str:
    """Keyed hash for equality look-ups; empty for an empty value."""
    if not value:
        return ""
    key = settings.PII_HASH_KEY.encode()
    return hmac.new(key, normalise(value).encode(), hashlib.sha256).hexdigest()


def mask_phone(value: str) -> str:
    value = normalise(value)
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_cert(value: str) -> str:
    value = normalise(value)
    if len(value) <= 4:
        return "*" * len(value)
    return value[:2] + "*" * (len(value) - 4) + value[-2:]


def mask_name(value: str) -> str:
    value = value.strip()
    if not value:
        return ""
    return value[0] + "*" * max(len(value) - 1, 1)
