"""The embedding and verification groups: jobs end `done` or `failed`, never stuck.

In-memory tests use a stand-in embedder; the end-to-end test runs the real face model on LFW
photos through both groups against real Redis.
"""

import asyncio
import io
import json
import os
import sys
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import numpy as np
from faststream.redis import TestRedisBroker
from PIL import Image
from redis.asyncio import Redis
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.core.settings import PROJECT_ROOT, get_settings
from api.events.models import OutboxEvent
from api.face.models import FaceUpload, FaceVerification
from contracts.events import FaceSubmitted, VerificationRequested, parse_event
from contracts.streams import (
    FACE_SUBMITTED_STREAM,
    FACE_VERIFICATION_STREAM,
    job_updates_stream,
)
from tests.factories import create_user
from tests.workers.conftest import dead_letters, eventually, lfw_images
from tests.workers.factories import (
    enrol,
    load_enrolment,
    load_job,
    load_upload,
    submit_face,
)
from workers.embedding.consumer import embedding_consumer, model_version
from workers.embedding.jobs import PROCESSING_FAILED
from workers.face.errors import NO_FACE, FaceRejected
from workers.runtime import build_app
from workers.verification.consumer import verification_consumer
from workers.verification.decision import decision_threshold, euclidean_distance

MODEL = "test-model@1"
PHOTO = b"\xff\xd8 not really a jpeg"


@dataclass
class FakeEmbedding:
    vector: np.ndarray


class FakeEmbedder:
    """Returns a fixed vector, or raises what it was told to."""

    def __init__(self, vector: list[float] | None = None, error: Exception | None = None):
        self.vector = np.asarray(vector or [0.1] * 128, np.float32)
        self.error = error
        self.calls = 0

    def embed(self, image_bytes: bytes) -> FakeEmbedding:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return FakeEmbedding(self.vector)


async def job_statuses(redis: Redis, user_id: UUID) -> list[dict[str, Any]]:
    entries = await redis.xrange(job_updates_stream(str(user_id)))
    return [json.loads(fields["body"]) for _, fields in entries]


async def embed_in_memory(
    redis: Redis,
    sessions: async_sessionmaker[AsyncSession],
    embedder: FakeEmbedder,
    *events: FaceSubmitted,
) -> None:
    consumer = embedding_consumer(get_settings(), sessions, redis, embedder, MODEL)
    async with TestRedisBroker(build_app(consumer, get_settings(), redis).broker) as broker:
        for event in events:
            await broker.publish(event.to_stream(), stream=FACE_SUBMITTED_STREAM)


async def verify_in_memory(
    redis: Redis,
    sessions: async_sessionmaker[AsyncSession],
    event: VerificationRequested,
    threshold: float = 0.6,
) -> None:
    consumer = verification_consumer(sessions, redis, threshold)
    async with TestRedisBroker(build_app(consumer, get_settings(), redis).broker) as broker:
        await broker.publish(event.to_stream(), stream=FACE_VERIFICATION_STREAM)


async def test_enrolment_stores_the_embedding_and_deletes_the_upload(redis, sessions) -> None:
    user = await create_user()
    submitted = await submit_face(user.id, "enroll", PHOTO)
    embedder = FakeEmbedder([0.25] * 128)

    await embed_in_memory(redis, sessions, embedder, submitted.event, submitted.event)

    assert embedder.calls == 1  # the repeated event found the job finished
    job = await load_job(submitted.job_id)
    assert (job.status, job.reason) == ("done", None)
    enrolment = await load_enrolment(user.id)
    assert enrolment.embedding == [0.25] * 128
    assert (enrolment.model_version, enrolment.job_id) == (MODEL, submitted.job_id)
    assert await load_upload(submitted.upload_id) is None
    statuses = [update["status"] for update in await job_statuses(redis, user.id)]
    assert statuses == ["running", "done"]


async def test_keep_uploads_leaves_the_photo(redis, sessions, configure) -> None:
    configure(KEEP_UPLOADS="1")
    user = await create_user()
    submitted = await submit_face(user.id, "enroll", PHOTO)

    await embed_in_memory(redis, sessions, FakeEmbedder(), submitted.event)

    assert (await load_job(submitted.job_id)).status == "done"
    assert (await load_upload(submitted.upload_id)).content == PHOTO


async def test_verify_stages_the_comparison_and_leaves_the_job_running(redis, sessions) -> None:
    user = await create_user()
    await enrol(user.id, [0.0] * 128, MODEL)
    submitted = await submit_face(user.id, "verify", PHOTO)

    await embed_in_memory(redis, sessions, FakeEmbedder([0.5] * 128), submitted.event)

    assert (await load_job(submitted.job_id)).status == "running"
    assert await load_upload(submitted.upload_id) is None
    ((_, fields),) = await redis.xrange(FACE_VERIFICATION_STREAM)
    requested = parse_event(fields["body"])
    assert isinstance(requested, VerificationRequested)
    assert (requested.job_id, requested.model_version) == (submitted.job_id, MODEL)
    assert requested.embedding == [0.5] * 128
    async with sessions() as session:
        outbox = await session.get(OutboxEvent, requested.id)
    assert outbox.published_at is not None


async def test_rejected_photo_fails_the_job_with_the_pipeline_reason(redis, sessions) -> None:
    user = await create_user()
    submitted = await submit_face(user.id, "enroll", PHOTO)
    rejected = FaceRejected(NO_FACE, "no face was found: face the camera")

    await embed_in_memory(redis, sessions, FakeEmbedder(error=rejected), submitted.event)

    job = await load_job(submitted.job_id)
    assert (job.status, job.reason, job.detail) == ("failed", NO_FACE, rejected.detail)
    assert await load_enrolment(user.id) is None
    assert await load_upload(submitted.upload_id) is None
    last = (await job_statuses(redis, user.id))[-1]
    assert (last["status"], last["reason"]) == ("failed", NO_FACE)


async def test_missing_upload_and_missing_enrolment_fail_the_job(redis, sessions) -> None:
    user = await create_user()
    no_upload = await submit_face(user.id, "enroll", PHOTO)
    async with sessions() as session:
        await session.execute(delete(FaceUpload).where(FaceUpload.id == no_upload.upload_id))
        await session.commit()
    not_enrolled = await submit_face(user.id, "verify", PHOTO)
    embedder = FakeEmbedder()

    await embed_in_memory(redis, sessions, embedder, no_upload.event, not_enrolled.event)

    assert embedder.calls == 1  # nothing to embed for the missing upload
    assert (await load_job(no_upload.job_id)).reason == "upload_missing"
    job = await load_job(not_enrolled.job_id)
    assert (job.status, job.reason) == ("failed", "face_not_enrolled")
    assert await redis.xlen(FACE_VERIFICATION_STREAM) == 0


async def verification_request(user_id: UUID, embedding: list[float]) -> VerificationRequested:
    submitted = await submit_face(user_id, "verify", PHOTO)
    return VerificationRequested(
        job_id=submitted.job_id, user_id=user_id, embedding=embedding, model_version=MODEL
    )


async def test_verification_decides_with_distance_and_threshold(redis, sessions) -> None:
    user = await create_user()
    await enrol(user.id, [0.0] * 128, MODEL)
    near = await verification_request(user.id, [0.05] * 128)  # distance 0.566
    far = await verification_request(user.id, [0.06] * 128)  # distance 0.679

    await verify_in_memory(redis, sessions, near, threshold=0.6)
    await verify_in_memory(redis, sessions, far, threshold=0.6)

    async with sessions() as session:
        results = {
            row.job_id: row for row in (await session.scalars(select(FaceVerification))).all()
        }
    assert results[near.job_id].verified is True
    assert results[far.job_id].verified is False
    assert results[near.job_id].distance == np.float32(0.05 * np.sqrt(128)).item()
    assert results[far.job_id].threshold == 0.6
    assert (await load_job(near.job_id)).status == "done"
    done = [u for u in await job_statuses(redis, user.id) if u["status"] == "done"]
    assert {(u["job_id"], u["verified"]) for u in done} == {
        (str(near.job_id), True),
        (str(far.job_id), False),
    }


async def test_verification_without_a_current_enrolment_fails(redis, sessions) -> None:
    user = await create_user()
    deleted = await verification_request(user.id, [0.0] * 128)
    await verify_in_memory(redis, sessions, deleted)
    await enrol(user.id, [0.0] * 128, "older-model@0")
    outdated = await verification_request(user.id, [0.0] * 128)
    await verify_in_memory(redis, sessions, outdated)

    assert (await load_job(deleted.job_id)).reason == "face_not_enrolled"
    assert (await load_job(outdated.job_id)).reason == "enrolment_outdated"


def test_threshold_comes_from_the_setting_or_the_weights_metadata(configure) -> None:
    metadata = get_settings().model_weights_path.with_suffix(".json")
    calibrated = json.loads(metadata.read_text())["metric"]["threshold"]
    assert decision_threshold(get_settings()) == calibrated
    configure(THRESHOLD_DEFAULT="0.55")
    assert decision_threshold(get_settings()) == 0.55
    assert euclidean_distance([0.0, 3.0], [4.0, 0.0]) == 5.0


async def test_job_failing_every_delivery_is_failed_and_dead_lettered(
    redis, sessions, start_worker, worker_settings
) -> None:
    user = await create_user()
    submitted = await submit_face(user.id, "enroll", PHOTO)
    broken = FakeEmbedder(error=RuntimeError("CUDA error: out of memory"))
    consumer = embedding_consumer(worker_settings, sessions, redis, broken, MODEL)

    async with start_worker(consumer):
        entry_id = await redis.xadd(FACE_SUBMITTED_STREAM, submitted.event.to_stream())
        (record,) = await eventually(lambda: dead_letters(redis), timeout_s=15)

    assert record["entry_id"] == entry_id
    assert record["stream"] == FACE_SUBMITTED_STREAM
    job = await load_job(submitted.job_id)
    assert (job.status, job.reason) == ("failed", PROCESSING_FAILED)
    assert await load_upload(submitted.upload_id) is None
    last = (await job_statuses(redis, user.id))[-1]
    assert (last["status"], last["reason"]) == ("failed", PROCESSING_FAILED)


def lfw_photo(name: str, number: int) -> bytes:
    return (lfw_images() / name / f"{name}_{number:04d}.jpg").read_bytes()


def no_face_photo() -> bytes:
    x = np.linspace(0, 255, 256, dtype=np.uint8)
    pixels = np.stack(np.broadcast_arrays(x[None, :], x[:, None], x[None, ::-1]), axis=-1)
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels)).save(buffer, format="JPEG")
    return buffer.getvalue()


async def test_real_model_enrols_and_verifies_lfw_photos(
    redis, sessions, start_worker, worker_settings, face_pipeline
) -> None:
    user = await create_user()
    version = model_version(face_pipeline.card)
    embedding = embedding_consumer(worker_settings, sessions, redis, face_pipeline, version)
    verification = verification_consumer(sessions, redis, decision_threshold(worker_settings))

    async def finished(job_id: UUID) -> Any:
        job = await load_job(job_id)
        return job if job.status in ("done", "failed") else None

    async def run(purpose: str, photo: bytes) -> Any:
        submitted = await submit_face(user.id, purpose, photo)
        await redis.xadd(FACE_SUBMITTED_STREAM, submitted.event.to_stream())
        job = await eventually(lambda: finished(submitted.job_id), timeout_s=60)
        assert await load_upload(submitted.upload_id) is None
        return job

    async with start_worker(embedding), start_worker(verification):
        enrolled = await run("enroll", lfw_photo("Colin_Powell", 1))
        same = await run("verify", lfw_photo("Colin_Powell", 2))
        other = await run("verify", lfw_photo("Tony_Blair", 1))
        blank = await run("verify", no_face_photo())

    assert (enrolled.status, same.status, other.status) == ("done", "done", "done")
    assert (blank.status, blank.reason) == ("failed", NO_FACE)
    assert (await load_enrolment(user.id)).model_version == version
    async with sessions() as session:
        results = {
            row.job_id: row for row in (await session.scalars(select(FaceVerification))).all()
        }
    assert results[same.id].verified is True
    assert results[other.id].verified is False
    assert results[same.id].distance < results[other.id].distance
    assert results[same.id].model_version == version


async def test_embedding_worker_refuses_settings_that_disagree_with_the_weights() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "workers.embedding",
        cwd=PROJECT_ROOT,
        env={**os.environ, "EMBED_DIM": "512"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=120)

    assert process.returncode != 0
    assert b"set EMBED_DIM=128" in output
