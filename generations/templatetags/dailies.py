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


@register.filter
def rate(value, digits=1) -> str:
    """A fraction 0–1 as a percentage: {{ 0.2612|rate }} → 26.1%; None → —."""
    if value is None or value == "":
        return "—"
    try:
        return f"{100 * float(value):.{int(digits)}f}%"
    except (TypeError, ValueError):
        return "—"


@register.filter
def usd(value) -> str:
    """Money with two decimals and thousands separators: 1234.5 → $1,234.50; None → —."""
    if value is None or value == "":
        return "—"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "—"
    return f"-${-number:,.2f}" if number < 0 else f"${number:,.2f}"
