"""The code type-checks: mypy runs with the project's `[tool.mypy]` configuration."""

import pytest

from api.core.settings import PROJECT_ROOT

mypy_api = pytest.importorskip(
    "mypy.api", reason="mypy is not installed; install the `dev` extra to type-check"
)


def test_mypy_passes_with_the_project_configuration(monkeypatch):
    """Checks the `files` listed in pyproject.toml (`api`, `contracts`, `workers`)."""
    monkeypatch.chdir(PROJECT_ROOT)

    report, errors, exit_status = mypy_api.run([])

    assert exit_status == 0, f"mypy found type errors:\n{report}{errors}"
