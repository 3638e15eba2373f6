"""Mailbox passwords at rest: Fernet (AES-128-CBC with HMAC-SHA256) from `cryptography`.

The keys come from `settings.MAIL_PASSWORD_KEY`, a list: the first encrypts, every one
decrypts, so a key is rotated by putting the new one first, running `manage.py
imap_rotate_key` (re-encrypts every password with the first key), then dropping the old one.
Each entry is any secret string; the Fernet key is derived from it with SHA-256, so the
setting need not be in Fernet's own format. With no entry, the key is derived from SECRET_KEY
(a rotated SECRET_KEY then needs its old value listed in MAIL_PASSWORD_KEY, see the README).
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

# Separates this use of SECRET_KEY from every other one (sessions, signing).
_CONTEXT = b"madoguchi.imap.mailbox-password:"


class PasswordUnreadable(Exception):
    """The stored password was encrypted with a key that is no longer configured."""


def _fernet_key(secret: str) -> bytes:
    return base64.urlsafe_b64encode(hashlib.sha256(_CONTEXT + secret.encode()).digest())


def _fernet() -> MultiFernet:
    secrets = [s for s in settings.MAIL_PASSWORD_KEY if s] or [settings.SECRET_KEY]
    return MultiFernet([Fernet(_fernet_key(s)) for s in secrets])


def encrypt(password: str) -> str:
    return _fernet().encrypt(password.encode()).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode("ascii")).decode()
    except InvalidToken as exc:
        raise PasswordUnreadable from exc


def rotate(token: str) -> str:
    """The token re-encrypted with the first key (any configured key may have made it)."""
    try:
        return _fernet().rotate(token.encode("ascii")).decode("ascii")
    except InvalidToken as exc:
        raise PasswordUnreadable from exc
