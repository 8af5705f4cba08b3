from datetime import datetime

from api.core.database import get_sessionmaker
from api.face.models import FaceEnrolment
from tests.factories import sign_in


async def test_me_describes_the_signed_in_account(client):
    signed_in = await sign_in(client)

    response = await client.get("/auth/user/me", headers=signed_in.headers)

    assert response.status_code == 200
    body = response.json()
    assert body == {
        "id": str(signed_in.user.id),
        "email": signed_in.user.email,
        "confirmed": True,
        "created": body["created"],
        "face_enrolled": False,
    }
    assert datetime.fromisoformat(body["created"]) == signed_in.user.created_at


async def test_me_reports_a_face_enrolment(client):
    signed_in = await sign_in(client)
    async with get_sessionmaker()() as session:
        session.add(
            FaceEnrolment(user_id=signed_in.user.id, embedding=[0.0] * 128, model_version="t")
        )
        await session.commit()

    response = await client.get("/auth/user/me", headers=signed_in.headers)

    assert response.json()["face_enrolled"] is True


async def test_me_answers_no_secret(client):
    signed_in = await sign_in(client)

    response = await client.get("/auth/user/me", headers=signed_in.headers)

    assert "password" not in response.text and "argon2" not in response.text
