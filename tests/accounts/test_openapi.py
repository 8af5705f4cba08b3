import pytest

ENDPOINT_ERRORS = {
    ("/auth/register", "post"): {"409": "email_taken", "422": "validation_error",
                                 "429": "rate_limited"},
    ("/auth/confirm/email/{token}", "get"): {"401": "token_expired"},
    ("/auth/login", "post"): {"401": "invalid_credentials", "403": "email_not_confirmed",
                              "429": "rate_limited"},
    ("/auth/user/me", "get"): {"401": "token_revoked"},
    ("/auth/refresh", "post"): {"401": "refresh_token_reused"},
    ("/auth/logout", "post"): {"401": "not_authenticated"},
    ("/auth/reset", "post"): {"409": "reset_unavailable", "429": "rate_limited"},
    ("/auth/reset/email_confirmed/{token}", "patch"): {"401": "reset_token_used"},
    ("/auth/confirm/resend", "post"): {"409": "mail_unavailable", "429": "rate_limited"},
}


@pytest.fixture
async def schema(client):
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


@pytest.mark.parametrize(("path", "method"), ENDPOINT_ERRORS)
async def test_every_endpoint_documents_its_errors_and_success_model(schema, path, method):
    operation = schema["paths"][path][method]

    for status, code in ENDPOINT_ERRORS[(path, method)].items():
        response = operation["responses"][status]
        assert code in response["description"]
        assert response["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    success = next(s for s in operation["responses"] if s.startswith("2"))
    assert "schema" in operation["responses"][success]["content"]["application/json"]


async def test_login_documents_json_and_the_oauth2_form(schema):
    body = schema["paths"]["/auth/login"]["post"]["requestBody"]["content"]

    assert set(body["application/json"]["schema"]["required"]) == {"email", "password"}
    form = body["application/x-www-form-urlencoded"]["schema"]
    assert set(form["required"]) == {"username", "password"}


async def test_swagger_authorize_points_at_the_login_endpoint(schema):
    schemes = schema["components"]["securitySchemes"]

    flows = [s["flows"]["password"]["tokenUrl"] for s in schemes.values() if s["type"] == "oauth2"]
    assert flows == ["/auth/login"]


async def test_validation_errors_are_documented_with_the_body_actually_sent(schema):
    accounts_operations = [
        operation
        for path, operations in schema["paths"].items()
        if path.startswith("/auth/")
        for operation in operations.values()
    ]

    assert len(accounts_operations) == len(ENDPOINT_ERRORS)
    assert "HTTPValidationError" not in str(accounts_operations)
