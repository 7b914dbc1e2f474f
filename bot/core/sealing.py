"""Encryption at rest of report texts, evidence and private statements.

Authenticated encryption (AES-GCM from the ``cryptography`` package) with a key the
admin keeps in an environment variable. A database written with a key cannot be read
without it, and a wrong key is refused at start, never read as plaintext.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bot.core.errors import ConcordError

PREFIX = "sealed:v1:"
CHECK_TEXT = "concord key check"


class SealingError(ConcordError):
    """The encryption key is missing or wrong for this database."""


class Sealer:
    def __init__(self, key: bytes | None) -> None:
        self._aead = AESGCM(key) if key else None

    @property
    def active(self) -> bool:
        return self._aead is not None

    def seal(self, text: str) -> str:
        if self._aead is None:
            return text
        nonce = os.urandom(12)
        data = self._aead.encrypt(nonce, text.encode("utf-8"), None)
        return PREFIX + base64.b64encode(nonce + data).decode("ascii")

    def open(self, stored: str) -> str:
        if not stored.startswith(PREFIX):
            return stored
        if self._aead is None:
            raise SealingError("this database holds encrypted texts: set the encryption key")
        raw = base64.b64decode(stored[len(PREFIX) :])
        try:
            return self._aead.decrypt(raw[:12], raw[12:], None).decode("utf-8")
        except InvalidTag as exc:
            raise SealingError("the encryption key does not match this database") from exc

    def check(self, stored_check: str | None) -> str | None:
        """Compare with the database's key check; returns a new check to store, if any."""
        if stored_check is None:
            return self.seal(CHECK_TEXT) if self.active else None
        if not stored_check.startswith(PREFIX):
            if self.active:
                return self.seal(CHECK_TEXT)
            return None
        if self.open(stored_check) != CHECK_TEXT:
            raise SealingError("the encryption key does not match this database")
        return None
