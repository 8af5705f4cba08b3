import json

from api.accounts.tokens import mint_confirm_token, mint_reset_token
from api.core.redis import get_redis
from contracts.streams import ACCOUNTS_STREAM
from tests.factories import DEFAULT_PASSWORD, bearer, create_user, load_user, sign_in, unique_email

NEW_PASSWORD = "a-brand-new-password"


async def stream_events(name: str) -> list[dict]:
    entries = await get_redis().xrange(ACCOUNTS_STREAM)
    return [json.loads(fields["body"]) for _, fields in entries if fields["name"] == name]


async def reset_with(client, token: str, password: str = NEW_PASSWORD):
    return await client.patch(
        f"/auth/reset/email_confirmed/{token}", json={"new_password": password}
    )


async def login_status(client, email: str, password: str) -> int:
    response = await client.post("/auth/login", json={"email": email, "password": password})
    return response.status_code


# --- asking for a reset -------------------------------------------------------------------


async def test_reset_request_is_unavailable_with_mail_off(client):
    user = await create_user()

    response = await client.post("/auth/reset", json={"email": user.email})

    assert response.status_code == 409
    assert response.json()["error"] == "reset_unavailable"
    assert "SMTP" in response.json()["detail"]
    assert await stream_events("user.reset_requested") == []


async def test_reset_request_answers_the_same_for_unknown_emails(client, mail_on):
    user = await create_user()

    known = await client.post("/auth/reset", json={"email": user.email.upper()})
    unknown = await client.post("/auth/reset", json={"email": unique_email()})

    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    published = await stream_events("user.reset_requested")
    assert [(e["user_id"], e["email"]) for e in published] == [(str(user.id), user.email)]


async def test_reset_requests_are_limited_per_account(client, configure):
    configure(SMTP="1", RESET_LIMIT_ACCOUNT="2/hour")
    user = await create_user()

    statuses = [
        (await client.post("/auth/reset", json={"email": user.email})).status_code
        for _ in range(3)
    ]

    assert statuses == [202, 202, 429]
    assert len(await stream_events("user.reset_requested")) == 2


async def test_reset_requests_are_limited_per_client(client, configure):
    configure(SMTP="1", RESET_LIMIT_CLIENT="2/hour")

    responses = [
        await client.post("/auth/reset", json={"email": unique_email()}) for _ in range(3)
    ]

    assert [r.status_code for r in responses] == [202, 202, 429]
    assert int(responses[-1].headers["retry-after"]) > 60


# --- using a reset token ------------------------------------------------------------------


async def test_reset_token_sets_the_new_password(client):
    user = await create_user()

    response = await reset_with(client, mint_reset_token(user.id, user.password_changed_at))

    assert response.status_code == 200, response.text
    assert await login_status(client, user.email, NEW_PASSWORD) == 200
    assert await login_status(client, user.email, DEFAULT_PASSWORD) == 401


async def test_reset_token_works_only_once(client):
    user = await create_user()
    token = mint_reset_token(user.id, user.password_changed_at)

    first = await reset_with(client, token)
    second = await reset_with(client, token, "yet-another-password")

    assert first.status_code == 200
    assert second.status_code == 401
    assert second.json()["error"] == "reset_token_used"
    assert await login_status(client, user.email, NEW_PASSWORD) == 200


async def test_reset_token_fails_once_the_password_has_changed(client):
    user = await create_user()
    older = mint_reset_token(user.id, user.password_changed_at)
    newer = mint_reset_token(user.id, user.password_changed_at)
    assert (await reset_with(client, newer)).status_code == 200

    response = await reset_with(client, older, "yet-another-password")

    assert response.status_code == 401
    assert response.json()["error"] == "reset_token_used"


async def test_reset_ends_every_other_session_and_access_token(client):
    signed_in = await sign_in(client)
    user = signed_in.user

    response = await reset_with(client, mint_reset_token(user.id, user.password_changed_at))

    assert response.status_code == 200
    me = await client.get("/auth/user/me", headers=signed_in.headers)
    assert me.status_code == 401 and me.json()["error"] == "token_revoked"
    refresh = await client.post("/auth/refresh", json={"refresh_token": signed_in.refresh_token})
    assert refresh.status_code == 401
    fresh = await client.post("/auth/login", json={"email": user.email, "password": NEW_PASSWORD})
    me_again = await client.get("/auth/user/me", headers=bearer(fresh.json()["access_token"]))
    assert me_again.status_code == 200


async def test_reset_confirms_the_mailbox_owner(client, mail_on):
    user = await create_user(confirmed=False)

    await reset_with(client, mint_reset_token(user.id, user.password_changed_at))

    assert await login_status(client, user.email, NEW_PASSWORD) == 200


async def test_reset_rejects_a_short_new_password(client):
    user = await create_user()

    response = await reset_with(client, mint_reset_token(user.id, user.password_changed_at), "x")

    assert response.status_code == 422
    assert await login_status(client, user.email, DEFAULT_PASSWORD) == 200


# --- confirming an email ------------------------------------------------------------------


async def test_confirm_link_confirms_and_is_safe_to_repeat(client, mail_on):
    user = await create_user(confirmed=False)
    token = mint_confirm_token(user.id, user.email)
    assert await login_status(client, user.email, DEFAULT_PASSWORD) == 403

    first = await client.get(f"/auth/confirm/email/{token}")
    again = await client.get(f"/auth/confirm/email/{token}")

    assert first.status_code == 200 and first.json()["already_confirmed"] is False
    assert again.status_code == 200 and again.json()["already_confirmed"] is True
    assert (await load_user(user.id)).email_confirmed
    assert await login_status(client, user.email, DEFAULT_PASSWORD) == 200


async def test_confirm_token_for_another_address_is_refused(client):
    user = await create_user(confirmed=False)

    response = await client.get(
        f"/auth/confirm/email/{mint_confirm_token(user.id, 'someone.else@example.com')}"
    )

    assert response.status_code == 401
    assert not (await load_user(user.id)).email_confirmed


async def test_resend_publishes_a_confirmation_request_for_unconfirmed_accounts(
    client, mail_on
):
    unconfirmed = await create_user(confirmed=False)
    confirmed = await create_user()

    answers = [
        await client.post("/auth/confirm/resend", json={"email": email})
        for email in (unconfirmed.email, confirmed.email, unique_email())
    ]

    assert {r.status_code for r in answers} == {202}
    assert len({r.text for r in answers}) == 1
    published = await stream_events("user.confirmation_requested")
    assert [e["user_id"] for e in published] == [str(unconfirmed.id)]


async def test_resend_is_unavailable_with_mail_off(client):
    response = await client.post("/auth/confirm/resend", json={"email": unique_email()})

    assert response.status_code == 409
    assert response.json()["error"] == "mail_unavailable"


async def test_resend_is_rate_limited(client, configure):
    configure(SMTP="1", RESET_LIMIT_ACCOUNT="1/hour")
    user = await create_user(confirmed=False)

    first = await client.post("/auth/confirm/resend", json={"email": user.email})
    second = await client.post("/auth/confirm/resend", json={"email": user.email})

    assert (first.status_code, second.status_code) == (202, 429)
    assert second.json()["error"] == "rate_limited" and "retry-after" in second.headers


async def test_link_tokens_never_reach_the_request_log(client, monkeypatch):
    import api.core.middleware as middleware

    lines: list[tuple[str, dict]] = []

    class RecordingLog:
        def info(self, event: str, **fields: object) -> None:
            lines.append((event, fields))

    monkeypatch.setattr(middleware, "log", RecordingLog())
    user = await create_user()
    confirm = mint_confirm_token(user.id, user.email)
    reset = mint_reset_token(user.id, user.password_changed_at)

    await client.get(f"/auth/confirm/email/{confirm}")
    await reset_with(client, reset)

    paths = [fields["path"] for event, fields in lines if event == "http.request.completed"]
    assert paths == ["/auth/confirm/email/***", "/auth/reset/email_confirmed/***"]
    assert confirm not in repr(lines) and reset not in repr(lines)
