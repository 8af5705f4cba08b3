"""GET /face/jobs/{id} and the job-update helpers the workers call."""

import json
from uuid import UUID, uuid4

import pytest

from api.core.database import get_sessionmaker
from api.core.redis import get_redis
from api.face.jobs import JOB_UPDATES_TTL_S, publish_job_update, record_job_status
from api.face.models import FaceJob
from contracts.events import FaceJobUpdated
from contracts.streams import job_updates_stream
from tests.face_api import worker_effects
from tests.face_api.conftest import Submit
from tests.factories import SignedIn, sign_in


async def _set_status(job_id: UUID, status: str, **fields: str) -> FaceJobUpdated:
    async with get_sessionmaker()() as session:
        job = await session.get_one(FaceJob, job_id)
        update = await record_job_status(session, job, status, **fields)
        await session.commit()
    return update


async def test_poll_own_enrol_job(client, submit: Submit, signed_in: SignedIn):
    accepted = await submit("enroll")

    response = await client.get(accepted.headers["location"], headers=signed_in.headers)

    assert response.status_code == 200
    job = response.json()
    assert job["id"] == accepted.json()["job_id"]
    assert (job["purpose"], job["status"], job["result"]) == ("enroll", "accepted", None)
    assert job["created_at"] and job["updated_at"]


async def test_poll_failed_job_shows_reason(client, submit: Submit, signed_in: SignedIn):
    job_id = UUID((await submit("enroll")).json()["job_id"])
    await _set_status(
        job_id, "failed", reason="no_face_found", detail="No face was found; retake the photo."
    )

    job = (await client.get(f"/face/jobs/{job_id}", headers=signed_in.headers)).json()

    assert job["status"] == "failed"
    assert job["reason"] == "no_face_found"
    assert job["detail"] == "No face was found; retake the photo."


async def test_poll_done_verify_job_has_result(client, submit: Submit, signed_in: SignedIn):
    await worker_effects.enrol(signed_in.user.id)
    job_id = UUID((await submit("verify")).json()["job_id"])
    await worker_effects.finish_verification(job_id, distance=0.31, threshold=0.6)

    job = (await client.get(f"/face/jobs/{job_id}", headers=signed_in.headers)).json()

    assert job["status"] == "done"
    result = job["result"]
    assert result["job_id"] == str(job_id)
    assert (result["distance"], result["threshold"], result["verified"]) == (0.31, 0.6, True)
    assert result["model_version"] == worker_effects.MODEL_VERSION


async def test_someone_elses_job_is_404(client, submit: Submit):
    job_id = (await submit("enroll")).json()["job_id"]
    other = await sign_in(client)

    response = await client.get(f"/face/jobs/{job_id}", headers=other.headers)

    assert response.status_code == 404
    assert response.json()["error"] == "face_job_not_found"


async def test_unknown_job_is_404(client, signed_in: SignedIn):
    response = await client.get(f"/face/jobs/{uuid4()}", headers=signed_in.headers)

    assert response.status_code == 404
    assert response.json()["error"] == "face_job_not_found"


async def test_polling_requires_sign_in(client, submit: Submit):
    job_id = (await submit("enroll")).json()["job_id"]

    response = await client.get(f"/face/jobs/{job_id}")

    assert response.status_code == 401


async def test_record_job_status_sets_row_and_returns_update(submit: Submit):
    job_id = UUID((await submit("enroll")).json()["job_id"])

    update = await _set_status(job_id, "running")

    async with get_sessionmaker()() as session:
        job = await session.get_one(FaceJob, job_id)
    assert job.status == "running"
    assert job.updated_at > job.created_at
    assert (update.job_id, update.user_id, update.status) == (job.id, job.user_id, "running")
    assert update.purpose == "enroll"


async def test_record_job_status_is_rolled_back_with_its_transaction(submit: Submit):
    job_id = UUID((await submit("enroll")).json()["job_id"])

    async with get_sessionmaker()() as session:
        job = await session.get_one(FaceJob, job_id)
        await record_job_status(session, job, "done")
        await session.rollback()

    async with get_sessionmaker()() as session:
        assert (await session.get_one(FaceJob, job_id)).status == "accepted"


async def test_record_job_status_refuses_unknown_status(submit: Submit):
    job_id = UUID((await submit("enroll")).json()["job_id"])

    with pytest.raises(ValueError, match="unknown job status"):
        await _set_status(job_id, "finished")


async def test_publish_job_update_appends_to_owner_stream():
    user_id = uuid4()
    update = FaceJobUpdated(
        job_id=uuid4(), user_id=user_id, purpose="verify", status="done",
        verified=False, distance=0.8, threshold=0.6,
    )
    redis = get_redis()

    entry_id = await publish_job_update(redis, update)

    stream = job_updates_stream(str(user_id))
    [(stored_id, fields)] = await redis.xrange(stream)
    assert stored_id == entry_id
    assert fields["name"] == "face.job_updated"
    assert FaceJobUpdated.model_validate_json(fields["body"]) == update
    assert 0 < await redis.ttl(stream) <= JOB_UPDATES_TTL_S
    assert json.loads(fields["body"])["verified"] is False
