"""Test data builders: accounts straight in the database, and signed-in clients.

    user = await create_user()                         # confirmed, DEFAULT_PASSWORD
    signed_in = await sign_in(client)                  # a new user, logged in via the API
    await client.get("/auth/user/me", headers=signed_in.headers)
"""

from dataclasses import dataclass, field
from uuid import uuid4

from httpx import AsyncClient

from api.accounts.models import User
from api.accounts.passwords import hash_password
from api.core.database import get_sessionmaker

DEFAULT_PASSWORD = "correct horse battery staple"


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid4().hex[:12]}@example.com"


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


async def create_user(
    *,
    email: str | None = None,
    password: str = DEFAULT_PASSWORD,
    confirmed: bool = True,
    password_hash: str | None = None,
) -> User:
    """A committed account, with its server defaults (created_at...) loaded."""
    async with get_sessionmaker()() as session:
        user = User(
            email=(email or unique_email()).lower(),
            password_hash=password_hash or await hash_password(password),
            email_confirmed=confirmed,
        )
        session.add(user)
        await session.commit()
        await session.refresh(user)

    return user


async def load_user(user_id: object) -> User | None:
    async with get_sessionmaker()() as session:
        return await session.get(User, user_id)


@dataclass
class SignedIn:
    user: User
    password: str
    access_token: str
    refresh_token: str
    headers: dict[str, str] = field(default_factory=dict)


async def login(
    client: AsyncClient, email: str, password: str = DEFAULT_PASSWORD
) -> dict[str, object]:
    response = await client.post("/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return response.json()


async def sign_in(
    client: AsyncClient, user: User | None = None, password: str = DEFAULT_PASSWORD
) -> SignedIn:
    """Log `user` (default: a new confirmed account) in through the API."""
    user = user or await create_user(password=password)
    tokens = await login(client, user.email, password)
    access_token = str(tokens["access_token"])

    return SignedIn(
        user=user,
        password=password,
        access_token=access_token,
        refresh_token=str(tokens["refresh_token"]),
        headers=bearer(access_token),
    )
