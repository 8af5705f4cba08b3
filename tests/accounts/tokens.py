"""Builders of valid and deliberately broken tokens for the token-rule tests."""

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from jose import jwt

from api.accounts.models import User
from api.accounts.tokens import password_stamp
from api.core.settings import get_settings


def claims_for(kind: str, user: User, **overrides: Any) -> dict[str, Any]:
    """Claims a genuine token of `kind` for `user` would carry."""
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": str(user.id),
        "typ": kind,
        "jti": str(uuid4()),
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
    }
    if kind == "access":
        claims["ver"] = user.token_version
    if kind == "confirm":
        claims["email"] = user.email
    if kind == "reset":
        claims["pwd"] = password_stamp(user.password_changed_at)
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def sign(claims: dict[str, Any], key: str | None = None, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key or get_settings().secret_key, algorithm=algorithm)


def _b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unsigned(claims: dict[str, Any]) -> str:
    """`alg: none`: a token anyone could forge."""
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."


def hmac_signed(claims: dict[str, Any], key: bytes) -> str:
    """HS256 by hand, with any key (jose refuses PEM keys, an attacker would not)."""
    signing_input = f"{_b64({'alg': 'HS256', 'typ': 'JWT'})}.{_b64(claims)}"
    digest = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(digest).rstrip(b'=').decode()}"


def broken_tokens(kind: str, user: User) -> dict[str, str]:
    """Every defect a token of `kind` must be refused for, by name."""
    other_kinds = [k for k in ("access", "refresh", "confirm", "reset") if k != kind]
    past = int((datetime.now(UTC) - timedelta(minutes=1)).timestamp())
    cases = {
        "malformed": "not-a-token",
        "three_garbage_parts": "abc.def.ghi",
        "alg_none": unsigned(claims_for(kind, user)),
        "wrong_signature": sign(claims_for(kind, user), key="another-secret-" + "x" * 40),
        "expired": sign(claims_for(kind, user, exp=past)),
        "missing_exp": sign(claims_for(kind, user, exp=None)),
        "missing_jti": sign(claims_for(kind, user, jti=None)),
        "unknown_subject": sign(claims_for(kind, user, sub=str(uuid4()))),
        "subject_not_a_uuid": sign(claims_for(kind, user, sub="admin")),
        "other_algorithm": sign(claims_for(kind, user), algorithm="HS512"),
    }
    for other in other_kinds:
        cases[f"typ_{other}"] = sign(claims_for(other, user))
    return cases
