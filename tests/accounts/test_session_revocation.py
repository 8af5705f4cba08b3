"""An access token ends with its sign-in: logout, a reused refresh token or a password reset
refuse every access token of that sign-in, and Postgres, not Redis, remembers it."""

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event

from api.accounts.tokens import decode_token
from api.core.database import get_engine
from api.core.redis import get_redis
from tests.accounts.tokens import claims_for, sign
from tests.factories import bearer, sign_in


async def _me_error(client, access_token: str) -> str | None:
    response = await client.get("/auth/user/me", headers=bearer(access_token))
    return None if response.status_code == 200 else response.json()["error"]


async def test_logout_ends_the_earlier_access_tokens_of_the_sign_in(client):
    signed_in = await sign_in(client)
    other_sign_in = await sign_in(client, signed_in.user)
    client.cookies.clear()
    refreshed = await client.post("/auth/refresh", json={"refresh_token": signed_in.refresh_token})
    newest = refreshed.json()

    response = await client.post(
        "/auth/logout",
        headers=bearer(newest["access_token"]),
        json={"refresh_token": newest["refresh_token"]},
    )

    assert response.status_code == 200, response.text
    assert await _me_error(client, signed_in.access_token) == "token_revoked"
    assert await _me_error(client, newest["access_token"]) == "token_revoked"
    assert await _me_error(client, other_sign_in.access_token) is None


async def test_logout_with_the_refresh_token_alone_ends_the_access_tokens(client):
    signed_in = await sign_in(client)
    client.cookies.clear()

    response = await client.post(
        "/auth/logout", json={"refresh_token": signed_in.refresh_token}
    )

    assert response.status_code == 200, response.text
    assert await _me_error(client, signed_in.access_token) == "token_revoked"


async def test_a_reused_refresh_token_ends_the_familys_access_tokens(client):
    signed_in = await sign_in(client)
    client.cookies.clear()
    rotated = await client.post("/auth/refresh", json={"refresh_token": signed_in.refresh_token})
    latest_access = rotated.json()["access_token"]
    assert await _me_error(client, latest_access) is None

    reuse = await client.post("/auth/refresh", json={"refresh_token": signed_in.refresh_token})

    assert reuse.json()["error"] == "refresh_token_reused"
    assert await _me_error(client, latest_access) == "token_revoked"
    assert await _me_error(client, signed_in.access_token) == "token_revoked"


async def test_a_logged_out_token_stays_refused_when_redis_loses_its_data(client):
    signed_in = await sign_in(client)
    await client.post("/auth/logout", headers=signed_in.headers)

    await get_redis().flushdb()  # a restarted Redis without persistence

    assert await _me_error(client, signed_in.access_token) == "token_revoked"


async def test_an_access_token_without_a_sign_in_family_is_refused(client):
    signed_in = await sign_in(client)
    no_family = sign(claims_for("access", signed_in.user))

    response = await client.get("/auth/user/me", headers=bearer(no_family))

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"


@pytest.fixture
def statements() -> Iterator[list[str]]:
    """The SQL of every statement the app runs while the test does."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    engine = get_engine().sync_engine
    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


async def test_the_user_and_its_sign_in_are_checked_in_one_query(client, statements):
    signed_in = await sign_in(client)
    statements.clear()

    response = await client.get("/face/enrolment", headers=signed_in.headers)

    assert response.status_code == 200
    checks = [sql for sql in statements if "refresh_sessions" in sql or "FROM users" in sql]
    assert len(checks) == 1
    assert "refresh_sessions" in checks[0] and "FROM users" in checks[0]


@pytest.mark.parametrize(
    ("presented", "endpoint", "article"),
    [("refresh", "me", "an access"), ("access", "refresh", "a refresh")],
)
async def test_a_token_of_the_wrong_kind_is_named_with_the_right_article(
    client, presented, endpoint, article
):
    signed_in = await sign_in(client)
    client.cookies.clear()
    token = signed_in.refresh_token if presented == "refresh" else signed_in.access_token
    assert decode_token(token, presented)["typ"] == presented

    if endpoint == "me":
        response = await client.get("/auth/user/me", headers=bearer(token))
    else:
        response = await client.post("/auth/refresh", json={"refresh_token": token})

    assert response.json()["error"] == "invalid_token"
    assert response.json()["detail"].startswith(f"This is not {article} token;")
