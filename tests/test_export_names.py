"""Exports cannot be forged or broken by names (issue 11 item 11). Rows written before the door
rules (or straight into the database) can hold quotes, line breaks, control characters, `<>&`
and non-ASCII: every format still exports, reads back with OpenTimelineIO with one clip per
select, and carries each name on one line."""

import io
import json
import zipfile

import opentimelineio as otio
import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from generations.limits import single_line
from generations.services.reviews import note_add, review_record

from .factories import PromptVersionFactory, ShotFactory, TakeFactory

# A line break followed by what an EDL event line looks like: if it reached the file unflattened
# it would add an event.
FORGED = "\n002  AX       V     C        00:00:00:00 00:00:01:00 00:00:00:00 00:00:01:00\n"
HOSTILE = [
    "Maria's kitchen",
    'the "good" <take> & more',
    "Café crème – 東京 ✓" + FORGED + "TITLE: forged",
    "bell\x07tab\there\u2028sep\x85end",
]
ADAPTERS = {"otio": "otio_json", "edl": "cmx_3600", "xml": "fcp_xml", "fcpxml": "fcpx_xml"}


@pytest.fixture
def hostile(project, members):
    project.name = "O'Neil & <Sons>\nTITLE: forged"
    project.save(update_fields=["name"])
    takes = []
    for i, name in enumerate(HOSTILE):
        shot = ShotFactory(project=project, name=f"{chr(97 + i)} {name}")
        version = PromptVersionFactory(shot=shot, number=1, text=f"prompt {name}")
        take = TakeFactory(prompt_version=version, model=f"model-{i}", external_id=f"gen-{i}'\n")
        take.media.save("t.mp4", ContentFile(b"\x00" * 16), save=True)
        review_record(take=take, reviewer=members["lead"], verdict="accept")
        note_add(take=take, author=members["lead"], seconds=1, text=f"note {name}")
        takes.append(take)
    return takes


def _export(client, project, fmt):
    response = client.get(reverse("selects_export", args=[project.slug]) + f"?format={fmt}")
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


@pytest.mark.parametrize("fmt", list(ADAPTERS))
def test_every_format_reads_back_with_one_clip_per_select(client, members, project, hostile, fmt):
    client.force_login(members["editor"])
    text = _export(client, project, fmt)
    kwargs = {"rate": 24} if fmt == "edl" else {}
    timeline = otio.adapters.read_from_string(text, ADAPTERS[fmt], **kwargs)
    clips = list(timeline.find_clips())
    shots = sorted(single_line(t.shot.name) for t in hostile)
    assert len(clips) == len(hostile)
    names = [clip.name for clip in clips]
    if fmt == "edl":
        # CMX3600 keeps the name in a `* FROM CLIP NAME:` comment line: one line each.
        assert text.count("FROM CLIP NAME:") == len(hostile)
        assert [n.rsplit(" v1 ", 1)[0] for n in names] == shots
    else:
        assert [n.rsplit(" v1 ", 1)[0] for n in names] == shots
    for name in names:
        assert "\n" not in name and "\x07" not in name and "\u2028" not in name
    assert "Maria's kitchen" in " ".join(names)
    assert 'the "good" <take> & more' in " ".join(names)
    assert "東京" in " ".join(names)
    # Markers survived, one per note; the EDL upper-cases its locators, and the FCP7 reader
    # does not read <comment> back (the file has it).
    markers = [m for clip in clips for m in clip.markers]
    assert len(markers) == len(hostile)
    marker_text = " ".join(m.name + " " + m.comment for m in markers).casefold()
    if fmt == "xml":
        assert text.count("<comment>note ") == len(hostile)
        assert '<comment>note the "good" &lt;take&gt; &amp; more</comment>' in text
    else:
        assert "note maria's kitchen" in marker_text
        assert "東京" in marker_text


def test_edl_has_exactly_one_event_per_select(client, members, project, hostile):
    client.force_login(members["editor"])
    text = _export(client, project, "edl")
    events = [line for line in text.splitlines() if line[:3].isdigit()]
    assert len(events) == len(hostile)
    assert [line.split()[0] for line in events] == [f"{n:03d}" for n in range(1, 5)]
    titles = [line for line in text.splitlines() if line.startswith("TITLE:")]
    assert titles == [f"TITLE: {single_line(project.name)} selects"]


def test_fcpxml_keeps_the_apostrophe(client, members, project, hostile):
    client.force_login(members["editor"])
    text = _export(client, project, "fcpxml")
    assert "Maria&apos;s kitchen" in text or "Maria's kitchen" in text
    assert "dailies-clip-" not in text


def test_manifest_and_media_zip_names_are_one_line(client, members, project, hostile):
    client.force_login(members["editor"])
    response = client.get(reverse("manifest_export", args=[project.slug]))
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert len(lines) == len(hostile)
    rows = [json.loads(line) for line in lines]
    for row in rows:
        for key in ("shot", "model", "external_id"):
            assert row[key] == single_line(row[key])
    assert sorted(r["shot"] for r in rows) == sorted(single_line(t.shot.name) for t in hostile)

    response = client.get(reverse("selects_media", args=[project.slug]))
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as archive:
        names = archive.namelist()
    assert len(names) == len(hostile)
    for name in names:
        assert name.isascii() and "/" not in name and "'" not in name and "\n" not in name
