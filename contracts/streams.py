"""Redis Streams names and consumer groups. Each group is one concern and its own process."""

from typing import Final

ACCOUNTS_STREAM: Final = "effi.accounts"
FACE_SUBMITTED_STREAM: Final = "effi.face.submitted"
FACE_VERIFICATION_STREAM: Final = "effi.face.verification"
FACE_JOB_UPDATES_PREFIX: Final = "effi.face.jobs"
DEAD_LETTER_STREAM: Final = "effi.dead_letter"

MAIL_GROUP: Final = "mail"
EMBEDDING_GROUP: Final = "embedding"
VERIFICATION_GROUP: Final = "verification"

GROUPS_BY_STREAM: Final[dict[str, tuple[str, ...]]] = {
    ACCOUNTS_STREAM: (MAIL_GROUP,),
    FACE_SUBMITTED_STREAM: (EMBEDDING_GROUP,),
    FACE_VERIFICATION_STREAM: (VERIFICATION_GROUP,),
}


def job_updates_stream(user_id: str) -> str:
    """Per-user stream of face job updates, read by the SSE endpoint (resumable by entry id)."""
    return f"{FACE_JOB_UPDATES_PREFIX}.{user_id}"
