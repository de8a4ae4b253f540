"""Password hashes: scrypt from the standard library, with a random salt per person.

The stored text carries its own parameters (``scrypt$n$r$p$salt$hash``), so the cost can be raised later
without making existing hashes unreadable. n = 2**14, r = 8 is the cost RFC 7914 and OWASP name for
interactive logins; it needs 16 MiB, under hashlib's 32 MiB default ``maxmem``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

N, R, P, LENGTH = 2**14, 8, 1, 32
MIN_LENGTH = 8


class PasswordError(ValueError):
    """A password that may not be set; the message says why (never the password)."""


def check_new(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise PasswordError(f"a password needs at least {MIN_LENGTH} characters")
    if password != password.strip():
        raise PasswordError("a password may not start or end with a space")


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=N, r=R, p=P, dklen=LENGTH)
    return f"scrypt${N}${R}${P}${_b64(salt)}${_b64(digest)}"


def verify(password: str, stored: str) -> bool:
    """True when ``password`` gives ``stored``; False for a wrong password or a hash this code cannot read."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(expected))
    except ValueError:
        return False
    return hmac.compare_digest(got, expected)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


# checked against when the name is unknown, so a wrong name costs the same time as a wrong password
DECOY = hash_password("decoy password", salt=b"\0" * 16)
