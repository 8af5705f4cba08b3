"""The published schema documents the error body every endpoint really renders."""

from api.main import app


def test_validation_errors_documented_with_the_rendered_body():
    schema = app.openapi()

    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            unprocessable = operation["responses"].get("422")
            if unprocessable is None:
                continue
            ref = unprocessable["content"]["application/json"]["schema"]["$ref"]
            assert ref.endswith("/ErrorBody"), f"{method.upper()} {path} documents {ref}"
    assert "HTTPValidationError" not in schema["components"]["schemas"]
