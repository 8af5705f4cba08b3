"""Every endpoint accepts only genuine, unexpired tokens of its own kind: anything else is a
401 with a stable code, never a 500."""

from collections.abc import Awaitable, Callable

import pytest
from httpx import AsyncClient, Response

from tests.accounts.tokens import broken_tokens, claims_for, sign
from tests.factories import create_user

Presenter = Callable[[AsyncClient, str], Awaitable[Response]]


async def _me(client: AsyncClient, token: str) -> Response:
    return await client.get("/auth/user/me", headers={"Authorization": f"Bearer {token}"})


async def _logout_bearer(client: AsyncClient, token: str) -> Response:
    return await client.post("/auth/logout", headers={"Authorization": f"Bearer {token}"})


async def _refresh(client: AsyncClient, token: str) -> Response:
    return await client.post("/auth/refresh", json={"refresh_token": token})


async def _refresh_cookie(client: AsyncClient, token: str) -> Response:
    return await client.post("/auth/refresh", headers={"cookie": f"refresh_token={token}"})


async def _logout_refresh(client: AsyncClient, token: str) -> Response:
    return await client.post("/auth/logout", json={"refresh_token": token})


async def _confirm(client: AsyncClient, token: str) -> Response:
    return await client.get(f"/auth/confirm/email/{token}")


async def _reset(client: AsyncClient, token: str) -> Response:
    return await client.patch(
        f"/auth/reset/email_confirmed/{token}", json={"new_password": "brand-new-password"}
    )


ENDPOINTS: dict[str, tuple[str, Presenter]] = {
    "me": ("access", _me),
    "logout_bearer": ("access", _logout_bearer),
    "refresh_body": ("refresh", _refresh),
    "refresh_cookie": ("refresh", _refresh_cookie),
    "logout_refresh": ("refresh", _logout_refresh),
    "confirm": ("confirm", _confirm),
    "reset": ("reset", _reset),
}
DEFECTS = [
    "malformed", "three_garbage_parts", "alg_none", "wrong_signature", "expired",
    "missing_exp", "missing_jti", "unknown_subject", "subject_not_a_uuid", "other_algorithm",
    "wrong_type",
]


@pytest.mark.parametrize("defect", DEFECTS)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_broken_tokens_are_401(client, endpoint, defect):
    kind, present = ENDPOINTS[endpoint]
    user = await create_user(confirmed=False)
    cases = broken_tokens(kind, user)
    tokens = (
        [token for name, token in cases.items() if name.startswith("typ_")]
        if defect == "wrong_type"
        else [cases[defect]]
    )

    for token in tokens:
        response = await present(client, token)

        assert response.status_code == 401, (defect, response.text)
        expected = "token_expired" if defect == "expired" else "invalid_token"
        assert response.json()["error"] == expected
        assert response.headers["www-authenticate"] == "Bearer"


async def test_a_valid_confirm_token_is_accepted_so_the_defects_above_are_the_cause(client):
    user = await create_user(confirmed=False)

    response = await _confirm(client, sign(claims_for("confirm", user)))

    assert response.status_code == 200


async def test_missing_bearer_is_401_not_authenticated(client):
    response = await client.get("/auth/user/me")

    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"


async def test_non_bearer_scheme_is_401(client):
    response = await client.get("/auth/user/me", headers={"Authorization": "Basic abc"})

    assert response.status_code == 401


async def test_an_oversized_token_is_401(client):
    response = await _me(client, "a" * 10_000)

    assert response.status_code == 401
