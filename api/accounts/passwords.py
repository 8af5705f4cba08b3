"""Argon2id password hashing, run in worker threads so the event loop stays responsive.

A hash costs tens of milliseconds of CPU and memory; the capacity limiter bounds how many run
at once, so a burst of logins queues here instead of starving every other request.
"""

import os
from functools import lru_cache

import anyio
import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


def configure_hasher(hasher: PasswordHasher) -> None:
    """Swap the hasher (tests use cheap parameters; an operator may raise the cost)."""
    global _hasher
    _hasher = hasher
    _dummy_hash.cache_clear()


def get_hasher() -> PasswordHasher:
    return _hasher


@lru_cache
def _limiter() -> anyio.CapacityLimiter:
    return anyio.CapacityLimiter(max(2, os.cpu_count() or 2))


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash("not-a-real-password-only-for-timing-parity")


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _verify_dummy(password: str) -> None:
    _verify(_dummy_hash(), password)


async def hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(_hasher.hash, password, limiter=_limiter())


async def verify_password(password_hash: str, password: str) -> bool:
    return await anyio.to_thread.run_sync(_verify, password_hash, password, limiter=_limiter())


async def spend_dummy_verify(password: str) -> None:
    """Cost of a real verification for an unknown email, so timing does not reveal it."""
    await anyio.to_thread.run_sync(_verify_dummy, password, limiter=_limiter())


def needs_rehash(password_hash: str) -> bool:
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True
