"""Drawings on a frame: the strokes and arrows a reviewer draws on the picture with a note.

Stored on the Note as a small JSON list, in coordinates normalised to the picture (0–1 of its
width and height, origin top-left), so a drawing lands on the same spot of the frame at any
player size:

    [{"kind": "line", "points": [[0.12, 0.40], [0.13, 0.42], ...]},
     {"kind": "arrow", "points": [[0.70, 0.20], [0.55, 0.35]]}]     # from tail to head

Bounded so a note stays small (a few hundred points at most); the form and the service both
check it with drawing_clean()."""

import json
import math

MAX_STROKES = 20
MAX_POINTS = 200  # per stroke
MAX_JSON_CHARS = 40_000
KINDS = ("line", "arrow")
DECIMALS = 4  # 1/10000 of the picture: finer than a pixel of a 4K frame


class DrawingError(ValueError):
    """A drawing that is not one we store, with a reason for the user."""


def _coordinate(value) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DrawingError("Drawing points must be numbers.")
    if not math.isfinite(value) or not 0 <= value <= 1:
        raise DrawingError("Drawing points must lie on the picture (0 to 1).")
    return round(float(value), DECIMALS)


def drawing_clean(value) -> list[dict]:
    """The drawing as stored, from its JSON text or parsed value; empty means none."""
    if value is None or value == "" or value == []:
        return []
    if isinstance(value, str):
        if len(value) > MAX_JSON_CHARS:
            raise DrawingError("The drawing is too large: draw fewer or shorter strokes.")
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise DrawingError("The drawing could not be read.") from None
    if not isinstance(value, list):
        raise DrawingError("A drawing is a list of strokes.")
    if len(value) > MAX_STROKES:
        raise DrawingError(f"At most {MAX_STROKES} strokes per note.")
    strokes = []
    for stroke in value:
        if not isinstance(stroke, dict) or stroke.get("kind") not in KINDS:
            raise DrawingError("Each stroke is a line or an arrow.")
        points = stroke.get("points")
        if not isinstance(points, list) or not 2 <= len(points) <= MAX_POINTS:
            raise DrawingError(f"A stroke has 2 to {MAX_POINTS} points.")
        if stroke["kind"] == "arrow" and len(points) != 2:
            raise DrawingError("An arrow has a tail and a head: 2 points.")
        clean = []
        for point in points:
            if not isinstance(point, list | tuple) or len(point) != 2:
                raise DrawingError("A point is a pair [x, y].")
            clean.append([_coordinate(point[0]), _coordinate(point[1])])
        strokes.append({"kind": stroke["kind"], "points": clean})
    return strokes
