"""The subject rule on hand-made detections (no models needed)."""

from __future__ import annotations

import numpy as np
import pytest

from workers.face import FaceRejected
from workers.face.detector import DetectedFace
from workers.face.subject import choose_subject

NO_LANDMARKS = np.zeros((5, 2), dtype=np.float32)


def face(left: float, top: float, side: float, score: float = 0.99) -> DetectedFace:
    return DetectedFace(left, top, left + side, top + side * 1.3, score, NO_LANDMARKS)


def test_single_face_is_the_subject() -> None:
    only = face(270, 150, 100)

    assert choose_subject([only], 640, 480, min_face_px=40) is only


def test_small_background_face_is_ignored() -> None:
    main, background = face(270, 150, 100), face(20, 20, 45)

    assert choose_subject([background, main], 640, 480, min_face_px=40) is main


def test_central_face_wins_over_an_off_centre_one_of_similar_size() -> None:
    main, neighbour = face(270, 150, 100), face(500, 40, 90)

    assert choose_subject([neighbour, main], 640, 480, min_face_px=40) is main


def test_much_larger_face_wins_even_if_less_central() -> None:
    large, small = face(60, 100, 160), face(290, 190, 80)

    assert choose_subject([small, large], 640, 480, min_face_px=40) is large


def test_box_straddling_the_subject_is_not_a_second_person() -> None:
    main, straddling = face(270, 150, 100), face(230, 160, 95, score=0.9)

    assert choose_subject([main, straddling], 640, 480, min_face_px=40) is main


def test_two_equal_faces_either_side_of_centre_are_refused() -> None:
    left, right = face(170, 150, 100), face(370, 150, 100)

    with pytest.raises(FaceRejected) as caught:
        choose_subject([left, right], 640, 480, min_face_px=40)

    assert caught.value.reason == "multiple_faces"


@pytest.mark.parametrize(
    ("faces", "reason"), [([], "no_face"), ([face(300, 200, 30)], "face_too_small")]
)
def test_nothing_usable(faces: list[DetectedFace], reason: str) -> None:
    with pytest.raises(FaceRejected) as caught:
        choose_subject(faces, 640, 480, min_face_px=40)

    assert caught.value.reason == reason
