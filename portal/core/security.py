"""Passwords (argon2id) and single-use tokens (random, stored only as a SHA-256 hash).

The argon2id parameters come from the settings (``PORTAL_PASSWORD_HASHING``): RFC 9106's
low-memory profile in every real use, the cheapest parameters in the test suite. Verifying reads
the parameters from the stored hash, so a hash made with either verifies under both.
"""

from __future__ import annotations

import hashlib
import secrets
from functools import cache

from argon2 import Parameters, PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import RFC_9106_LOW_MEMORY

from portal.core.settings import (
    PASSWORD_HASHING_FAST_FOR_TESTS,
    PASSWORD_HASHING_STANDARD,
    get_settings,
)

PASSWORD_HASH_PARAMETERS = {
    # argon2id, 64 MiB, 3 passes, 4 lanes: about 0.2 s of CPU per hash on the 2-core machines.
    PASSWORD_HASHING_STANDARD: RFC_9106_LOW_MEMORY,
    # argon2id, 8 KiB, 1 pass, 1 lane; salt and hash as long as in production.
    PASSWORD_HASHING_FAST_FOR_TESTS: Parameters(
        type=Type.ID, version=19, salt_len=16, hash_len=32, time_cost=1, memory_cost=8, parallelism=1
    ),
}

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200


@cache
def _hasher(password_hashing: str) -> PasswordHasher:
    return PasswordHasher.from_parameters(PASSWORD_HASH_PARAMETERS[password_hashing])


@cache
def _dummy_hash(password_hashing: str) -> str:
    """Verifying against this keeps the time of a login for an unknown email equal to a known one."""
    return _hasher(password_hashing).hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher(get_settings().password_hashing).hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    password_hashing = get_settings().password_hashing
    try:
        stored = password_hash or _dummy_hash(password_hashing)
        return _hasher(password_hashing).verify(stored, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> tuple[str, str]:
    """A token for a link in an email, and the hash to store."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
