"""RS256 and ES256 sign with JWT_PRIVATE_KEY_FILE and verify with JWT_PUBLIC_KEY_FILE."""

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jose import jwt

from tests.accounts.tokens import claims_for, hmac_signed
from tests.factories import bearer, sign_in


def write_key_pair(tmp_path, algorithm: str) -> tuple[str, str]:
    if algorithm.startswith("RS"):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    private_path, public_path = tmp_path / "private.pem", tmp_path / "public.pem"
    private_path.write_bytes(private)
    public_path.write_bytes(public)
    return str(private_path), str(public_path)


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
async def test_asymmetric_tokens_round_trip_and_refuse_hmac_forgeries(
    client, configure, tmp_path, algorithm
):
    private_path, public_path = write_key_pair(tmp_path, algorithm)
    public_pem = (tmp_path / "public.pem").read_bytes()
    configure(HASH=algorithm, JWT_PRIVATE_KEY_FILE=private_path, JWT_PUBLIC_KEY_FILE=public_path)
    signed_in = await sign_in(client)

    me = await client.get("/auth/user/me", headers=signed_in.headers)
    forged = hmac_signed(claims_for("access", signed_in.user), key=public_pem)
    forged_me = await client.get("/auth/user/me", headers=bearer(forged))

    assert me.status_code == 200
    assert jwt.get_unverified_header(signed_in.access_token)["alg"] == algorithm
    # The classic confusion attack, an HS256 token keyed with the public key, is refused.
    assert forged_me.status_code == 401
