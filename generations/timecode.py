"""SMPTE timecode (non-drop-frame) for notes and markers."""


def frames_per_second(fps: float) -> int:
    # 23.976 counts as 24 frames per timecode second, 29.97 as 30 (non-drop-frame display).
    return max(1, round(float(fps)))


def frame_to_timecode(frame: int, fps: float) -> str:
    base = frames_per_second(fps)
    frame = max(0, int(frame))
    ff = frame % base
    total_seconds = frame // base
    hh, rem = divmod(total_seconds, 3600)
    mm, ss = divmod(rem, 60)
    return f"{hh:02d}:{mm:02d}:{ss:02d}:{ff:02d}"


def seconds_to_timecode(seconds: float, fps: float) -> str:
    return frame_to_timecode(int(round(float(seconds) * float(fps))), fps)


def timecode_to_frame(timecode: str, fps: float) -> int:
    hh, mm, ss, ff = (int(part) for part in timecode.replace(";", ":").split(":"))
    base = frames_per_second(fps)
    if ff >= base or mm >= 60 or ss >= 60:
        raise ValueError(f"Invalid timecode {timecode!r} at {fps} fps")
    return ((hh * 60 + mm) * 60 + ss) * base + ff


def frame_time(frame: int, fps: float) -> float:
    """The moment to seek to for a frame: its middle, so rounding never lands on the previous."""
    return (int(frame) + 0.5) / float(fps) if fps else 0.0


__all__ = [
    "frame_time",
    "frame_to_timecode",
    "frames_per_second",
    "seconds_to_timecode",
    "timecode_to_frame",
]
