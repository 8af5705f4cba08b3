"""Request plumbing: request ids, secret-free logs, the JSON 500, and the app's page."""

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from api.core.middleware import RequestContextMiddleware, loggable_path
from api.main import create_app


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/confirm-email/eyJhbGciOi.payload.sig", "/confirm-email/***"),
        ("/reset-password/SECRETRESETTOKEN123", "/reset-password/***"),
        ("/dashboard", "/dashboard"),
        ("/auth/confirm/email/abc.def.ghi", "/auth/confirm/email/***"),
        ("/auth/confirm/email/SECRETTOKEN/", "/auth/confirm/email/***/"),
        ("/auth/confirm/email/SECRETTOKEN/x", "/auth/confirm/email/***/x"),
        ("//confirm-email/SECRETTOKEN", "//confirm-email/***"),
        ("/auth//confirm//email/SECRETTOKEN", "/auth//confirm//email/***"),
        ("/Confirm-Email/SECRETTOKEN", "/Confirm-Email/***"),
        ("/auth/reset/email_confirmed/SECRETTOKEN/", "/auth/reset/email_confirmed/***/"),
        ("/elsewhere/eyJhbGciOiJIUzI1.eyJzdWIiOiIx.c2lnbmF0dXJl", "/elsewhere/***"),
    ],
)
def test_link_tokens_never_reach_the_log(path: str, logged: str):
    assert loggable_path({"path": path, "path_params": {}}) == logged
    assert "SECRETTOKEN" not in logged


async def test_unhandled_error_becomes_json_500_with_request_id():
    app = FastAPI()
    app.add_middleware(RequestContextMiddleware)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/boom", headers={"x-request-id": "req-42"})

    assert response.status_code == 500
    assert response.json()["error"] == "internal_error"
    assert "req-42" in response.json()["detail"]
    assert response.headers["x-request-id"] == "req-42"


async def test_login_with_nul_byte_in_email_is_refused_not_crashed(client: httpx.AsyncClient):
    response = await client.post(
        "/auth/login", json={"email": "bob\u0000@example.com", "password": "whatever-1"}
    )
    form = await client.post(
        "/auth/login", data={"username": "x\u0000@example.com", "password": "whatever-1"}
    )

    assert response.status_code == 422
    assert response.json()["error"] == "validation_error"
    assert form.status_code == 422


DEEP = "[" * 5000 + "]" * 5000


@pytest.mark.parametrize("body", [DEEP, '{"email": ' + DEEP + ', "password": "x"}'])
async def test_login_with_absurdly_nested_json_is_a_422(client: httpx.AsyncClient, body: str):
    response = await client.post(
        "/auth/login", content=body, headers={"content-type": "application/json"}
    )

    assert response.status_code == 422
    assert response.json()["error"] == "validation_error"


async def test_app_page_served_with_history_fallback_but_not_for_api_paths(
    tmp_path: Path, configure: Callable[..., None]
):
    (tmp_path / "index.html").write_text("<html>Effi Core app</html>")
    configure(FRONTEND_DIST=str(tmp_path))
    app = create_app()

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        page = await client.get("/reset-password/eyJhbGciOiJI.eyJzdWIiOiIx.c2lnbmF0dXJl")
        unknown_api = await client.get("/auth/nope")
        bare_prefix = await client.get("/face")
        missing_asset = await client.get("/assets/nope.js")
        health = await client.get("/health")

    assert page.status_code == 200
    assert "Effi Core app" in page.text
    assert unknown_api.status_code == 404
    assert unknown_api.json()["error"] == "not_found"
    assert bare_prefix.status_code == 404
    assert missing_asset.status_code == 404
    assert health.json() == {"status": "ok"}
