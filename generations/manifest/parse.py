"""One manifest line → a validated record, or a LineInvalid with the reason (SPEC §3).

Pure Python, no database access: every decoding and validation rule lives here, so whatever
passes is something PostgreSQL and SQLite both store without complaint (the writers never see a
value a column would refuse). What a line can do wrong, and what happens:

- bytes that are not UTF-8 (a Latin-1 file, one stray byte): that line is an error, the next
  line is read normally; a UTF-8 BOM before the first line is skipped, CRLF endings are fine;
- not JSON, deeply nested JSON (RecursionError), NaN/Infinity, a 5,000-digit integer;
- impossible or out-of-range dates (`2026-13-45`, year 1, later than now), numbers larger than
  their column, frames past a 32-bit integer;
- NUL bytes, lone surrogates ("\\ud800"), control characters or line breaks in a name, texts
  longer than `generations.limits` allows, parameters too large or too deep."""

import json
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import orjson
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.utils.text import slugify

from .. import limits

# A line longer than this is refused without being held in memory whole.
MAX_LINE_BYTES = 1_000_000
MAX_REVIEWS = 200  # per line
MAX_NOTES = 200  # per review
# Largest values the columns hold: a bigger number is a bad line, never a failed write.
MAX_INT = 2**31 - 1
MAX_BIGINT = 2**63 - 1
MAX_DECIMAL = {
    "duration_s": 999999.999,
    "fps": 99999.999,
    "cost_usd": 99999999.9999,
    "t": 999999.999,
}
# Clock skew allowed for dates from a provider; later than that is a mistake in the file (a
# future date would outrank every later verdict as "the latest review").
FUTURE_SLACK = timedelta(hours=1)
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
EMAIL_MAX = 150  # the user model's username column
REVIEW_KINDS = ("verdict", "undo", "bulk")  # generations.models.ReviewKind, without the ORM
VERDICTS = ("accept", "reject")

BOM = b"\xef\xbb\xbf"
_RESOLUTION = re.compile(r"^(\d{1,5})x(\d{1,5})$")
_url = URLValidator(schemes=["http", "https"])


class LineInvalid(ValueError):
    pass


@dataclass(slots=True)
class ParsedNote:
    seconds: float
    frame: int
    text: str
    tag: str  # a slug, or ""


@dataclass(slots=True)
class ParsedReview:
    reviewer: str  # lower-case e-mail
    verdict: str
    kind: str
    comment: str
    at: datetime  # the time it was given, or the take's creation + its index in microseconds
    tags: list[str]
    notes: list[ParsedNote]


@dataclass(slots=True)
class ParsedTake:
    line: int
    project: str
    shot: str
    version: int
    parent_version: int | None
    prompt: str
    negative_prompt: str
    parameters: dict
    pass_number: int
    model: str
    external_id: str
    duration_s: float
    width: int | None
    height: int | None
    fps: float | None
    seed: int | None
    cost_usd: float | None
    created_at: datetime
    media_url: str
    reviews: list[ParsedReview] = field(default_factory=list)

    @property
    def current(self) -> ParsedReview | None:
        """The review that becomes the take's current verdict: the latest, later in the file on
        a tie (the writers give reviews ids in file order, and order by time, then id)."""
        if not self.reviews:
            return None
        return max(enumerate(self.reviews), key=lambda ir: (ir[1].at, ir[0]))[1]


# --- decoding ----------------------------------------------------------------------------------


def read_lines(source) -> Iterator[tuple[int, str | LineInvalid]]:
    """(line number, text or the reason it cannot be text) for every line of `source`: a binary
    file (anything with `readline`), an iterable of bytes, or an iterable of str. Blank lines are
    skipped but counted."""
    if hasattr(source, "readline") and not hasattr(source, "encoding"):
        raw: Iterable = _binary_lines(source)
    else:
        raw = source
    number = 0
    for chunk in raw:
        number += 1
        if isinstance(chunk, LineInvalid):
            yield number, chunk
            continue
        if isinstance(chunk, bytes | bytearray):
            if number == 1 and chunk.startswith(BOM):
                chunk = chunk[3:]
            try:
                text = chunk.decode("utf-8")
            except UnicodeDecodeError as exc:
                bad = chunk[exc.start]
                yield (
                    number,
                    LineInvalid(
                        f"not UTF-8 text (byte 0x{bad:02X} at byte {exc.start + 1}; "
                        "save the file as UTF-8)"
                    ),
                )
                continue
        else:
            text = chunk
            if number == 1 and text.startswith("\ufeff"):
                text = text[1:]
        text = text.rstrip("\r\n")
        if text and not text.isspace():
            yield number, text


def _binary_lines(stream) -> Iterator[bytes | LineInvalid]:
    """Lines of a binary stream, each at most MAX_LINE_BYTES: a longer one is skipped in
    chunks (never held whole) and reported."""
    while True:
        line = stream.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):
                line = stream.readline(MAX_LINE_BYTES)
            yield LineInvalid(f"line longer than {MAX_LINE_BYTES:,} bytes")
            continue
        yield line


# --- one line ----------------------------------------------------------------------------------


def _no_constant(name: str):
    raise LineInvalid(f"{name} is not a number JSON allows")


# Deeper than this is refused before decoding: the C decoder would raise RecursionError near
# Python's recursion limit, and no field of a manifest nests more than a few levels.
MAX_NESTING = 64
_STRING_OR_BRACKET = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _too_deep(raw: str) -> bool:
    """Nesting depth over MAX_NESTING, brackets inside strings ignored. Only lines with that
    many brackets at all are scanned (one C-speed count for the others)."""
    if raw.count("[") + raw.count("{") <= MAX_NESTING:
        return False
    depth = 0
    for token in _STRING_OR_BRACKET.finditer(raw):
        bracket = token.group()
        if bracket in "[{":
            depth += 1
            if depth > MAX_NESTING:
                return True
        elif bracket in "]}":
            depth -= 1
    return False


# One decoder: json.loads with an option builds a new one per call (a fifth of the parse time).
_decode = json.JSONDecoder(parse_constant=_no_constant).decode
_SLOW = object()


def _decode_slow(raw: str):
    """The standard library's decoder, for what orjson refused: it accepts a little more (a lone
    surrogate, an integer past 64 bits, which the field rules then refuse by name) and says
    precisely what is wrong with the rest."""
    try:
        return _decode(raw)
    except json.JSONDecodeError as exc:
        raise LineInvalid(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise LineInvalid("not valid JSON (nested too deeply)") from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise LineInvalid(f"not valid JSON ({str(exc)[:100]})") from None


def parse_line(number: int, raw: str) -> ParsedTake:
    """Validate one line. Raises LineInvalid with a reason a person can act on."""
    if len(raw) > MAX_LINE_BYTES:
        raise LineInvalid(f"line longer than {MAX_LINE_BYTES:,} characters")
    if _too_deep(raw):
        raise LineInvalid(f"JSON nested too deeply (over {MAX_NESTING} levels)")
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        obj = _SLOW  # orjson refuses more (NaN, "\ud800", huge numbers): let json say why
    if obj is _SLOW:
        obj = _decode_slow(raw)
    if not isinstance(obj, dict):
        raise LineInvalid("a line must be a JSON object")
    project = _slug_text(_text(obj, "project", max_length=100))
    version = _int(obj, "prompt_version", minimum=1)
    parent = _int(obj, "parent_version", required=False, minimum=1)
    if parent is not None and parent >= version:
        raise LineInvalid("'parent_version' must be an earlier version than 'prompt_version'")
    width = height = None
    resolution = obj.get("resolution")
    if resolution is not None:
        match = _RESOLUTION.match(resolution) if isinstance(resolution, str) else None
        if not match:
            raise LineInvalid(f"'resolution' must look like 1280x720, not {_show(resolution)}")
        width, height = int(match.group(1)), int(match.group(2))
    media_url = _text(obj, "media_url", required=False, max_length=1000)
    if media_url:
        _check_url(media_url)
    parameters = obj.get("parameters")
    if parameters is None:
        parameters = {}
    elif parameters:
        problem = limits.parameters_problem(parameters)
        if problem:
            raise LineInvalid(f"'parameters' {problem}")
    fps = _decimal(obj, "fps", required=False, positive=True)
    created_at = _datetime(_require(obj, "created_at"), "created_at")
    return ParsedTake(
        line=number,
        project=project,
        shot=_text(obj, "shot", max_length=limits.SHOT_NAME_MAX),
        version=version,
        parent_version=parent,
        prompt=_text(obj, "prompt", max_length=limits.PROMPT_MAX, single_line=False),
        negative_prompt=_text(
            obj,
            "negative_prompt",
            required=False,
            max_length=limits.NEGATIVE_PROMPT_MAX,
            single_line=False,
        ),
        parameters=parameters,
        pass_number=_int(obj, "pass", required=False, minimum=1) or version,
        model=_text(obj, "model", max_length=limits.MODEL_NAME_MAX).lower(),
        external_id=_text(obj, "external_id", max_length=limits.EXTERNAL_ID_MAX),
        duration_s=_decimal(obj, "duration_s", positive=True),
        width=width,
        height=height,
        fps=fps,
        seed=_int(obj, "seed", required=False, maximum=MAX_BIGINT),
        cost_usd=_decimal(obj, "cost_usd", required=False),
        created_at=created_at,
        media_url=media_url,
        reviews=_reviews(obj.get("reviews"), created_at, fps),
    )


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _require(obj: dict, key: str):
    value = obj.get(key)
    if value is None:
        raise LineInvalid(f"missing required field {key!r}")
    return value


def _text(
    obj: dict, key: str, *, required: bool = True, max_length: int, single_line: bool = True
) -> str:
    value = obj.get(key)
    if value.__class__ is str:
        value = value.strip()
        # Fast path: printable text (no controls, separators or surrogates) within the limit.
        if value and len(value) <= max_length and value.isprintable():
            return value
    if value is None:
        if required:
            raise LineInvalid(f"missing required field {key!r}")
        return ""
    if not isinstance(value, str):
        raise LineInvalid(f"{key!r} must be a string")
    if not value:
        if required:
            raise LineInvalid(f"{key!r} is empty")
        return ""
    # The shared rule, which also allows line breaks and tabs in multi-line texts.
    problem = limits.text_problem(value, max_length=max_length, single_line=single_line)
    if problem:
        raise LineInvalid(f"{key!r} {problem}")
    return value


@lru_cache(maxsize=4096)
def _slug_text(project: str) -> str:
    if slugify(project) != project:
        raise LineInvalid(f"'project' must be a slug (lowercase, digits, hyphens): {project!r}")
    return project


def _int(
    obj: dict, key: str, *, required: bool = True, minimum: int | None = None, maximum=MAX_INT
) -> int | None:
    value = obj.get(key)
    if value.__class__ is int and (minimum or 1) <= value <= maximum:
        return value  # the common case, checked in one comparison
    if value is None:
        if required:
            raise LineInvalid(f"missing required field {key!r}")
        return None
    if value.__class__ is float and value.is_integer() and abs(value) >= 2**63:
        # orjson reads an integer past 64 bits as a float: it is an integer, too large.
        raise LineInvalid(f"{key!r} is out of range ({_show(value)})")
    if isinstance(value, bool) or not isinstance(value, int):
        raise LineInvalid(f"{key!r} must be an integer")
    if minimum is not None and value < minimum:
        raise LineInvalid(f"{key!r} must be at least {minimum}")
    if value > maximum or (minimum is None and value < -maximum):
        raise LineInvalid(f"{key!r} is out of range ({_show(value)})")
    return value


def _decimal(obj: dict, key: str, *, required: bool = True, positive: bool = False):
    """A non-negative number that fits its decimal column, as the float or int JSON gave (the
    database rounds it to the column's scale; Decimal conversion is left to who needs it)."""
    value = _require(obj, key) if required else obj.get(key)
    if value is None:
        return None
    if value.__class__ is not float and (isinstance(value, bool) or not isinstance(value, int)):
        raise LineInvalid(f"{key!r} must be a number")
    if value < 0 or (positive and value == 0):
        raise LineInvalid(f"{key!r} must be {'positive' if positive else 'zero or more'}")
    if value > MAX_DECIMAL[key]:
        raise LineInvalid(f"{key!r} is out of range ({_show(value)})")
    return value


_clock = [0.0, EARLIEST]


def _latest() -> datetime:
    """The latest date a line may carry, read from the clock at most once a second (a million
    lines would otherwise ask it two million times)."""
    now = time.monotonic()
    if now - _clock[0] >= 1.0:
        _clock[0], _clock[1] = now, datetime.now(UTC) + FUTURE_SLACK
    return _clock[1]


def _datetime(value, key: str) -> datetime:
    if not isinstance(value, str) or len(value) > 40:
        raise LineInvalid(f"{key!r} must be an ISO 8601 date-time")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        # Covers impossible dates (2026-13-45) as well as text that is no date at all.
        raise LineInvalid(f"{key!r} is not a valid ISO 8601 date-time: {_show(value)}") from None
    if parsed.tzinfo is None:
        raise LineInvalid(f"{key!r} needs a time zone (e.g. a trailing Z): {_show(value)}")
    try:
        if parsed < EARLIEST:
            raise LineInvalid(f"{key!r} is before 1970: {_show(value)}")
        if parsed > _latest():
            raise LineInvalid(f"{key!r} is in the future: {_show(value)}")
        return parsed if parsed.tzinfo is UTC else parsed.astimezone(UTC)
    except OverflowError:
        raise LineInvalid(f"{key!r} is out of range: {_show(value)}") from None


@lru_cache(maxsize=4096)
def _email(value: str) -> str:
    reviewer = value.strip().lower()
    problem = limits.text_problem(reviewer, max_length=EMAIL_MAX)
    if problem:
        raise LineInvalid(f"reviewer {problem}")
    try:
        validate_email(reviewer)
    except ValidationError:
        raise LineInvalid(f"reviewer {_show(reviewer)} is not an e-mail") from None
    return reviewer


@lru_cache(maxsize=4096)
def _tag(value: str) -> str:
    problem = limits.text_problem(value, max_length=200)
    slug = slugify(value) if not problem else ""
    if not slug:
        raise LineInvalid(f"{_show(value)} is not a usable tag slug")
    if len(slug) > limits.TAG_SLUG_MAX:
        raise LineInvalid(f"tag {slug[:20]!r}… is longer than {limits.TAG_SLUG_MAX} characters")
    return slug


@lru_cache(maxsize=1024)
def _check_url(url: str) -> None:
    try:
        _url(url)
    except ValidationError:
        raise LineInvalid(f"'media_url' is not an http(s) URL: {_show(url)}") from None


def _frame(seconds: float, fps: float | None) -> int:
    # Round, not floor: 1.0 s at 23.976 fps is frame 24 (services.reviews.frame_at).
    return max(0, int(round(seconds * (fps or 24))))


def _reviews(raw, created_at: datetime, fps: float | None) -> list[ParsedReview]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise LineInvalid("'reviews' must be a list")
    if len(raw) > MAX_REVIEWS:
        raise LineInvalid(f"more than {MAX_REVIEWS} reviews on one take")
    out: list[ParsedReview] = []
    seen: set[tuple[str, datetime]] = set()
    for i, item in enumerate(raw, start=1):
        if not isinstance(item, dict):
            raise LineInvalid(f"review {i} must be an object")
        reviewer = item.get("reviewer")
        if not isinstance(reviewer, str) or not reviewer.strip():
            raise LineInvalid(f"review {i}: 'reviewer' must be an e-mail")
        try:
            reviewer = _email(reviewer)
        except LineInvalid as exc:
            raise LineInvalid(f"review {i}: {exc}") from None
        verdict = item.get("verdict")
        if verdict not in VERDICTS:
            raise LineInvalid(
                f"review {i}: verdict must be 'accept' or 'reject', not {_show(verdict)}"
            )
        kind = item.get("kind", "verdict")
        if kind not in REVIEW_KINDS:
            allowed = ", ".join(repr(k) for k in REVIEW_KINDS)
            raise LineInvalid(f"review {i}: kind must be one of {allowed}, not {_show(kind)}")
        tags = item.get("failure_tags") or []
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise LineInvalid(f"review {i}: 'failure_tags' must be a list of slugs")
        slugs: list[str] = []
        for tag in tags:
            try:
                slug = _tag(tag)
            except LineInvalid as exc:
                raise LineInvalid(f"review {i}: {exc}") from None
            if slug not in slugs:
                slugs.append(slug)
        notes_raw = item.get("notes") or []
        if not isinstance(notes_raw, list):
            raise LineInvalid(f"review {i}: 'notes' must be a list")
        if len(notes_raw) > MAX_NOTES:
            raise LineInvalid(f"review {i}: more than {MAX_NOTES} notes")
        notes = []
        for j, note in enumerate(notes_raw, start=1):
            if not isinstance(note, dict):
                raise LineInvalid(f"review {i} note {j} must be an object")
            try:
                seconds = round(_decimal(note, "t"), 3)
                text = _text(note, "text", max_length=limits.NOTE_TEXT_MAX, single_line=False)
                tag = note.get("tag") or ""
                if not isinstance(tag, str):
                    raise LineInvalid("'tag' must be a slug")
                frame = _frame(seconds, fps)
                if frame > MAX_INT:
                    raise LineInvalid(f"'t' is out of range at {fps or 24} fps")
                notes.append(ParsedNote(seconds, frame, text, _tag(tag) if tag else ""))
            except LineInvalid as exc:
                raise LineInvalid(f"review {i} note {j}: {exc}") from None
        at_raw = item.get("reviewed_at")
        try:
            # A review without a time sorts after the take's creation, in file order.
            at = (
                _datetime(at_raw, "reviewed_at")
                if at_raw is not None
                else created_at.replace(microsecond=i - 1)
            )
            comment = _text(
                item, "comment", required=False, max_length=limits.COMMENT_MAX, single_line=False
            )
        except LineInvalid as exc:
            raise LineInvalid(f"review {i}: {exc}") from None
        if (reviewer, at) in seen:
            continue  # the same review twice in one line: stored once, as on a re-import
        seen.add((reviewer, at))
        out.append(
            ParsedReview(
                reviewer=reviewer,
                verdict=verdict,
                kind=kind,
                comment=comment,
                at=at,
                # An accepted take has no failure tags (services.reviews.review_record).
                tags=[] if verdict == "accept" else slugs,
                notes=notes,
            )
        )
    return out


def wrong_project(project: str, only_project: str) -> str:
    """The reason for a line of another project in an import limited to one."""
    return f"belongs to project {project!r}; this import writes only to {only_project!r}"


def parse_lines(source) -> Iterator[tuple[int, ParsedTake | LineInvalid]]:
    """Every non-blank line of `source` (see read_lines), parsed or with its reason."""
    for number, text in read_lines(source):
        if isinstance(text, LineInvalid):
            yield number, text
            continue
        try:
            yield number, parse_line(number, text)
        except LineInvalid as exc:
            yield number, exc
