from django import template

from ..timecode import frame_time, frame_to_timecode, seconds_to_timecode

register = template.Library()


@register.filter
def timecode(seconds, fps) -> str:
    """{{ note.seconds|timecode:take.fps_value }} → HH:MM:SS:FF"""
    return seconds_to_timecode(seconds or 0, fps or 24)


@register.filter
def frame_timecode(frame, fps) -> str:
    return frame_to_timecode(frame or 0, fps or 24)


@register.filter
def seek_time(frame, fps) -> str:
    return f"{frame_time(frame or 0, fps or 24):.4f}"


@register.filter
def percent(value, total) -> float:
    try:
        return round(100 * float(value) / float(total), 1) if total else 0.0
    except (TypeError, ValueError):
        return 0.0
