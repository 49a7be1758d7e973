"""The COPY writer's input: the manifest parsed in a process of its own, a chunk at a time, as
compact rows whose text is already in COPY's format.

Why a second process: parsing and validating is about half the Python time of an import, and it
needs nothing from the database. Forked beside the writer it runs on the other core while the
writer waits for PostgreSQL, so an import takes about as long as its writes. What crosses the
pipe is plain tuples (marshal, a memory copy): the writer adds the ids it draws and hands the
rest to COPY unchanged. A thread would not do: both halves are Python and would take turns.

A row (indexes below): the fields the writer resolves or looks up (project, shot, versions,
external_id, what pricing needs), the take's other columns as one COPY text fragment, and its
reviews, each with its own fragment, tags and notes. A version's prompt travels with the first
line of it in each chunk, which is the line the writer creates the version from.

Memory: the parser is at most one chunk ahead of the writer (the pipe's writes block), so both
processes hold a chunk or two whatever the file's size."""

import json
import logging
import marshal
import os
import signal
import traceback
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime

from ..services.verdicts import verdict_of
from .parse import LineInvalid, ParsedTake, parse_lines, wrong_project

logger = logging.getLogger(__name__)

# The take's columns each row carries as text, in this order after the writer's own.
TAKE_TEXT_COLUMNS = (
    "pass_number", "model", "parameters", "seed", "external_id", "media_url", "duration_s",
    "fps", "width", "height", "current_verdict", "created_at",
)  # fmt: skip
REVIEW_TEXT_COLUMNS = ("verdict", "kind", "comment", "created_at")
NOTE_TEXT_COLUMNS = ("seconds", "frame", "text")

# A row: a tuple, so that marshal carries it and the writer reads it by index.
LINE, PROJECT, SHOT, VERSION, PARENT, EXTERNAL_ID = range(6)
MODEL, DURATION, COST, CREATED = range(6, 10)  # what pricing needs (CREATED: ISO text)
TAKE_TEXT, CURRENT, REVIEWS, PROMPT = range(10, 14)
# CURRENT: the index in REVIEWS of the take's current verdict, or -1.
# PROMPT: (prompt, negative prompt, parameters as JSON) on the chunk's first line of a version.

# A review: (reviewer e-mail, COPY text, time as ISO text, tag slugs, notes); a note: (tag slug
# or "", COPY text).
R_REVIEWER, R_TEXT, R_AT, R_TAGS, R_NOTES = range(5)

NULL = "\\N"
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text(value: str) -> str:
    """A text value in COPY's text format: backslash, tab and line breaks escaped (the parser
    has refused NUL bytes and lone surrogates)."""
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_ESCAPES)
    return value


def copy_value(value) -> str:
    """Any column value the writer adds (ids, money, times, model defaults) as COPY text."""
    if value is None:
        return NULL
    if value is True or value is False:
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str):
        return copy_text(value)
    return str(value)


def _number(value) -> str:
    return NULL if value is None else repr(value)


def _json(value: dict) -> str:
    return copy_text(json.dumps(value)) if value else "{}"


def row_of(item: ParsedTake, prompt: bool) -> tuple:
    """One parsed line as a row; `prompt`: carry the version's prompt (its first line here)."""
    reviews = []
    for review in item.reviews:
        at = review.at.isoformat()
        reviews.append(
            (
                review.reviewer,
                f"{review.verdict}\t{review.kind}\t{copy_text(review.comment)}\t{at}",
                at,
                tuple(review.tags),
                tuple(
                    (note.tag, f"{note.seconds!r}\t{note.frame}\t{copy_text(note.text)}")
                    for note in review.notes
                ),
            )
        )
    current = item.current
    created = item.created_at.isoformat()
    take_text = "\t".join(
        (
            str(item.pass_number),
            copy_text(item.model),
            _json(item.parameters),
            _number(item.seed),
            copy_text(item.external_id),
            copy_text(item.media_url),
            repr(item.duration_s),
            _number(item.fps),
            _number(item.width),
            _number(item.height),
            verdict_of(current.verdict if current else None),
            created,
        )
    )
    return (
        item.line,
        item.project,
        item.shot,
        item.version,
        item.parent_version,
        item.external_id,
        item.model,
        item.duration_s,
        item.cost_usd,
        created,
        take_text,
        item.reviews.index(current) if current else -1,
        tuple(reviews),
        (item.prompt, item.negative_prompt, _json_plain(item.parameters)) if prompt else None,
    )


def _json_plain(value: dict) -> str:
    return json.dumps(value) if value else "{}"


# A chunk: (lines read so far, rows, [(line, reason)], finished).


def chunks_of(source: Iterable, *, only_project: str | None, size: int) -> Iterator[tuple]:
    """Parse `source` into chunks of at most `size` rows, in this process."""
    rows: list[tuple] = []
    errors: list[tuple[int, str]] = []
    versions: set[tuple[str, str, int]] = set()  # versions with a prompt in this chunk
    number = 0
    for number, item in parse_lines(source):
        if isinstance(item, LineInvalid):
            errors.append((number, str(item)))
            continue
        if only_project is not None and item.project != only_project:
            errors.append((number, wrong_project(item.project, only_project)))
            continue
        key = (item.project, item.shot, item.version)
        first = key not in versions
        if first:
            versions.add(key)
        rows.append(row_of(item, prompt=first))
        if len(rows) >= size:
            yield number, rows, errors, False
            rows, errors, versions = [], [], set()
    yield number, rows, errors, True


class ParserFailed(RuntimeError):
    """The parsing process failed (a bug, or the source could not be read): nothing is kept."""


_HEADER = 8


@contextmanager
def parsed_chunks(source: Iterable, *, only_project: str | None, size: int, fork: bool = True):
    """The chunks of `chunks_of`, parsed in a forked process when the platform can fork."""
    if not fork or not hasattr(os, "fork"):
        yield chunks_of(source, only_project=only_project, size=size)
        return
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the parser: never returns
        os.close(read_end)
        _parser(source, write_end, only_project=only_project, size=size)
    os.close(write_end)
    reader = os.fdopen(read_end, "rb", buffering=1 << 20)
    try:
        yield _received(reader)
    finally:
        reader.close()  # a parser still writing gets a broken pipe and exits
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def _parser(source, fd: int, *, only_project, size: int) -> None:
    """The forked process's whole life: parse, send, exit without running the parent's exit
    handlers (its database connection, its temporary files belong to the parent)."""
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        with os.fdopen(fd, "wb", buffering=1 << 20) as out:
            try:
                for chunk in chunks_of(source, only_project=only_project, size=size):
                    _send(out, ("chunk", chunk))
            except Exception as exc:
                _send(out, ("failed", (f"{type(exc).__name__}: {exc}", traceback.format_exc())))
                code = 1
    except BaseException:  # the writer went away (broken pipe): nothing to tell anyone
        code = 1
    finally:
        os._exit(code)


def _send(out, message) -> None:
    payload = marshal.dumps(message)
    out.write(len(payload).to_bytes(_HEADER, "little"))
    out.write(payload)
    out.flush()


def _received(reader) -> Iterator[tuple]:
    while True:
        header = reader.read(_HEADER)
        if len(header) < _HEADER:
            raise ParserFailed("the manifest parser stopped without finishing")
        size = int.from_bytes(header, "little")
        payload = reader.read(size)
        if len(payload) < size:
            raise ParserFailed("the manifest parser stopped in the middle of a chunk")
        kind, body = marshal.loads(payload)
        if kind == "failed":
            reason, trace = body
            logger.error("The manifest parser failed:\n%s", trace)
            raise ParserFailed(f"the manifest could not be read: {reason}")
        yield body
        if body[3]:
            return
