import pytest

from generations.timecode import (
    frame_time,
    frame_to_timecode,
    seconds_to_timecode,
    timecode_to_frame,
)


@pytest.mark.parametrize(
    ("frame", "fps", "expected"),
    [
        (0, 24, "00:00:00:00"),
        (23, 24, "00:00:00:23"),
        (24, 24, "00:00:01:00"),
        (90061 * 30 + 7, 30, "25:01:01:07"),
        (47, 23.976, "00:00:01:23"),
    ],
)
def test_frame_to_timecode(frame, fps, expected):
    assert frame_to_timecode(frame, fps) == expected
    assert timecode_to_frame(expected, fps) == frame


def test_seconds_round_to_the_nearest_frame():
    assert seconds_to_timecode(3.2, 24) == "00:00:03:05"  # 76.8 → frame 77
    assert seconds_to_timecode(1.0, 23.976) == "00:00:01:00"  # 23.976 rounds to frame 24


def test_seek_time_lands_inside_the_frame():
    fps = 30
    for frame in (0, 1, 29, 300):
        t = frame_time(frame, fps)
        assert int(t * fps) == frame


def test_invalid_timecode_is_refused():
    with pytest.raises(ValueError):
        timecode_to_frame("00:00:01:24", 24)
