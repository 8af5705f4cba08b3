"""POST /face/create and /face/verify: what is stored and queued, and what is refused."""

import json
from collections.abc import Callable
from uuid import UUID

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import func, select

from api.core.database import get_sessionmaker
from api.core.redis import get_redis
from api.events.models import OutboxEvent
from api.face import routes
from api.face.models import FaceJob, FaceUpload
from contracts.streams import FACE_SUBMITTED_STREAM, job_updates_stream
from tests.face_api import images, worker_effects
from tests.face_api.conftest import Submit
from tests.factories import SignedIn


async def _count(model: type) -> int:
    async with get_sessionmaker()() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _nothing_queued() -> None:
    assert await _count(FaceJob) == 0
    assert await _count(FaceUpload) == 0
    assert await get_redis().xlen(FACE_SUBMITTED_STREAM) == 0


async def test_create_accepts_photo_and_queues_job(submit: Submit, signed_in: SignedIn):
    photo = images.png()

    response = await submit("enroll", content=photo)

    assert response.status_code == 202, response.text
    body = response.json()
    job_id = UUID(body["job_id"])
    assert body == {"job_id": str(job_id), "status": "accepted", "purpose": "enroll"}
    assert response.headers["location"] == f"/face/jobs/{job_id}"

    async with get_sessionmaker()() as session:
        job = await session.get_one(FaceJob, job_id)
        upload = await session.get_one(FaceUpload, job.upload_id)
        outbox = (await session.scalars(select(OutboxEvent))).one()
    assert (job.user_id, job.purpose, job.status) == (signed_in.user.id, "enroll", "accepted")
    assert upload.content == photo
    assert upload.image_format == "PNG"
    assert outbox.published_at is not None

    entries = await get_redis().xrange(FACE_SUBMITTED_STREAM)
    assert len(entries) == 1
    _, fields = entries[0]
    assert set(fields) == {"name", "body"}
    assert fields["name"] == "face.submitted"
    submitted = json.loads(fields["body"])
    assert submitted["job_id"] == str(job_id)
    assert submitted["upload_id"] == str(upload.id)
    assert submitted["purpose"] == "enroll"
    assert "PNG" not in fields["body"]
    assert len(fields["body"]) < 400  # identifiers only, never the photo


async def test_create_publishes_accepted_update(submit: Submit, signed_in: SignedIn):
    response = await submit("enroll")

    entries = await get_redis().xrange(job_updates_stream(str(signed_in.user.id)))
    assert len(entries) == 1
    update = json.loads(entries[0][1]["body"])
    assert update["job_id"] == response.json()["job_id"]
    assert update["status"] == "accepted"
    assert update["purpose"] == "enroll"


async def test_verify_without_enrolment_is_409(submit: Submit):
    response = await submit("verify")

    assert response.status_code == 409
    assert response.json()["error"] == "face_not_enrolled"
    assert "POST /face/create" in response.json()["detail"]
    await _nothing_queued()


async def test_verify_after_enrolment_is_accepted(submit: Submit, signed_in: SignedIn):
    await worker_effects.enrol(signed_in.user.id)

    response = await submit("verify", content=images.jpeg(), content_type="image/jpeg")

    assert response.status_code == 202, response.text
    assert response.json()["purpose"] == "verify"
    async with get_sessionmaker()() as session:
        job = await session.get_one(FaceJob, UUID(response.json()["job_id"]))
    assert job.purpose == "verify"


@pytest.mark.parametrize("image_format", ["PNG", "JPEG", "WEBP"])
async def test_accepted_formats(submit: Submit, image_format: str):
    response = await submit("enroll", content=images.encoded(image_format))

    assert response.status_code == 202, response.text


async def test_format_comes_from_bytes_not_declared_type(submit: Submit):
    response = await submit(
        "enroll", content=images.png(), content_type="application/octet-stream"
    )

    assert response.status_code == 202, response.text
    async with get_sessionmaker()() as session:
        upload = (await session.scalars(select(FaceUpload))).one()
    assert upload.image_format == "PNG"


async def test_text_declared_as_jpeg_is_415(submit: Submit):
    response = await submit(
        "enroll", content=b"hello, I am not a photo", content_type="image/jpeg"
    )

    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_image_format"
    assert "JPEG, PNG or WebP" in response.json()["detail"]
    await _nothing_queued()


async def test_gif_is_415(submit: Submit):
    response = await submit("enroll", content=images.encoded("GIF"), content_type="image/gif")

    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_image_format"


@pytest.mark.parametrize(
    "content", [images.truncated_jpeg(), images.png_with_bad_checksum()],
    ids=["truncated_jpeg", "png_bad_checksum"],
)
async def test_corrupt_image_is_422(submit: Submit, content: bytes):
    response = await submit("enroll", content=content, content_type="image/jpeg")

    assert response.status_code == 422
    assert response.json()["error"] == "image_corrupt"
    await _nothing_queued()


async def test_declared_100000_px_square_is_refused(submit: Submit):
    response = await submit("enroll", content=images.png_bomb_header())

    assert response.status_code == 413
    assert response.json()["error"] == "image_too_large"
    await _nothing_queued()


async def test_pixels_over_max_image_pixels_are_refused(submit: Submit, configure):
    configure(MAX_IMAGE_PIXELS="10000")

    response = await submit("enroll", content=images.png(200, 200))

    assert response.status_code == 413
    assert response.json()["error"] == "image_too_large"
    await _nothing_queued()


@pytest.mark.parametrize("size", [(16, 64), (64, 16), (12_001, 32)])
async def test_absurd_dimensions_are_422(submit: Submit, size: tuple[int, int]):
    response = await submit("enroll", content=images.png(*size))

    assert response.status_code == 422
    assert response.json()["error"] == "image_dimensions_invalid"
    await _nothing_queued()


async def test_file_over_max_size_is_413(submit: Submit, configure):
    configure(MAX_FILE_SIZE_MB="0.01")  # 10 KiB: a 64 px noise PNG is ~12 KiB
    photo = images.png()
    assert 10 * 1024 < len(photo) < 16 * 1024  # below the multipart allowance: read check

    response = await submit("enroll", content=photo)

    assert response.status_code == 413
    assert response.json()["error"] == "file_too_large"
    await _nothing_queued()


async def test_large_content_length_is_refused_before_reading(client, signed_in, configure):
    configure(MAX_FILE_SIZE_MB="0.01")
    body_read = False

    async def body():
        nonlocal body_read
        body_read = True
        yield b"x" * 100

    response = await client.post(
        "/face/create",
        content=body(),
        headers={
            **signed_in.headers,
            "content-type": "multipart/form-data; boundary=b",
            "content-length": str(10 * 1024 * 1024),
        },
    )

    assert response.status_code == 413
    assert response.json()["error"] == "file_too_large"
    assert not body_read


async def test_chunked_body_is_cut_off_at_the_limit(client, signed_in, configure):
    configure(MAX_FILE_SIZE_MB="0.01")
    chunks_sent = 0

    async def body():  # no Content-Length: the size is only known while reading
        nonlocal chunks_sent
        yield b'--b\r\nContent-Disposition: form-data; name="image"; filename="a"\r\n\r\n'
        for _ in range(1000):
            chunks_sent += 1
            yield b"\0" * 1024
        yield b"\r\n--b--\r\n"

    response = await client.post(
        "/face/create",
        content=body(),
        headers={**signed_in.headers, "content-type": "multipart/form-data; boundary=b"},
    )

    assert response.status_code == 413
    assert response.json()["error"] == "file_too_large"
    assert chunks_sent < 100  # stopped near 10 KiB + framing, not after 1 MiB
    await _nothing_queued()


async def test_missing_image_field_is_422(client, signed_in):
    response = await client.post(
        "/face/create", files={"photo": ("a", images.png(), "image/png")},
        headers=signed_in.headers,
    )

    assert response.status_code == 422
    assert response.json()["error"] == "validation_error"
    assert response.json()["fields"][0]["loc"] == ["body", "image"]


async def test_empty_file_is_415(submit: Submit):
    response = await submit("enroll", content=b"")

    assert response.status_code == 415


@pytest.mark.parametrize("path", ["/face/create", "/face/verify"])
async def test_uploads_require_sign_in(client, path: str):
    response = await client.post(path, files={"image": ("a", images.png(), "image/png")})

    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"
    await _nothing_queued()


async def test_redis_failure_after_commit_still_answers_202(submit: Submit, monkeypatch):
    async def unavailable(*args: object, **kwargs: object) -> None:
        raise RedisConnectionError("redis is down")

    monkeypatch.setattr(routes, "publish_job_update", unavailable)
    monkeypatch.setattr(routes, "publish_committed", unavailable)

    response = await submit("enroll")

    assert response.status_code == 202
    async with get_sessionmaker()() as session:
        outbox = (await session.scalars(select(OutboxEvent))).one()
    assert outbox.published_at is None  # left for the relay to publish
    assert await _count(FaceJob) == 1


async def test_submissions_are_rate_limited_per_user(
    submit: Submit, configure: Callable[..., None]
):
    configure(FACE_SUBMIT_LIMIT="2/minute")

    accepted = [await submit("enroll", content=images.png()) for _ in range(2)]
    refused = await submit("enroll", content=images.png())

    assert [r.status_code for r in accepted] == [202, 202]
    assert refused.status_code == 429
    assert refused.json()["error"] == "rate_limited"
    assert int(refused.headers["retry-after"]) >= 1
    assert await _count(FaceJob) == 2
