"""The published schema documents the error body every endpoint really renders."""

import json

from api.core.settings import PROJECT_ROOT
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


def test_browser_client_generated_from_the_current_schema():
    """The frontend's typed client is generated from `frontend/openapi.json`; it must be the
    schema the API serves. Regenerate with `npm run export:api && npm run gen:api`."""
    committed = json.loads((PROJECT_ROOT / "frontend" / "openapi.json").read_text())

    assert committed == json.loads(json.dumps(app.openapi()))
