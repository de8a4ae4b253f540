"""Password hashes: scrypt from the standard library, with a random salt per person.

The stored text carries its own parameters (``scrypt$n$r$p$salt$hash``), so the cost can be raised later
without making existing hashes unreadable. n = 2**14, r = 8 is the cost RFC 7914 and OWASP name for
interactive logins; it needs 16 MiB, under hashlib's 32 MiB default ``maxmem``.

A server hashes aside (``verify_aside``, ``hash_aside``): in a thread of its own, which the event loop does
not wait for (hashlib's scrypt lets go of the interpreter's lock), at a lower CPU priority where the system
allows it. A crowd logging in at the start of a shift then queues behind itself, not in front of the
sessions already on a call, whose cards the event loop draws.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

N, R, P, LENGTH = 2**14, 8, 1, 32
MIN_LENGTH = 8
HASHING_THREADS = 1   # per process: logins at once wait their turn here, not on the CPU the sessions need
HASHING_NICE = 10     # the hashing thread's priority below the event loop's (Linux: a thread's own)


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


_hashing: ThreadPoolExecutor | None = None


def _lower_priority() -> None:
    if sys.platform.startswith("linux"):      # there a thread id names the thread alone
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICE)


def _executor() -> ThreadPoolExecutor:
    global _hashing
    if _hashing is None:
        _hashing = ThreadPoolExecutor(HASHING_THREADS, thread_name_prefix="password-hash",
                                      initializer=_lower_priority)
    return _hashing


async def verify_aside(password: str, stored: str) -> bool:
    """``verify`` in the hashing thread: the event loop goes on meanwhile."""
    return await asyncio.get_running_loop().run_in_executor(_executor(), verify, password, stored)


async def hash_aside(password: str) -> str:
    """``hash_password`` in the hashing thread."""
    return await asyncio.get_running_loop().run_in_executor(_executor(), hash_password, password)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


# checked against when the name is unknown, so a wrong name costs the same time as a wrong password
DECOY = hash_password("decoy password", salt=b"\0" * 16)
