"""The COPY writer's input (generations/manifest/feed.py): rows parsed in a forked process,
their text already in COPY's format. Every column must come out as the ORM path writes it,
whatever the text holds; a parser that fails or a writer that fails leaves nothing behind."""

import io
import json
import os
import signal

import pytest
from django.forms.models import model_to_dict

from generations.manifest import copy_writer, feed
from generations.manifest.feed import ParserFailed, chunks_of, parsed_chunks
from generations.models import Note, PromptVersion, Review, Take
from generations.services.manifest import manifest_import

# Everything COPY's text format escapes or could misread, in every text a line carries.
AWKWARD = 'back\\slash, tab\tand "quotes"\nnew line\r\nCRLF, \\N, \\t literal, ünïcødé 🎬'


def line(i: int, **overrides) -> str:
    row = {
        "project": "spot",
        "shot": f"shot \\{i % 2} ✓",
        "prompt_version": 1 + i % 3,
        "parent_version": i % 3 or None,
        "prompt": f"{AWKWARD} {i % 3}",
        "negative_prompt": AWKWARD if i % 2 else "",
        "parameters": {"style": AWKWARD, "steps": i, "nested": {"k": [1, 2.5, None, True]}}
        if i % 4
        else {},
        "pass": 1 + i % 2,
        "model": "Sora-2" if i % 2 else "veo-3",
        "external_id": f"gen\\{i}\"x'",
        "duration_s": [4, 4.5, 0.001, 999999.999][i % 4],
        "resolution": "1920x1080" if i % 2 else None,
        "fps": [24, 23.976, None, 60][i % 4],
        "seed": [None, 0, 2**63 - 1, 42][i % 4],
        "cost_usd": [None, 0, 1.2345, 99999999.9999][i % 4],
        "media_url": f"https://cdn.example.test/take-{i}.mp4?a=1&b=%5C&c=ü" if i % 3 else None,
        "created_at": f"2026-10-{1 + i % 9:02d}T0{i % 9}:30:00+02:00",
        "reviews": [
            {
                "reviewer": f"Reviewer{i % 3}@Studio.test",
                "verdict": "reject" if i % 2 else "accept",
                "kind": "verdict",
                "comment": AWKWARD if i % 2 else "",
                "failure_tags": ["blur", "Warping Bad"] if i % 2 else [],
                "notes": [
                    {"t": 1.25, "text": AWKWARD, "tag": "blur" if i % 2 else None},
                    {"t": 0, "text": "start"},
                ],
                "reviewed_at": f"2026-10-12T10:3{i % 10}:00Z",
            },
            {"reviewer": "second@studio.test", "verdict": "accept"},
        ][: 1 + i % 2],
    }
    row.update(overrides)
    return json.dumps(row, ensure_ascii=i % 2 == 0)


def everything() -> dict:
    """Every column of every row the import wrote, by external id, without ids and clocks."""

    def plain(obj, *drop):
        values = model_to_dict(obj)
        for key in ("id", "added_at", "created_at", *drop):
            values.pop(key, None)
        return values

    out = {}
    for take in Take.objects.select_related("prompt_version__shot", "prompt_version__parent"):
        version, current = take.prompt_version, take.current_review
        reviews = sorted(
            (
                (r.created_at, r.reviewer.email),
                plain(r, "take", "reviewer", "failure_tags"),
                sorted(t.slug for t in r.failure_tags.all()),
            )
            for r in Review.objects.filter(take=take)
        )
        notes = sorted(
            (n.seconds, n.frame, n.text, n.tag.slug if n.tag else None, n.author.email)
            for n in Note.objects.filter(take=take)
        )
        take_values = plain(
            take, "project", "shot", "prompt_version", "current_review", "media", "poster"
        )
        take_values["created_at"] = take.created_at
        out[take.external_id] = (
            take_values,
            (version.shot.name, version.number, version.parent and version.parent.number),
            plain(version, "shot", "parent"),
            current and (current.reviewer.email, current.verdict),
            reviews,
            notes,
        )
    return out


@pytest.mark.django_db
def test_every_column_survives_copy_text_as_the_orm_writes_it(monkeypatch):
    """Backslashes, tabs, line breaks, quotes, `\\N` and non-ASCII in every text, JSON
    parameters, extreme numbers, time zones: the COPY path stores what the ORM path stores.
    In chunks of 3 lines, so versions and their prompts span chunks."""
    monkeypatch.setattr(copy_writer, "CHUNK", 3)
    lines = [line(i) for i in range(12)]
    orm = manifest_import(lines=lines, writer="orm")
    assert orm.ok and orm.takes_created == 12, orm.errors
    via_orm = everything()
    Take.objects.all().delete()
    PromptVersion.objects.all().delete()
    fast = manifest_import(lines=lines, writer="copy")
    assert fast.ok and (fast.takes_created, fast.reviews_created, fast.notes_created) == (
        orm.takes_created,
        orm.reviews_created,
        orm.notes_created,
    )
    via_copy = everything()
    assert via_copy == via_orm
    # And what they agree on is what the file says, not a shared mistake.
    take = Take.objects.get(external_id="gen\\1\"x'")
    assert take.prompt_version.text == f"{AWKWARD} 1" and take.seed == 0
    assert take.parameters["style"] == AWKWARD and take.media_url.endswith("b=%5C&c=ü")
    review = take.reviews.get(reviewer__email="reviewer1@studio.test")
    assert review.comment == AWKWARD.strip()
    assert sorted(n.text for n in take.notes.all()) == sorted([AWKWARD.strip(), "start"])


def test_copy_text_escapes_what_copy_would_read_as_syntax():
    assert feed.copy_text("a\\b\tc\nd\re") == "a\\\\b\\tc\\nd\\re"
    assert feed.copy_text("\\N") == "\\\\N"  # text, not NULL
    assert feed.copy_text("plain ünïcødé") == "plain ünïcødé"
    assert [feed.copy_value(v) for v in (None, True, False, 3, "x\ty")] == [
        "\\N",
        "t",
        "f",
        "3",
        "x\\ty",
    ]


def test_the_forked_parser_sends_exactly_what_parsing_here_gives():
    raw = "\n".join([line(i) for i in range(7)] + ["not json", line(8, project="other")])
    here = list(chunks_of(io.StringIO(raw), only_project="spot", size=3))
    with parsed_chunks(io.BytesIO(raw.encode()), only_project="spot", size=3) as chunks:
        there = list(chunks)
    assert there == here
    assert [(c[0], len(c[1]), len(c[2]), c[3]) for c in there] == [
        (3, 3, 0, False),
        (6, 3, 0, False),
        (9, 1, 2, True),
    ]
    # A version's prompt travels once per chunk: on the first of its lines there.
    prompts = [[row[feed.PROMPT] is not None for row in c[1]] for c in there]
    assert prompts == [[True, True, True], [True, True, True], [True]]


def children() -> set[int]:
    """This process's child processes, read from /proc."""
    me, found = os.getpid(), set()
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == me:
                found.add(int(name))
    return found


def failing_source(good: int):
    for i in range(good):
        yield line(i)
    raise OSError("the disk went away")


@pytest.mark.django_db
def test_a_parser_that_fails_aborts_the_import_keeps_nothing_and_leaves_no_process():
    before = children()
    with pytest.raises(ParserFailed, match="could not be read: OSError: the disk went away"):
        manifest_import(lines=failing_source(5), writer="copy")
    assert Take.objects.count() == 0
    assert children() == before


@pytest.mark.django_db
def test_a_parser_killed_midway_aborts_the_import_and_keeps_nothing(monkeypatch):
    """The parser dies (say, killed for memory) after sending its first chunk: the writer has
    written that chunk, then finds the pipe closed, and the whole import is undone."""
    real = feed.chunks_of

    def dies_after_one(source, **kwargs):
        for chunk in real(source, **kwargs):
            yield chunk
            os.kill(os.getpid(), signal.SIGKILL)  # runs in the forked parser only

    monkeypatch.setattr(feed, "chunks_of", dies_after_one)
    monkeypatch.setattr(copy_writer, "CHUNK", 2)
    before = children()
    with pytest.raises(ParserFailed, match="stopped without finishing"):
        manifest_import(lines=[line(i) for i in range(6)], writer="copy")
    assert Take.objects.count() == 0
    assert children() == before


@pytest.mark.django_db
def test_a_writer_that_fails_stops_its_parser(monkeypatch):
    """The writer fails on its first chunk with most of the file unread: the parser, blocked
    on a full pipe, is stopped and reaped, and nothing is kept."""
    monkeypatch.setattr(copy_writer, "CHUNK", 2)

    def refuse(self, chunk):
        raise RuntimeError("refused")

    monkeypatch.setattr(copy_writer.CopyWriter, "_chunk", refuse)
    before = children()
    with pytest.raises(RuntimeError, match="refused"):
        manifest_import(lines=[line(i) for i in range(3000)], writer="copy")
    assert children() == before
    assert Take.objects.count() == 0
