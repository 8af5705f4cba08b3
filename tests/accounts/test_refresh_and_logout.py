from sqlalchemy import select

from api.accounts.models import RefreshSession
from api.accounts.tokens import decode_token
from api.core.database import get_sessionmaker
from tests.factories import bearer, create_user, sign_in


async def sessions_of(user_id) -> list[RefreshSession]:
    async with get_sessionmaker()() as session:
        statement = select(RefreshSession).where(RefreshSession.user_id == user_id)
        return list((await session.scalars(statement)).all())


async def test_refresh_rotates_the_refresh_token(client):
    signed_in = await sign_in(client)

    response = await client.post("/auth/refresh", json={"refresh_token": signed_in.refresh_token})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["refresh_token"] != signed_in.refresh_token
    assert body["access_token"] != signed_in.access_token
    assert (await client.get("/auth/user/me", headers=bearer(body["access_token"]))).is_success
    old = decode_token(signed_in.refresh_token, "refresh")
    new = decode_token(body["refresh_token"], "refresh")
    assert old["fam"] == new["fam"]
    rows = {row.id: row for row in await sessions_of(signed_in.user.id)}
    assert rows[old["jti"]].rotated_at is not None
    assert rows[old["jti"]].replaced_by == new["jti"]
    assert rows[new["jti"]].rotated_at is None
    assert f"refresh_token={body['refresh_token']}" in response.headers["set-cookie"]


async def test_refresh_reads_the_cookie_when_the_body_is_empty(client):
    signed_in = await sign_in(client)  # the login left the cookie in the client's jar

    first = await client.post("/auth/refresh")
    second = await client.post("/auth/refresh")  # the jar now holds the rotated token

    assert first.status_code == 200, first.text
    assert second.status_code == 200, second.text
    assert first.json()["refresh_token"] != signed_in.refresh_token
    assert client.cookies["refresh_token"] == second.json()["refresh_token"]


async def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(client):
    signed_in = await sign_in(client)
    other_sign_in = await sign_in(client, signed_in.user)
    rotated = await client.post(
        "/auth/refresh", json={"refresh_token": signed_in.refresh_token}
    )
    newest = rotated.json()["refresh_token"]

    reuse = await client.post("/auth/refresh", json={"refresh_token": signed_in.refresh_token})
    after = await client.post("/auth/refresh", json={"refresh_token": newest})

    assert reuse.status_code == 401
    assert reuse.json()["error"] == "refresh_token_reused"
    assert "refresh_token=" in reuse.headers["set-cookie"]  # cleared
    assert after.status_code == 401
    assert after.json()["error"] == "token_revoked"
    family = decode_token(signed_in.refresh_token, "refresh")["fam"]
    rows = await sessions_of(signed_in.user.id)
    assert all(row.revoked_at is not None for row in rows if str(row.family_id) == family)
    # Another sign-in of the same user is a different family and survives.
    survivor = await client.post(
        "/auth/refresh", json={"refresh_token": other_sign_in.refresh_token}
    )
    assert survivor.status_code == 200


async def test_refresh_without_any_token_is_401(client):
    response = await client.post("/auth/refresh")

    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"


async def test_logout_kills_the_access_token_at_once_and_the_refresh_token(client):
    signed_in = await sign_in(client)
    assert (await client.get("/auth/user/me", headers=signed_in.headers)).status_code == 200

    response = await client.post(
        "/auth/logout",
        headers=signed_in.headers,
        json={"refresh_token": signed_in.refresh_token},
    )

    assert response.status_code == 200, response.text
    me = await client.get("/auth/user/me", headers=signed_in.headers)
    assert me.status_code == 401 and me.json()["error"] == "token_revoked"
    refresh = await client.post("/auth/refresh", json={"refresh_token": signed_in.refresh_token})
    assert refresh.status_code == 401
    assert 'refresh_token=""' in response.headers["set-cookie"]
    assert "Max-Age=0" in response.headers["set-cookie"]
    assert "Path=/auth" in response.headers["set-cookie"]


async def test_logout_with_the_bearer_alone_ends_its_sign_in(client):
    signed_in = await sign_in(client)
    client.cookies.clear()

    response = await client.post("/auth/logout", headers=signed_in.headers)

    assert response.status_code == 200
    refresh = await client.post("/auth/refresh", json={"refresh_token": signed_in.refresh_token})
    assert refresh.status_code == 401


async def test_logout_with_the_cookie_alone_ends_the_sign_in(client):
    signed_in = await sign_in(client)

    response = await client.post("/auth/logout")  # the refresh cookie from the login

    assert response.status_code == 200
    refresh = await client.post("/auth/refresh", json={"refresh_token": signed_in.refresh_token})
    assert refresh.status_code == 401
    assert "refresh_token" not in client.cookies


async def test_a_stale_cookie_does_not_block_logging_out_the_access_token(client):
    signed_in = await sign_in(client)
    await client.post("/auth/refresh", json={"refresh_token": signed_in.refresh_token})
    later = await sign_in(client, signed_in.user)
    client.cookies.clear()

    response = await client.post(
        "/auth/logout", headers={**later.headers, "cookie": "refresh_token=stale-garbage"}
    )

    assert response.status_code == 200
    assert (await client.get("/auth/user/me", headers=later.headers)).status_code == 401


async def test_logout_without_credentials_is_401(client):
    response = await client.post("/auth/logout")

    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"


async def test_refresh_session_rows_track_expiry(client):
    signed_in = await sign_in(client)

    (row,) = await sessions_of(signed_in.user.id)

    assert (row.expires_at - row.created_at).days in (13, 14)
    assert row.revoked_at is None


async def test_other_users_tokens_keep_working_after_a_logout(client):
    first = await sign_in(client)
    second = await sign_in(client, await create_user())
    client.cookies.clear()  # the jar holds second's refresh cookie, which logout would end

    await client.post("/auth/logout", headers=first.headers)

    assert (await client.get("/auth/user/me", headers=second.headers)).status_code == 200


async def test_logout_ignores_another_accounts_refresh_cookie(client):
    first = await sign_in(client)
    second = await sign_in(client, await create_user())  # the jar now holds second's cookie

    response = await client.post("/auth/logout", headers=first.headers)

    assert response.status_code == 200
    assert (await client.get("/auth/user/me", headers=first.headers)).status_code == 401
    assert (await client.get("/auth/user/me", headers=second.headers)).status_code == 200
    refreshed = await client.post("/auth/refresh", json={"refresh_token": second.refresh_token})
    assert refreshed.status_code == 200


async def test_concurrent_uses_of_one_refresh_token_rotate_it_once(client):
    import asyncio

    signed_in = await sign_in(client)
    client.cookies.clear()

    responses = await asyncio.gather(
        *(
            client.post("/auth/refresh", json={"refresh_token": signed_in.refresh_token})
            for _ in range(5)
        )
    )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 401, 401, 401, 401]
    assert {r.json()["error"] for r in responses if r.status_code == 401} == {
        "refresh_token_reused"
    }


async def test_the_access_denylist_entry_expires_with_the_token(client):
    from api.core.redis import get_redis

    signed_in = await sign_in(client)
    jti = decode_token(signed_in.access_token, "access")["jti"]

    await client.post("/auth/logout", headers=signed_in.headers)

    ttl = await get_redis().ttl(f"accounts:denied_access:{jti}")
    assert 0 < ttl <= 15 * 60


async def test_without_redis_access_tokens_are_not_trusted(client, app):
    from redis.exceptions import ConnectionError as RedisConnectionError

    from api.core.redis import get_redis

    signed_in = await sign_in(client)

    class UnreachableRedis:
        async def exists(self, *keys):
            raise RedisConnectionError("connection refused")

    app.dependency_overrides[get_redis] = UnreachableRedis
    response = await client.get("/auth/user/me", headers=signed_in.headers)

    assert response.status_code == 503
    assert response.json()["error"] == "accounts_unavailable"
