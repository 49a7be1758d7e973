"""Size limits and text hygiene for everything a user, a manifest, an API client or a provider can
name. One table, used by the forms, the manifest parser, the API schemas and the exporters, so a
name that one door refuses is refused by all of them.

Why it matters: a line break in a shot name adds events to an EDL, a NUL byte or a lone surrogate
makes PostgreSQL refuse a whole batch, and one 6,000-character word widened a page to 51,000 px."""

import json
import re
import unicodedata

# Characters. Names are single-line; prompts and notes may span lines.
PROJECT_NAME_MAX = 200
SHOT_NAME_MAX = 120
SHOT_DESCRIPTION_MAX = 4000
PROMPT_MAX = 8000
NEGATIVE_PROMPT_MAX = 4000
CHANGE_NOTE_MAX = 500
NOTE_TEXT_MAX = 4000
COMMENT_MAX = 4000
MODEL_NAME_MAX = 80
EXTERNAL_ID_MAX = 200
TAG_SLUG_MAX = 60
# Parameters are a JSON object: bounded when serialised and in nesting depth.
PARAMETERS_MAX_BYTES = 16 * 1024
PARAMETERS_MAX_DEPTH = 5

# C0 and C1 controls, DEL, and the Unicode line/paragraph separators (which some editors and
# EDL readers treat as line breaks). Tab, LF and CR are allowed in multi-line text only.
_SINGLE_LINE_BAD = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_MULTI_LINE_BAD = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def text_problem(value: str, *, max_length: int, single_line: bool = True) -> str | None:
    """Why `value` cannot be stored as a name (single_line) or a text, or None if it can."""
    if not isinstance(value, str):
        return "must be text"
    if _SURROGATE.search(value):
        return "contains an invalid Unicode character (a lone surrogate)"
    if "\x00" in value:
        return "contains a NUL byte"
    bad = (_SINGLE_LINE_BAD if single_line else _MULTI_LINE_BAD).search(value)
    if bad:
        what = "a line break" if bad.group() in "\r\n\u2028\u2029" else "a control character"
        return f"contains {what} (U+{ord(bad.group()):04X})"
    if len(value) > max_length:
        return f"is {len(value):,} characters long (at most {max_length:,})"
    return None


def parameters_problem(value) -> str | None:
    """Why a parameters object cannot be stored, or None if it can."""
    if not isinstance(value, dict):
        return "must be a JSON object"

    def depth(node, level: int) -> int:
        if level > PARAMETERS_MAX_DEPTH:
            return level
        children = node.values() if isinstance(node, dict) else node
        if isinstance(node, dict | list):
            return max((depth(child, level + 1) for child in children), default=level)
        return level

    if depth(value, 1) > PARAMETERS_MAX_DEPTH:
        return f"are nested deeper than {PARAMETERS_MAX_DEPTH} levels"
    try:
        size = len(json.dumps(value, ensure_ascii=False).encode("utf-8"))
    except (TypeError, ValueError, UnicodeEncodeError):
        return "are not valid JSON text (an invalid Unicode character?)"
    if size > PARAMETERS_MAX_BYTES:
        return f"take {size:,} bytes as JSON (at most {PARAMETERS_MAX_BYTES:,})"
    for key in _walk_strings(value):
        if _SURROGATE.search(key) or "\x00" in key:
            return "contain a NUL byte or an invalid Unicode character"
    return None


def _walk_strings(node):
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, child in node.items():
            yield str(key)
            yield from _walk_strings(child)
    elif isinstance(node, list):
        for child in node:
            yield from _walk_strings(child)


def single_line(value: str) -> str:
    """A name made safe for formats with line structure (EDL, CSV, XML attributes): every
    control character and line separator becomes a space, runs of spaces collapse. Exporters
    call it even though the doors refuse such names: rows written before the rule still exist."""
    value = _SURROGATE.sub("\ufffd", unicodedata.normalize("NFC", value or ""))
    return " ".join(_SINGLE_LINE_BAD.sub(" ", value).split())
