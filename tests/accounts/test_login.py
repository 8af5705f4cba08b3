from argon2 import PasswordHasher

from api.accounts import passwords
from api.accounts.tokens import decode_token
from tests.factories import DEFAULT_PASSWORD, create_user, load_user, unique_email


async def test_json_login_returns_a_token_pair(client):
    user = await create_user()

    response = await client.post(
        "/auth/login", json={"email": user.email, "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 15 * 60
    assert decode_token(body["access_token"], "access")["sub"] == user.id
    assert decode_token(body["refresh_token"], "refresh")["sub"] == user.id


async def test_oauth2_password_form_login_works(client):
    user = await create_user()

    response = await client.post(
        "/auth/login",
        data={"grant_type": "password", "username": user.email, "password": DEFAULT_PASSWORD},
    )

    assert response.status_code == 200, response.text
    me = await client.get(
        "/auth/user/me", headers={"Authorization": f"Bearer {response.json()['access_token']}"}
    )
    assert me.json()["id"] == str(user.id)


async def test_login_sets_a_strict_httponly_refresh_cookie_on_auth_path(client):
    user = await create_user()

    response = await client.post(
        "/auth/login", json={"email": user.email, "password": DEFAULT_PASSWORD}
    )

    cookie = response.headers["set-cookie"]
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert cookie.startswith(f"refresh_token={response.json()['refresh_token']};")
    assert {"httponly", "path", "samesite", "max-age"} <= attributes
    assert "Path=/auth" in cookie and "SameSite=strict" in cookie
    assert "secure" not in attributes


async def test_cookie_is_secure_when_configured(client, configure):
    configure(COOKIE_SECURE="true")
    user = await create_user()

    response = await client.post(
        "/auth/login", json={"email": user.email, "password": DEFAULT_PASSWORD}
    )

    assert "Secure" in response.headers["set-cookie"]


async def test_wrong_password_and_unknown_email_get_the_same_401(client, monkeypatch):
    user = await create_user()
    dummy_verifications = []
    real_dummy = passwords.spend_dummy_verify

    async def counting_dummy(password: str) -> None:
        dummy_verifications.append(1)
        await real_dummy(password)

    monkeypatch.setattr("api.accounts.service.spend_dummy_verify", counting_dummy)

    wrong = await client.post("/auth/login", json={"email": user.email, "password": "wrong-pass"})
    unknown = await client.post(
        "/auth/login", json={"email": unique_email(), "password": DEFAULT_PASSWORD}
    )

    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"] == "invalid_credentials"
    assert wrong.headers["www-authenticate"] == "Bearer"
    assert dummy_verifications == [1]  # only the unknown email spent the dummy hash


async def test_malformed_email_at_login_is_a_plain_401(client):
    response = await client.post(
        "/auth/login", json={"email": "no-at-sign", "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == 401


async def test_login_body_must_be_valid(client):
    missing = await client.post("/auth/login", json={"email": unique_email()})
    not_json = await client.post(
        "/auth/login", content=b"{", headers={"content-type": "application/json"}
    )
    form_without_password = await client.post("/auth/login", data={"username": "a@b.com"})

    assert missing.status_code == not_json.status_code == form_without_password.status_code == 422
    assert missing.json()["fields"][0]["loc"] == ["body", "password"]


async def test_unconfirmed_account_gets_403_with_mail_on(client, mail_on):
    user = await create_user(confirmed=False)

    response = await client.post(
        "/auth/login", json={"email": user.email, "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == 403
    assert response.json()["error"] == "email_not_confirmed"
    assert "/auth/confirm/resend" in response.json()["detail"]
    assert "set-cookie" not in response.headers


async def test_unconfirmed_account_with_wrong_password_still_gets_401(client, mail_on):
    user = await create_user(confirmed=False)

    response = await client.post(
        "/auth/login", json={"email": user.email, "password": "nope-nope"}
    )

    assert response.status_code == 401


async def test_unconfirmed_account_may_log_in_with_mail_off(client):
    user = await create_user(confirmed=False)

    response = await client.post(
        "/auth/login", json={"email": user.email, "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == 200


async def test_login_rehashes_a_password_hashed_with_old_parameters(client):
    old_hasher = PasswordHasher(time_cost=1, memory_cost=512, parallelism=1)
    old_hash = old_hasher.hash(DEFAULT_PASSWORD)
    user = await create_user(password_hash=old_hash)
    assert passwords.needs_rehash(old_hash)

    response = await client.post(
        "/auth/login", json={"email": user.email, "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == 200
    stored = await load_user(user.id)
    assert stored is not None and stored.password_hash != old_hash
    assert not passwords.needs_rehash(stored.password_hash)
    assert passwords.get_hasher().verify(stored.password_hash, DEFAULT_PASSWORD)


async def test_failed_logins_are_limited_per_account(client, configure):
    configure(LOGIN_LIMIT_ACCOUNT="3/minute")
    user = await create_user()

    failures = [
        (await client.post("/auth/login", json={"email": user.email, "password": "bad-pass"}))
        for _ in range(3)
    ]
    blocked = await client.post(
        "/auth/login", json={"email": user.email.upper(), "password": DEFAULT_PASSWORD}
    )

    assert [r.status_code for r in failures] == [401, 401, 401]
    assert blocked.status_code == 429
    assert blocked.json()["error"] == "rate_limited"
    assert 0 < int(blocked.headers["retry-after"]) <= 60
    other = await create_user()
    assert (
        await client.post("/auth/login", json={"email": other.email, "password": DEFAULT_PASSWORD})
    ).status_code == 200


async def test_successful_logins_do_not_use_up_the_account_limit(client, configure):
    configure(LOGIN_LIMIT_ACCOUNT="2/minute")
    user = await create_user()

    statuses = [
        (
            await client.post(
                "/auth/login", json={"email": user.email, "password": DEFAULT_PASSWORD}
            )
        ).status_code
        for _ in range(4)
    ]

    assert statuses == [200] * 4


async def test_logins_are_limited_per_client_address(client, configure):
    configure(LOGIN_LIMIT_CLIENT="2/minute")

    statuses = [
        (
            await client.post(
                "/auth/login", json={"email": unique_email(), "password": DEFAULT_PASSWORD}
            )
        ).status_code
        for _ in range(3)
    ]

    assert statuses == [401, 401, 429]


async def test_forwarded_address_is_used_only_behind_trusted_proxies(client, configure):
    configure(LOGIN_LIMIT_CLIENT="1/minute", TRUSTED_PROXIES="1")

    async def attempt(forwarded_for: str) -> int:
        response = await client.post(
            "/auth/login",
            json={"email": unique_email(), "password": DEFAULT_PASSWORD},
            headers={"x-forwarded-for": forwarded_for},
        )
        return response.status_code

    # Each proxy appends what it saw; the client's own prefix ("spoofed") is ignored.
    assert await attempt("spoofed, 198.51.100.1") == 401
    assert await attempt("other, 198.51.100.1") == 429
    assert await attempt("198.51.100.2") == 401


async def test_without_redis_logins_fail_closed_with_503(client, monkeypatch):
    from redis.exceptions import ConnectionError as RedisConnectionError

    from api.accounts import ratelimit

    class UnreachableLimiter:
        async def hit(self, *args, **kwargs):
            raise RedisConnectionError("connection refused")

    monkeypatch.setattr(ratelimit, "_limiter", UnreachableLimiter)
    user = await create_user()

    response = await client.post(
        "/auth/login", json={"email": user.email, "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == 503
    assert response.json()["error"] == "accounts_unavailable"
    assert "retry" in response.json()["detail"]
