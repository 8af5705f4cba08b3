"""GET/DELETE /face/enrolment and GET /face/verifications."""

from uuid import UUID

from api.core.database import get_sessionmaker
from api.face.models import FaceEnrolment
from tests.face_api import worker_effects
from tests.face_api.conftest import Submit
from tests.factories import SignedIn, sign_in


async def test_status_when_not_enrolled(client, signed_in: SignedIn):
    response = await client.get("/face/enrolment", headers=signed_in.headers)

    assert response.status_code == 200
    assert response.json() == {"enrolled": False, "model_version": None, "enrolled_at": None}


async def test_status_when_enrolled(client, signed_in: SignedIn):
    await worker_effects.enrol(signed_in.user.id)

    status = (await client.get("/face/enrolment", headers=signed_in.headers)).json()

    assert status["enrolled"] is True
    assert status["model_version"] == worker_effects.MODEL_VERSION
    assert status["enrolled_at"]


async def test_delete_enrolment(client, signed_in: SignedIn, submit: Submit):
    await worker_effects.enrol(signed_in.user.id)

    response = await client.delete("/face/enrolment", headers=signed_in.headers)

    assert response.status_code == 204
    assert response.content == b""
    async with get_sessionmaker()() as session:
        assert await session.get(FaceEnrolment, signed_in.user.id) is None
    assert (await submit("verify")).status_code == 409


async def test_delete_without_enrolment_is_404(client, signed_in: SignedIn):
    response = await client.delete("/face/enrolment", headers=signed_in.headers)

    assert response.status_code == 404
    assert response.json()["error"] == "face_not_enrolled"


async def test_delete_leaves_other_users_alone(client, signed_in: SignedIn):
    other = await sign_in(client)
    await worker_effects.enrol(other.user.id)

    response = await client.delete("/face/enrolment", headers=signed_in.headers)

    assert response.status_code == 404
    async with get_sessionmaker()() as session:
        assert await session.get(FaceEnrolment, other.user.id) is not None


async def test_enrolment_requires_sign_in(client):
    assert (await client.get("/face/enrolment")).status_code == 401
    assert (await client.delete("/face/enrolment")).status_code == 401


async def test_recent_verifications_newest_first(client, signed_in: SignedIn, submit: Submit):
    await worker_effects.enrol(signed_in.user.id)
    job_ids = [UUID((await submit("verify")).json()["job_id"]) for _ in range(3)]
    for job_id, distance in zip(job_ids, (0.2, 0.7, 0.5), strict=True):
        await worker_effects.finish_verification(job_id, distance=distance, threshold=0.6)

    response = await client.get("/face/verifications", headers=signed_in.headers)

    assert response.status_code == 200
    items = response.json()["items"]
    assert [item["job_id"] for item in items] == [str(job_id) for job_id in reversed(job_ids)]
    assert [item["verified"] for item in items] == [True, False, True]
    assert items[0]["distance"] == 0.5
    assert items[0]["threshold"] == 0.6
    assert items[0]["model_version"] == worker_effects.MODEL_VERSION
    assert items[0]["created_at"]


async def test_recent_verifications_limit_and_owner(client, signed_in: SignedIn, submit: Submit):
    await worker_effects.enrol(signed_in.user.id)
    for _ in range(3):
        job_id = UUID((await submit("verify")).json()["job_id"])
        await worker_effects.finish_verification(job_id)
    other = await sign_in(client)

    limited = await client.get("/face/verifications?limit=2", headers=signed_in.headers)
    others = await client.get("/face/verifications", headers=other.headers)

    assert len(limited.json()["items"]) == 2
    assert others.json() == {"items": []}


async def test_recent_verifications_limit_is_bounded(client, signed_in: SignedIn):
    response = await client.get("/face/verifications?limit=1000", headers=signed_in.headers)

    assert response.status_code == 422
