"""Settings keep the deployment variables' meaning and refuse unsafe values."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from api.core.settings import DEVELOPMENT_SECRET, Settings


def _settings(**env: str) -> Settings:
    return Settings(_env_file=None, **env)  # type: ignore[call-arg]


@pytest.fixture(autouse=True)
def _no_ambient_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ENV", "SECRET_KEY", "HASH", "DATABASE_URL", "REDIS_URL", "DB_PASS", "SMTP"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("secret", ["", "changeme", "secret", "  placeholder "])
def test_placeholder_secret_refused_outside_development(secret: str):
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        _settings(ENV="production", SECRET_KEY=secret)


def test_development_gets_a_development_secret():
    assert _settings(ENV="development").secret_key == DEVELOPMENT_SECRET


def test_real_secret_accepted_in_production():
    assert _settings(ENV="production", SECRET_KEY="x" * 48).secret_key == "x" * 48


@pytest.mark.parametrize("algorithm", ["HS256", "hs384", "HS512"])
def test_hmac_algorithms_accepted(algorithm: str):
    assert _settings(HASH=algorithm).jwt_algorithm == algorithm.upper()


@pytest.mark.parametrize("algorithm", ["none", "MD5", "HS1"])
def test_unknown_algorithms_refused(algorithm: str):
    with pytest.raises(ValidationError, match="HASH"):
        _settings(HASH=algorithm)


def test_asymmetric_algorithm_needs_key_files(tmp_path: Path):
    with pytest.raises(ValidationError, match="JWT_PRIVATE_KEY_FILE"):
        _settings(HASH="RS256")

    keys = {
        "JWT_PRIVATE_KEY_FILE": str(tmp_path / "private.pem"),
        "JWT_PUBLIC_KEY_FILE": str(tmp_path / "public.pem"),
    }
    assert _settings(HASH="RS256", **keys).jwt_algorithm == "RS256"


def test_urls_derived_from_the_deployment_variables():
    settings = _settings(
        DB_HOST="db.internal", DB_PORT="6543", DB_USER="effi", DB_PASS="p@ss/word",
        DB_NAME="identity", REDIS_HOST="cache.internal", REDIS_PORT="6380",
    )

    assert settings.database_url == (
        "postgresql+asyncpg://effi:p%40ss%2Fword@db.internal:6543/identity"
    )
    assert settings.redis_url == "redis://cache.internal:6380/0"


def test_full_urls_override_the_parts():
    settings = _settings(
        DATABASE_URL="postgresql+asyncpg://u@h/d", REDIS_URL="redis://r:1/2", DB_HOST="ignored"
    )

    assert (settings.database_url, settings.redis_url) == ("postgresql+asyncpg://u@h/d",
                                                           "redis://r:1/2")


def test_smtp_switch_and_limits():
    assert _settings(SMTP="1").mail_enabled is True
    assert _settings(SMTP="0").mail_enabled is False
    with pytest.raises(ValidationError, match="SMTP"):
        _settings(SMTP="2")
    assert _settings(MAX_FILE_SIZE_MB="2").max_upload_bytes == 2 * 1024 * 1024


def test_device_is_case_insensitive_and_checked():
    assert _settings(DEVICE="CUDA").device == "cuda"
    with pytest.raises(ValidationError):
        _settings(DEVICE="tpu")
