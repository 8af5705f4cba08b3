"""One settings object for the API and every worker, read from the environment and `.env`.

The variable names are a public contract with existing deployments: DB_*, SECRET_KEY, HASH,
SMTP*, REDIS_*, DEVICE, MAX_FILE_SIZE_MB, IMG_SIZE, MODEL_WEIGHTS_PATH, EMBED_DIM and
THRESHOLD_DEFAULT keep their meaning. Newer settings only add to them.
"""

from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]

PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "placeholder"})
DEVELOPMENT_SECRET = "development-only-secret-do-not-use-in-production"  # noqa: S105 (dev only)
HMAC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
KEY_FILE_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "ES256", "ES384", "ES512"})


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    env: Literal["development", "test", "production"] = Field(
        "development", validation_alias="ENV"
    )
    log_format: Literal["json", "console"] = Field("json", validation_alias="LOG_FORMAT")
    log_level: str = Field("INFO", validation_alias="LOG_LEVEL")

    db_host: str = Field("127.0.0.1", validation_alias="DB_HOST")
    db_port: int = Field(5432, validation_alias="DB_PORT")
    db_user: str = Field("postgres", validation_alias="DB_USER")
    db_pass: str = Field("", validation_alias="DB_PASS")
    db_name: str = Field("effi", validation_alias="DB_NAME")
    database_url_override: str | None = Field(None, validation_alias="DATABASE_URL")

    redis_host: str = Field("127.0.0.1", validation_alias="REDIS_HOST")
    redis_port: int = Field(6379, validation_alias="REDIS_PORT")
    redis_url_override: str | None = Field(None, validation_alias="REDIS_URL")

    secret_key: str = Field("", validation_alias="SECRET_KEY")
    jwt_algorithm: str = Field("HS256", validation_alias="HASH")
    jwt_private_key_file: Path | None = Field(None, validation_alias="JWT_PRIVATE_KEY_FILE")
    jwt_public_key_file: Path | None = Field(None, validation_alias="JWT_PUBLIC_KEY_FILE")
    access_token_minutes: int = Field(15, ge=1, validation_alias="ACCESS_TOKEN_MINUTES")
    refresh_token_days: int = Field(14, ge=1, validation_alias="REFRESH_TOKEN_DAYS")
    confirm_token_hours: int = Field(48, ge=1, validation_alias="CONFIRM_TOKEN_HOURS")
    reset_token_minutes: int = Field(30, ge=1, validation_alias="RESET_TOKEN_MINUTES")
    cookie_secure: bool = Field(False, validation_alias="COOKIE_SECURE")

    smtp: int = Field(0, validation_alias="SMTP")
    smtp_host: str = Field("localhost", validation_alias="SMTP_HOST")
    smtp_port: int = Field(587, validation_alias="SMTP_PORT")
    smtp_email: str = Field("", validation_alias="SMTP_EMAIL")
    smtp_pass: str = Field("", validation_alias="SMTP_PASS")
    mail_from: str = Field("", validation_alias="MAIL_FROM")
    frontend_url: str = Field("http://localhost:8000", validation_alias="FRONTEND_URL")

    login_limit_per_account: str = Field("5/minute", validation_alias="LOGIN_LIMIT_ACCOUNT")
    login_limit_per_client: str = Field("30/minute", validation_alias="LOGIN_LIMIT_CLIENT")
    register_limit_per_client: str = Field(
        "10/minute", validation_alias="REGISTER_LIMIT_CLIENT"
    )
    reset_limit_per_account: str = Field("3/hour", validation_alias="RESET_LIMIT_ACCOUNT")
    reset_limit_per_client: str = Field("10/hour", validation_alias="RESET_LIMIT_CLIENT")
    face_submit_limit: str = Field("30/minute", validation_alias="FACE_SUBMIT_LIMIT")
    trusted_proxies: int = Field(0, ge=0, validation_alias="TRUSTED_PROXIES")

    device: Literal["cpu", "cuda", "mps"] = Field("cpu", validation_alias="DEVICE")
    max_file_size_mb: float = Field(8, gt=0, validation_alias="MAX_FILE_SIZE_MB")
    max_image_pixels: int = Field(40_000_000, gt=0, validation_alias="MAX_IMAGE_PIXELS")
    img_size: int = Field(150, validation_alias="IMG_SIZE")
    model_weights_path: Path = Field(
        PROJECT_ROOT / "weights" / "dlib_resnet_v1.pt", validation_alias="MODEL_WEIGHTS_PATH"
    )
    embed_dim: int = Field(128, validation_alias="EMBED_DIM")
    threshold_default: float | None = Field(None, validation_alias="THRESHOLD_DEFAULT")
    torch_threads: int = Field(1, ge=1, validation_alias="TORCH_THREADS")
    keep_uploads: bool = Field(False, validation_alias="KEEP_UPLOADS")
    frontend_dist: Path | None = Field(None, validation_alias="FRONTEND_DIST")

    stream_max_deliveries: int = Field(5, ge=1, validation_alias="STREAM_MAX_DELIVERIES")
    stream_claim_idle_ms: int = Field(30_000, ge=1000, validation_alias="STREAM_CLAIM_IDLE_MS")

    @field_validator("jwt_algorithm")
    @classmethod
    def _known_algorithm(cls, value: str) -> str:
        upper = value.upper()
        if upper not in HMAC_ALGORITHMS | KEY_FILE_ALGORITHMS:
            raise ValueError(
                f"HASH={value!r} is not supported; set HASH to HS256, HS384 or HS512,"
                " or to RS256/384/512 or ES256/384/512 with JWT_PRIVATE_KEY_FILE and"
                " JWT_PUBLIC_KEY_FILE"
            )
        return upper

    @field_validator("device", mode="before")
    @classmethod
    def _device_lowercase(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _refuse_unsafe_secrets(self) -> "Settings":
        uses_key_files = self.jwt_private_key_file and self.jwt_public_key_file
        if self.jwt_algorithm not in HMAC_ALGORITHMS and not uses_key_files:
            raise ValueError(
                f"HASH={self.jwt_algorithm} needs JWT_PRIVATE_KEY_FILE and JWT_PUBLIC_KEY_FILE;"
                " set them, or set HASH to HS256, HS384 or HS512"
            )
        if self.secret_key.strip().lower() in PLACEHOLDER_SECRETS:
            if self.env != "development" and self.jwt_algorithm in HMAC_ALGORITHMS:
                raise ValueError(
                    "SECRET_KEY is missing or a placeholder; set SECRET_KEY to a long random"
                    " value (for example `python -c 'import secrets;"
                    " print(secrets.token_urlsafe(48))'`)"
                )
            self.secret_key = DEVELOPMENT_SECRET
        if self.smtp not in (0, 1):
            raise ValueError("SMTP must be 0 (mail off, auto-confirm) or 1 (send real mail)")
        return self

    @property
    def database_url(self) -> str:
        if self.database_url_override:
            return self.database_url_override
        password = f":{quote(self.db_pass, safe='')}" if self.db_pass else ""
        user = quote(self.db_user, safe="")
        return (
            f"postgresql+asyncpg://{user}{password}@{self.db_host}:{self.db_port}/{self.db_name}"
        )

    @property
    def redis_url(self) -> str:
        if self.redis_url_override:
            return self.redis_url_override
        return f"redis://{self.redis_host}:{self.redis_port}/0"

    @property
    def mail_enabled(self) -> bool:
        return self.smtp == 1

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_file_size_mb * 1024 * 1024)

    @property
    def mail_sender(self) -> str:
        return self.mail_from or self.smtp_email or "no-reply@effi.local"


@lru_cache
def get_settings() -> Settings:
    return Settings()
