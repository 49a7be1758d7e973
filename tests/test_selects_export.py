"""Selects out to the edit: each format is written through its real OpenTimelineIO adapter and
read back with OpenTimelineIO, and the test asserts what that format kept."""

import datetime
import io
import json
import xml.etree.ElementTree as ET
import zipfile
from decimal import Decimal
from fractions import Fraction

import opentimelineio as otio
import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from generations.selectors.selects import media_filename, reel_name, selects_timeline
from generations.services.reviews import note_add, review_record

from .factories import PromptVersionFactory, ShotFactory, TakeFactory

BASE = "http://testserver"
T0 = timezone.now().replace(microsecond=0) - datetime.timedelta(days=2)


def _take(version, *, minutes, fps=24, seconds="8", media=True, media_url=""):
    take = TakeFactory(
        prompt_version=version,
        fps=Decimal(fps),
        duration_s=Decimal(seconds),
        media_url=media_url,
        created_at=T0 + datetime.timedelta(minutes=minutes),
    )
    if media:
        take.media.save("t.mp4", ContentFile(b"\x00" * 32), save=True)
    return take


@pytest.fixture
def selects(project, members):
    """Shot "a-street": four selects over two versions, at 24 and 30 fps, created out of order;
    shot "b-roof": one select (imported: media URL only) and one without any media. Rejected and
    unreviewed takes around them. Returns the selects in edit order."""
    lead = members["lead"]
    street = ShotFactory(project=project, name="a-street")
    roof = ShotFactory(project=project, name="b-roof")
    s1 = PromptVersionFactory(shot=street, number=1, text="street at dusk, dolly in")
    s2 = PromptVersionFactory(shot=street, number=2, parent=s1, text="street at dusk, slower")
    r1 = PromptVersionFactory(shot=roof, number=1, text="rooftop, crane up")

    # Created out of edit order on purpose: version, then creation time decide.
    a3 = _take(s2, minutes=1, fps=30, seconds="5")  # 150 frames at 30
    a1 = _take(s1, minutes=5, fps=24, seconds="8")  # 192 frames at 24
    a2 = _take(s1, minutes=9, fps=30, seconds="4")  # 120 frames at 30
    a4 = _take(s2, minutes=7, fps=24, seconds="3.5")  # 84 frames at 24
    b1 = _take(r1, minutes=2, fps=24, seconds="6", media=False, media_url="https://cdn.test/b1.mp4")
    b2 = _take(r1, minutes=3, fps=24, seconds="2", media=False)
    rejected = [_take(s1, minutes=11), _take(r1, minutes=12)]
    unreviewed = _take(s2, minutes=13)  # noqa: F841

    for take in (a1, a2, a3, a4, b1, b2):
        review_record(take=take, reviewer=lead, verdict="accept")
    for take in rejected:
        review_record(take=take, reviewer=lead, verdict="reject")
    # Accepted then rejected: no longer a select.
    flipped = _take(s1, minutes=6)
    review_record(take=flipped, reviewer=lead, verdict="accept")
    review_record(take=flipped, reviewer=lead, verdict="reject")

    note_add(take=a1, author=lead, seconds=0.5, text="hand melts\nhere", tag_slug="flicker")
    note_add(take=a1, author=lead, seconds=2, text="lovely light")
    note_add(take=a3, author=lead, seconds=1, text="face drifts", tag_slug="morphing")
    return {"street": street, "roof": roof, "order": [a1, a2, a3, a4, b1, b2]}


def _get(client, project, fmt, shot=None):
    url = reverse("selects_export", args=[project.slug]) + f"?format={fmt}"
    return client.get(url + (f"&shot={shot.pk}" if shot else ""))


def _read(response, fmt):
    assert response.status_code == 200, response.content[:300]
    text = response.content.decode()
    adapter = {"otio": "otio_json", "edl": "cmx_3600", "xml": "fcp_xml", "fcpxml": "fcpx_xml"}
    kwargs = {"rate": 24} if fmt == "edl" else {}
    timeline = otio.adapters.read_from_string(text, adapter[fmt], **kwargs)
    return text, list(timeline.find_clips())


def _names(takes):
    return [f"{t.shot.name} v{t.prompt_version.number} {reel_name(t)}" for t in takes]


def _frames(clip):
    return clip.source_range.duration.value, clip.source_range.duration.rate


def _media(take):
    return f"{BASE}/projects/{take.project.slug}/takes/{take.pk}/media/video/"


def _file(take):
    """What exported timelines reference stored media by: its file name, relative."""
    return "./" + media_filename(take)


@pytest.fixture
def editor_client(client, members):
    client.force_login(members["editor"])
    return client


def test_native_otio_keeps_everything(editor_client, project, selects):
    a1, a2, a3, a4, b1, b2 = selects["order"]
    _text, clips = _read(_get(editor_client, project, "otio"), "otio")
    assert [c.name for c in clips] == _names(selects["order"])
    assert [_frames(c) for c in clips] == [
        (192, 24), (120, 30), (150, 30), (84, 24), (144, 24), (48, 24)
    ]  # fmt: skip
    urls = [getattr(c.media_reference, "target_url", None) for c in clips]
    assert urls == [_file(a1), _file(a2), _file(a3), _file(a4), "https://cdn.test/b1.mp4", None]
    assert isinstance(clips[-1].media_reference, otio.schema.MissingReference)

    meta = clips[0].metadata["dailies"]
    # The online address stays in the metadata; the reference is the file in the media ZIP.
    assert [c.metadata["dailies"]["media_url"] for c in clips] == [
        _media(a1), _media(a2), _media(a3), _media(a4), "https://cdn.test/b1.mp4", None
    ]  # fmt: skip
    assert meta["media_file"] == media_filename(a1)
    assert meta["external_id"] == a1.external_id
    assert meta["model"] == "sora-2" and meta["pass"] == a1.pass_number
    assert meta["prompt"] == "street at dusk, dolly in"
    assert meta["cost_usd"] == 0.8 and meta["project"] == project.slug
    assert meta["take_url"] == BASE + a1.get_absolute_url()
    assert clips[0].metadata["cmx_3600"]["reel"] == reel_name(a1)

    markers = [(m.name, m.comment, m.color, m.marked_range.start_time) for m in clips[0].markers]
    assert markers == [
        ("flicker", "hand melts\nhere", "RED", otio.opentime.RationalTime(12, 24)),
        ("note", "lovely light", "YELLOW", otio.opentime.RationalTime(48, 24)),
    ]
    assert [(m.name, m.color, m.marked_range.start_time) for m in clips[2].markers] == [
        ("morphing", "MAGENTA", otio.opentime.RationalTime(30, 30))
    ]
    assert [len(c.markers) for c in clips] == [2, 0, 1, 0, 0, 0]


def test_the_edl_conforms_to_one_rate_and_keeps_reels_and_locators(editor_client, project, selects):
    a1, a2, a3, a4, b1, _b2 = selects["order"]
    text, clips = _read(_get(editor_client, project, "edl"), "edl")
    assert [c.name for c in clips] == _names(selects["order"])
    # The timeline rate is the most common fps (24: four takes against two at 30); the 30 fps
    # takes are conformed by time: 4 s and 5 s become 96 and 120 frames at 24.
    assert [_frames(c) for c in clips] == [
        (192, 24), (96, 24), (120, 24), (84, 24), (144, 24), (48, 24)
    ]  # fmt: skip
    events = [line for line in text.splitlines() if line[:3].isdigit()]
    assert len(events) == 6
    assert events[0].split()[1] == reel_name(a1) and len(reel_name(a1)) == 8
    assert [c.metadata["cmx_3600"]["reel"] for c in clips] == [
        reel_name(t) for t in selects["order"]
    ]
    # Record timecode starts at zero and runs on without gaps.
    assert events[0].split()[-2:] == ["00:00:00:00", "00:00:08:00"]
    assert events[1].split()[-2:] == ["00:00:08:00", "00:00:12:00"]
    # Media: the file name rides on the FROM CLIP comment, the take without media has none.
    urls = [getattr(c.media_reference, "target_url", None) for c in clips]
    assert urls == [_file(a1), _file(a2), _file(a3), _file(a4), "https://cdn.test/b1.mp4", None]
    # Notes are LOC lines: position, colour, and "TAG: TEXT" on one line (the only text field).
    assert "* LOC: 00:00:00:12 RED     FLICKER: HAND MELTS HERE" in text
    assert "* LOC: 00:00:02:00 YELLOW  NOTE: LOVELY LIGHT" in text
    assert [(m.name, m.color, m.marked_range.start_time.value) for m in clips[0].markers] == [
        ("FLICKER: HAND MELTS HERE", "RED", 12),
        ("NOTE: LOVELY LIGHT", "YELLOW", 48),
    ]
    assert [(m.name, m.color, m.marked_range.start_time.value) for m in clips[2].markers] == [
        # OTIO reads a LOC back as written: record time, 12 s in + 1 s (30 fps) at 24.
        ("MORPHING: FACE DRIFTS", "MAGENTA", 288 + 24)
    ]
    assert "dailies" not in clips[0].metadata  # the EDL has no place for our metadata


def _edl_events(text):
    """The EDL's events as (reel, record in, record out, [LOC timecodes]), parsed from the text."""
    events = []
    for line in text.splitlines():
        if line[:3].isdigit():
            fields = line.split()
            events.append((fields[1], fields[-2], fields[-1], []))
        elif line.startswith("* LOC:"):
            events[-1][3].append(line.split()[2])
    return events


def _tc(timecode, rate=24):
    hours, minutes, seconds, frames = (int(part) for part in timecode.split(":"))
    return ((hours * 60 + minutes) * 60 + seconds) * rate + frames


def test_edl_locators_are_in_record_time_inside_their_event(
    editor_client, project, selects, members
):
    """CMX/Avid read `* LOC:` as record timecode: record-in + the note's frame at the EDL rate."""
    a1, a2, a3, a4, b1, b2 = selects["order"]
    # Notes on later events too, so a clip-relative LOC cannot pass by luck.
    lead = members["lead"]
    note_add(take=a4, author=lead, seconds=3, text="end", tag_slug="flicker")
    note_add(take=b1, author=lead, seconds=0, text="first frame")
    note_add(take=b2, author=lead, seconds=1.5, text="late")
    text = _get(editor_client, project, "edl").content.decode()
    events = _edl_events(text)
    assert [e[0] for e in events] == [reel_name(t) for t in selects["order"]]
    seen = 0
    for take, (_reel, rec_in, rec_out, locs) in zip(selects["order"], events, strict=True):
        notes = list(take.notes.order_by("frame", "id"))
        assert len(locs) == len(notes)
        for note, loc in zip(notes, locs, strict=True):
            frame_at_24 = round(note.frame / float(take.fps) * 24)
            assert _tc(loc) == _tc(rec_in) + frame_at_24, (loc, rec_in, note.text)
            assert _tc(rec_in) <= _tc(loc) < _tc(rec_out)
            seen += 1
    assert seen == 6
    # a3 is the third event (record 00:00:12:00-00:00:17:00); its note is 1 s in.
    assert events[2][1:] == ("00:00:12:00", "00:00:17:00", ["00:00:13:00"])
    assert events[4][1:] == ("00:00:20:12", "00:00:26:12", ["00:00:20:12"])  # b1's note: frame 0


def test_fcp7_xml_conforms_clips_and_keeps_marker_comments(editor_client, project, selects):
    a1, a2, a3, a4, _b1, _b2 = selects["order"]
    text, clips = _read(_get(editor_client, project, "xml"), "xml")
    assert [c.name for c in clips] == _names(selects["order"])
    # Clipitems are at the sequence rate (the files keep their own: see the XML test below).
    assert [_frames(c) for c in clips] == [
        (192, 24), (96, 24), (120, 24), (84, 24), (144, 24), (48, 24)
    ]  # fmt: skip
    urls = [getattr(c.media_reference, "target_url", None) for c in clips]
    assert urls == [_file(a1), _file(a2), _file(a3), _file(a4), "https://cdn.test/b1.mp4", None]
    assert isinstance(clips[-1].media_reference, otio.schema.MissingReference)
    # Markers keep name, frame and FCP7's own comment field; not their colour (FCP7 has none).
    got = [
        (m.name, m.metadata["fcp_xml"]["comment"], m.marked_range.start_time)
        for m in clips[0].markers
    ]
    assert got == [
        ("flicker", "hand melts\nhere", otio.opentime.RationalTime(12, 24)),
        ("note", "lovely light", otio.opentime.RationalTime(48, 24)),
    ]
    assert [(m.name, m.marked_range.start_time) for m in clips[2].markers] == [
        ("morphing", otio.opentime.RationalTime(24, 24))  # 1 s into the clip
    ]
    assert "dailies" not in clips[0].metadata
    assert "<comment>hand melts\nhere</comment>" in text


def test_fcpxml_keeps_rates_urls_and_markers_with_their_text(editor_client, project, selects):
    a1, a2, a3, a4, _b1, _b2 = selects["order"]
    text, clips = _read(_get(editor_client, project, "fcpxml"), "fcpxml")
    assert [c.name for c in clips] == _names(selects["order"])
    assert [_frames(c) for c in clips] == [
        (192, 24), (120, 30), (150, 30), (84, 24), (144, 24), (48, 24)
    ]  # fmt: skip
    urls = [c.media_reference.target_url for c in clips]
    assert urls[:5] == [_file(a1), _file(a2), _file(a3), _file(a4), "https://cdn.test/b1.mp4"]
    # FCPXML has no missing media: a clearly named offline file, not OTIO's file:///tmp/...
    assert urls[5] == f"./{reel_name(_b2)}_OFFLINE_no-media-in-dailies"
    assert "file:///tmp" not in text
    # One text field per marker: it carries "tag: text". Colours collapse to to-do markers
    # (RED), plain markers (read back PURPLE) and done markers (GREEN).
    got = [(m.name, m.color, m.marked_range.start_time.to_seconds()) for m in clips[0].markers]
    assert got == [("flicker: hand melts here", "RED", 0.5), ("note: lovely light", "PURPLE", 2)]
    assert [m.name for m in clips[2].markers] == ["morphing: face drifts"]
    # The prompt rides as the asset-clip's note.
    assert "<note>street at dusk, dolly in</note>" in text


def _int(element, path):
    return int(element.find(path).text)


def test_fcp7_xml_numbers_are_on_the_sequence_grid(editor_client, project, selects):
    """Written XML, parsed: one sequence rate (24, the majority), a duration counted at it,
    a format with the majority frame size, each clipitem placed at 24 while its file keeps
    the take's own rate and frame count."""
    order = selects["order"]
    order[1].width, order[1].height = 1920, 1080  # a minority size must not win
    order[1].save(update_fields=["width", "height"])
    root = ET.fromstring(_get(editor_client, project, "xml").content)
    sequence = root.find("./project/children/sequence")
    assert _int(sequence, "rate/timebase") == 24
    seconds = [8, 4, 5, 3.5, 6, 2]
    assert _int(sequence, "duration") == sum(seconds) * 24 == 684
    sample = sequence.find("./media/video/format/samplecharacteristics")
    assert _int(sample, "rate/timebase") == 24
    assert (_int(sample, "width"), _int(sample, "height")) == (1280, 720)
    items = sequence.findall("./media/video/track/clipitem")
    assert len(items) == 6
    record = 0
    for take, secs, item in zip(order, seconds, items, strict=True):
        assert [_int(r, "timebase") for r in item.findall("rate")] == [24]
        start, end = _int(item, "start"), _int(item, "end")
        assert (start, end) == (record, record + round(secs * 24))
        assert (_int(item, "in"), _int(item, "out")) == (0, end - start)
        file = item.find("file")
        assert _int(file, "rate/timebase") == int(take.fps)
        assert _int(file, "duration") == round(secs * float(take.fps))
        record = end
    assert record == 684
    # Markers on the clipitem's (sequence) grid: a3's note 1 s in is frame 24, not 30.
    assert [_int(m, "in") for m in items[0].findall("marker")] == [12, 48]
    assert [_int(m, "in") for m in items[2].findall("marker")] == [24]


def test_fcpxml_sequence_has_the_majority_rate_and_size(editor_client, project, selects):
    text = _get(editor_client, project, "fcpxml").content.decode()
    root = ET.fromstring(text.split("\n", 2)[2])
    formats = {f.get("id"): f for f in root.iter("format")}
    sequence = root.find(".//sequence")
    fmt = formats[sequence.get("format")]
    assert fmt.get("frameDuration") == "1/24s"
    assert (fmt.get("width"), fmt.get("height")) == ("1280", "720")
    # Every edit point is on the 24 fps grid and the clips run on without gaps.
    record = Fraction(0)
    for clip in sequence.iter("clip"):
        offset = Fraction(clip.get("offset").rstrip("s"))
        duration = Fraction(clip.get("duration").rstrip("s"))
        assert offset == record and (offset * 24).denominator == 1
        assert (duration * 24).denominator == 1
        record = offset + duration
    assert record * 24 == 684
    assert Fraction(sequence.get("duration").rstrip("s")) == record
    assert "file:///tmp" not in text


@pytest.mark.parametrize("fmt", ["otio", "edl", "xml", "fcpxml"])
def test_the_shot_filter_narrows_to_that_shot(editor_client, project, selects, fmt):
    response = _get(editor_client, project, fmt, shot=selects["roof"])
    _text, clips = _read(response, fmt)
    assert [c.name for c in clips] == _names(selects["order"][4:])
    ext = {"otio": "otio", "edl": "edl", "xml": "xml", "fcpxml": "fcpxml"}[fmt]
    assert response["Content-Disposition"] == (
        f'attachment; filename="{project.slug}-b-roof-selects.{ext}"'
    )


def test_the_whole_project_downloads_under_a_clear_name(editor_client, project, selects):
    response = _get(editor_client, project, "edl")
    assert response["Content-Disposition"] == f'attachment; filename="{project.slug}-selects.edl"'


def test_shots_go_in_natural_order_then_version_then_creation(editor_client, project, members):
    """shot-2 before shot-10 (digits compared as numbers, not as text), in every format."""
    lead = members["lead"]
    order = []
    for name in ("shot-1", "shot-2", "shot-10", "shot-11"):
        shot = ShotFactory(project=project, name=name)
        v1 = PromptVersionFactory(shot=shot, number=1)
        v2 = PromptVersionFactory(shot=shot, number=2, parent=v1)
        # Created newest-first on purpose: version, then creation, decide within a shot.
        late_v1 = _take(v1, minutes=30)
        early_v2 = _take(v2, minutes=1)
        early_v1 = _take(v1, minutes=20)
        order += [early_v1, late_v1, early_v2]
    for take in reversed(order):
        review_record(take=take, reviewer=lead, verdict="accept")
    for fmt in ("otio", "edl", "xml", "fcpxml"):
        _text, clips = _read(_get(editor_client, project, fmt), fmt)
        assert [c.name for c in clips] == _names(order), fmt
    text = _get(editor_client, project, "edl").content.decode()
    reels = [line.split()[1] for line in text.splitlines() if line[:3].isdigit()]
    assert reels == [reel_name(t) for t in order]


def test_it_builds_the_timeline_in_two_queries(project, selects, django_assert_num_queries):
    with django_assert_num_queries(2):
        timeline = selects_timeline(project=project, base_url=BASE)
    assert len(list(timeline.find_clips())) == 6


@pytest.mark.parametrize(
    ("role", "status"),
    [("viewer", 403), ("producer", 403), ("lead", 403), ("editor", 200), ("owner", 200)],
)
def test_it_needs_the_export_capability(client, project, selects, members, role, status):
    client.force_login(members[role])
    assert _get(client, project, "edl").status_code == status


def test_it_hides_the_project_from_an_outsider(client, project, selects, outsider):
    client.force_login(outsider)
    assert _get(client, project, "edl").status_code == 404


def test_it_404s_a_shot_of_another_project(editor_client, project, selects, outsider):
    other = ShotFactory(project=outsider.memberships.get().project)
    assert _get(editor_client, project, "edl", shot=other).status_code == 404
    url = reverse("selects_export", args=[project.slug]) + "?format=edl&shot=abc"
    assert editor_client.get(url).status_code == 404


def test_an_empty_selection_is_a_400_page_not_an_empty_file(editor_client, project, members):
    shot = ShotFactory(project=project, name="empty-shot")
    _take(PromptVersionFactory(shot=shot, number=1), minutes=1)
    for url_shot in (None, shot):
        response = _get(editor_client, project, "edl", shot=url_shot)
        assert response.status_code == 400
        assert "Content-Disposition" not in response
        assert "No accepted takes" in response.content.decode()


def test_an_unknown_format_is_a_400(editor_client, project, selects):
    response = _get(editor_client, project, "aaf")
    assert response.status_code == 400
    assert "Unknown format" in response.content.decode()


@pytest.mark.parametrize("fmt", ["otio", "edl", "xml", "fcpxml"])
def test_the_command_writes_the_same_bytes_as_the_download(
    editor_client, project, selects, tmp_path, fmt
):
    path = tmp_path / f"out.{fmt}"
    call_command("export_selects", project.slug, format=fmt, output=str(path), base_url=BASE)
    assert path.read_bytes() == _get(editor_client, project, fmt).content
    call_command(
        "export_selects", project.slug, format=fmt, output=str(path), base_url=BASE, shot="b-roof"
    )
    assert path.read_bytes() == _get(editor_client, project, fmt, shot=selects["roof"]).content


def test_the_command_refuses_an_empty_selection(project, members):
    ShotFactory(project=project, name="nothing")
    with pytest.raises(CommandError, match="No accepted takes"):
        call_command("export_selects", project.slug, format="edl", shot="nothing")


def test_the_pages_offer_the_menu_to_those_who_may_export(client, project, selects, members):
    shot = selects["street"]
    url = reverse("selects_export", args=[project.slug])
    client.force_login(members["editor"])
    page = client.get(reverse("project_detail", args=[project.slug])).content.decode()
    assert f"{url}?format=edl" in page and f"{url}?format=fcpxml" in page
    page = client.get(reverse("shot_detail", args=[project.slug, shot.pk])).content.decode()
    assert f"{url}?format=xml&amp;shot={shot.pk}" in page
    client.force_login(members["viewer"])
    page = client.get(reverse("project_detail", args=[project.slug])).content.decode()
    assert url not in page


def _references(fmt, text):
    """The media references as written in the file itself (not read back through OTIO)."""
    if fmt == "edl":
        return [
            line.split(":", 1)[1].strip()
            for line in text.splitlines()
            if line.startswith("* FROM CLIP:")
        ]
    if fmt == "xml":
        return [e.text for e in ET.fromstring(text).iter("pathurl")]
    if fmt == "fcpxml":
        return [e.get("src") for e in ET.fromstring(text.split("\n", 2)[2]).iter("asset")]
    data = json.loads(text)
    found = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("OTIO_SCHEMA", "").startswith("ExternalReference"):
                found.append(node["target_url"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(data)
    return found


def _zip(client, project, shot=None):
    url = reverse("selects_media", args=[project.slug]) + (f"?shot={shot.pk}" if shot else "")
    return client.get(url)


@pytest.mark.parametrize("fmt", ["otio", "edl", "xml", "fcpxml"])
def test_the_media_zip_holds_exactly_the_files_the_timelines_reference(
    editor_client, project, selects, fmt
):
    a1, a2, a3, a4, b1, b2 = selects["order"]
    response = _zip(editor_client, project)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == (
        f'attachment; filename="{project.slug}-selects-media.zip"'
    )
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = archive.namelist()
    assert names == [media_filename(t) for t in (a1, a2, a3, a4)]
    assert all(archive.read(name) == b"\x00" * 32 for name in names)
    # Each name starts with the reel and carries shot, version, external id and the extension.
    assert names[0] == f"{reel_name(a1)}_a-street_v1_{a1.external_id}.mp4"

    refs = _references(fmt, _get(editor_client, project, fmt).content.decode())
    local = [ref for ref in refs if ref.startswith("./")]
    # Unzipped next to the timeline, every local reference is a file of the ZIP, in order.
    assert [ref.removeprefix("./") for ref in local if "OFFLINE" not in ref] == names
    assert not any(ref.startswith(("http://testserver", "file:///tmp")) for ref in refs)
    assert "https://cdn.test/b1.mp4" in refs  # imported: the provider's URL, not in the ZIP
    if fmt == "fcpxml":
        assert f"./{reel_name(b2)}_OFFLINE_no-media-in-dailies" in refs
        assert f"{reel_name(b2)}_OFFLINE_no-media-in-dailies" not in names


def test_the_media_zip_narrows_to_a_shot_and_refuses_none(editor_client, project, selects):
    response = _zip(editor_client, project, shot=selects["street"])
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert len(archive.namelist()) == 4
    assert f"{project.slug}-a-street-selects-media.zip" in response["Content-Disposition"]
    # b-roof's selects have no stored media: a page saying so, not an empty ZIP.
    response = _zip(editor_client, project, shot=selects["roof"])
    assert response.status_code == 400
    assert "No accepted takes with stored media" in response.content.decode()


@pytest.mark.parametrize(
    ("role", "status"),
    [("viewer", 403), ("producer", 403), ("lead", 403), ("editor", 200), ("owner", 200)],
)
def test_the_media_zip_needs_the_export_capability(client, project, selects, members, role, status):
    client.force_login(members[role])
    assert _zip(client, project).status_code == status


def test_the_media_zip_hides_the_project_from_an_outsider(client, project, selects, outsider):
    client.force_login(outsider)
    assert _zip(client, project).status_code == 404


def test_a_take_downloads_under_its_relink_name(client, project, selects, members):
    a1 = selects["order"][0]
    url = reverse("take_media", args=[project.slug, a1.pk, "video"])
    name = media_filename(a1)
    assert name.startswith(reel_name(a1)) and name.endswith(".mp4")
    assert "a-street" in name and "_v1_" in name and a1.external_id in name
    client.force_login(members["viewer"])  # viewing the take is enough to download it
    assert client.get(url)["Content-Disposition"] == f'inline; filename="{name}"'
    assert client.get(url + "?download=1")["Content-Disposition"] == (
        f'attachment; filename="{name}"'
    )
    ranged = client.get(url + "?download=1", HTTP_RANGE="bytes=0-3")
    assert ranged.status_code == 206
    assert ranged["Content-Disposition"] == f'attachment; filename="{name}"'
    # Stable: the same name on the next request and after a review.
    review_record(take=a1, reviewer=members["lead"], verdict="accept")
    assert client.get(url)["Content-Disposition"] == f'inline; filename="{name}"'


def test_the_menu_offers_the_media_zip(client, project, selects, members):
    client.force_login(members["editor"])
    page = client.get(reverse("project_detail", args=[project.slug])).content.decode()
    assert reverse("selects_media", args=[project.slug]) in page
