"""Password hashing runs in worker threads, a bounded number at a time."""

import asyncio
import threading
import time

import anyio
from argon2 import PasswordHasher

from api.accounts import passwords
from tests.conftest import TEST_HASHER
from tests.factories import DEFAULT_PASSWORD, create_user


class RecordingHasher(PasswordHasher):
    """The test hasher, slowed down, noting which threads verify and how many at once."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.threads: set[int] = set()
        self.in_flight = 0
        self.most_in_flight = 0
        self._lock = threading.Lock()

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        with self._lock:
            self.threads.add(threading.get_ident())
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        time.sleep(0.05)  # long enough for verifications to overlap when they can
        try:
            return super().verify(hash, password)
        finally:
            with self._lock:
                self.in_flight -= 1


async def test_logins_verify_off_the_event_loop_with_bounded_concurrency(client, monkeypatch):
    users = [await create_user() for _ in range(12)]
    hasher = RecordingHasher()
    passwords.configure_hasher(hasher)
    limiter = anyio.CapacityLimiter(3)
    monkeypatch.setattr(passwords, "_limiter", lambda: limiter)
    loop_thread = threading.get_ident()

    responses = await asyncio.gather(
        *(
            client.post("/auth/login", json={"email": u.email, "password": DEFAULT_PASSWORD})
            for u in users
        )
    )

    assert [r.status_code for r in responses] == [200] * 12
    assert loop_thread not in hasher.threads
    assert hasher.most_in_flight == 3


async def test_the_default_limit_follows_the_cpu_count():
    assert passwords._limiter().total_tokens >= 2


async def test_hashes_are_argon2id_and_verify():
    hashed = await passwords.hash_password(DEFAULT_PASSWORD)

    assert hashed.startswith("$argon2id$")
    assert await passwords.verify_password(hashed, DEFAULT_PASSWORD)
    assert not await passwords.verify_password(hashed, "wrong")
    assert not await passwords.verify_password("not-a-hash", DEFAULT_PASSWORD)


async def test_production_parameters_are_the_library_defaults():
    passwords.configure_hasher(PasswordHasher())
    hashed = await passwords.hash_password(DEFAULT_PASSWORD)

    assert not passwords.needs_rehash(hashed)
    assert TEST_HASHER.check_needs_rehash(hashed)
