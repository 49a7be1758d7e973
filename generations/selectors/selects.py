"""A project's selects (takes whose current verdict is accept) as an OpenTimelineIO timeline,
and that timeline written in the formats editors import: native .otio, CMX3600 EDL, FCP7 XML
(Premiere, Resolve) and FCPXML (Final Cut Pro, Resolve).

The timeline is built once from two queries (takes, then their notes); each format writer only
adapts what the format can carry."""

import copy
import os
import re
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction

import opentimelineio as otio
from django.urls import reverse
from django.utils.text import slugify

from ..limits import single_line, text_problem
from ..models import Note, Project, Shot, Take
from ..models.reviews import Verdict

RationalTime = otio.opentime.RationalTime
TimeRange = otio.opentime.TimeRange
MarkerColor = otio.schema.MarkerColor

DEFAULT_RATE = 24.0
DEFAULT_SIZE = (1920, 1080)
NAMESPACE = "dailies"

# Marker colour by failure-tag group, so an editor sees the kind of problem at a glance; untagged
# notes are plain yellow. The EDL and Resolve both know these names.
GROUP_COLOURS = {
    "temporal": MarkerColor.RED,
    "motion": MarkerColor.ORANGE,
    "identity": MarkerColor.MAGENTA,
    "consistency": MarkerColor.PURPLE,
    "content": MarkerColor.BLUE,
    "image": MarkerColor.CYAN,
    "audio": MarkerColor.GREEN,
}
NOTE_COLOUR = MarkerColor.YELLOW


@dataclass(frozen=True)
class Format:
    adapter: str
    extension: str
    content_type: str


FORMATS = {
    "otio": Format("otio_json", "otio", "application/json"),
    "edl": Format("cmx_3600", "edl", "text/plain; charset=utf-8"),
    "xml": Format("fcp_xml", "xml", "application/xml"),
    "fcpxml": Format("fcpx_xml", "fcpxml", "application/xml"),
}


def reel_name(take: Take) -> str:
    """Eight characters, stable for the take (CMX3600 cuts reel names at 8): DL + base36 id."""
    digits, n = "", take.pk
    while True:
        n, r = divmod(n, 36)
        digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[r] + digits
        if n == 0:
            break
    return f"DL{digits:0>6}"[-8:]


_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple:
    """Sort key comparing runs of digits as numbers: shot-2 before shot-10. Text parts compare
    case-insensitively; each part is tagged so text and numbers never compare directly."""
    parts = _DIGITS.split(name)
    return tuple(
        (1, int(part), part) if i % 2 else (0, part.casefold(), part)
        for i, part in enumerate(parts)
    )


def _fps(take: Take) -> float:
    return float(take.fps) if take.fps else DEFAULT_RATE


def _frames(take: Take) -> int:
    # A take always lasts at least a frame: a zero-length event is invalid in an EDL.
    return max(1, round(float(take.duration_s or 0) * _fps(take)))


def _rate(takes: list[Take]) -> float:
    """The timeline rate: the most common fps among the selects (the first take breaks ties)."""
    if not takes:
        return DEFAULT_RATE
    counts = Counter(_fps(t) for t in takes)
    best = max(counts.values())
    return next(_fps(t) for t in takes if counts[_fps(t)] == best)


def _resolution(takes: list[Take]) -> tuple[int, int]:
    """The sequence frame size: the most common among the selects (the first breaks ties)."""
    sizes = [(t.width, t.height) for t in takes if t.width and t.height]
    if not sizes:
        return DEFAULT_SIZE
    counts = Counter(sizes)
    best = max(counts.values())
    return next(size for size in sizes if counts[size] == best)


_MEDIA_FIELDS = {
    "video": "media",
    "poster": "poster",
    "thumb": "thumbnail",
    "filmstrip": "filmstrip",
}
_UNSAFE = re.compile(r"[^A-Za-z0-9.-]+")


def _safe(text: str) -> str:
    return _UNSAFE.sub("-", text).strip("-.") or "x"


def media_filename(take: Take, kind: str = "video") -> str:
    """The file name a take's stored media goes by outside Dailies: in the download's
    Content-Disposition, in the selects media ZIP, and as the reference in exported timelines.
    Starts with the reel (so reel-based conform finds it), then shot, version and the take's
    external id; keeps the stored file's extension. Stable: nothing in it changes on review."""
    field = getattr(take, _MEDIA_FIELDS[kind])
    ext = os.path.splitext(field.name if field else "")[1].lower() or ".mp4"
    suffix = "" if kind == "video" else f"_{kind}"
    shot = slugify(single_line(take.shot.name)) or "shot"
    external_id = _safe(single_line(take.external_id))
    stem = f"{reel_name(take)}_{shot}_v{take.prompt_version.number}_{external_id}"
    return f"{stem}{suffix}{ext}"


def relative_reference(take: Take) -> str:
    """The reference exported timelines carry for a take with stored media: its file name, next
    to the timeline file (FCPXML reads `./name` relative to the document)."""
    return "./" + media_filename(take)


def _media_url(take: Take, project: Project, base_url: str) -> str | None:
    """Where the media is online: our media view (members only) or the provider's URL."""
    if take.media:
        return base_url.rstrip("/") + reverse("take_media", args=[project.slug, take.pk, "video"])
    return take.media_url or None


def _note_text(text: str) -> str:
    """A note may span lines (.otio and FCP7 <comment> keep them; EDL and FCPXML markers get
    single_line). One written before the door rules, with other control characters (invalid in
    XML), is flattened to one line instead."""
    if text_problem(text, max_length=len(text), single_line=False) is None:
        return text
    return single_line(text)


def _marker(note: Note, fps: float) -> otio.schema.Marker:
    tag = note.tag
    text = _note_text(note.text)
    return otio.schema.Marker(
        name=single_line(tag.slug) if tag else "note",
        marked_range=TimeRange(RationalTime(note.frame, fps), RationalTime(0, fps)),
        color=GROUP_COLOURS.get(tag.group, NOTE_COLOUR) if tag else NOTE_COLOUR,
        comment=text,
        # FCP7 XML writes its namespace as child elements: <comment> is FCP7's own marker field.
        metadata={"fcp_xml": {"comment": text}},
    )


def _clip(take: Take, notes: list[Note], project: Project, base_url: str) -> otio.schema.Clip:
    fps = _fps(take)
    available = TimeRange(RationalTime(0, fps), RationalTime(_frames(take), fps))
    online = _media_url(take, project, base_url)
    # Stored media is referenced by file name, relative to the timeline file: unzipping the
    # selects media next to it lets the NLE relink by name (no NLE can open our login-protected
    # URL). Imported takes without a stored file keep the provider's URL.
    url = relative_reference(take) if take.media else online
    version = take.prompt_version
    if url:
        reference = otio.schema.ExternalReference(target_url=url, available_range=available)
        # FCPXML keeps a per-asset note: the prompt is what the editor wants to read there.
        reference.metadata["fcpx"] = {"note": single_line(version.text)}
    else:
        reference = otio.schema.MissingReference(available_range=available)
    reel = reel_name(take)
    shot_name = single_line(take.shot.name)
    clip = otio.schema.Clip(
        # A line break here would start a new EDL event: names are always one line.
        name=f"{shot_name} v{version.number} {reel}",
        media_reference=reference,
        source_range=available,
    )
    clip.metadata["cmx_3600"] = {"reel": reel}
    clip.metadata[NAMESPACE] = {
        "take_id": take.pk,
        "external_id": single_line(take.external_id),
        "reel": reel,
        "shot": shot_name,
        "prompt_version": version.number,
        "prompt": version.text,
        "model": single_line(take.model),
        "pass": take.pass_number,
        "fps": fps,
        "duration_s": float(take.duration_s) if take.duration_s is not None else None,
        "resolution": take.resolution or None,
        "cost_usd": float(take.cost_usd) if take.cost_source != "unknown" else None,
        "project": project.slug,
        "take_url": base_url.rstrip("/") + reverse("take_detail", args=[project.slug, take.pk]),
        "media_file": media_filename(take) if take.media else None,
        "media_url": online,
    }
    clip.markers.extend(_marker(note, fps) for note in notes)
    return clip


def selects_takes(*, project: Project, shot: Shot | None = None) -> list[Take]:
    """The selects in edit order: shot name (natural order: shot-2 before shot-10), prompt
    version, creation."""
    takes = Take.objects.filter(project=project, current_verdict=Verdict.ACCEPT)
    if shot is not None:
        takes = takes.filter(shot=shot)
    return sorted(
        takes.select_related("shot", "prompt_version"),
        key=lambda t: (
            natural_key(t.shot.name),
            t.shot_id,
            t.prompt_version.number,
            t.created_at,
            t.pk,
        ),
    )


def selects_timeline(
    *, project: Project, base_url: str, shot: Shot | None = None
) -> otio.schema.Timeline:
    """The accepted takes of a project (or of one shot), one clip each, in edit order (see
    selects_takes). Two queries whatever the number of takes."""
    takes = selects_takes(project=project, shot=shot)
    notes: dict[int, list[Note]] = {}
    if takes:
        for note in (
            Note.objects.filter(take_id__in=[t.pk for t in takes])
            .select_related("tag")
            .order_by("frame", "id")
        ):
            notes.setdefault(note.take_id, []).append(note)

    rate = _rate(takes)
    width, height = _resolution(takes)
    title = single_line(f"{project.name} selects" + (f" - {shot.name}" if shot else ""))
    timeline = otio.schema.Timeline(name=title, global_start_time=RationalTime(0, rate))
    timeline.metadata[NAMESPACE] = {
        "project": project.slug,
        "shot": single_line(shot.name) if shot else None,
        "rate": rate,
        "width": width,
        "height": height,
    }
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    track.extend(_clip(t, notes.get(t.pk, []), project, base_url) for t in takes)
    timeline.tracks.append(track)
    return timeline


def _markers_with_text(timeline: otio.schema.Timeline) -> otio.schema.Timeline:
    """A copy whose marker names carry the note text: EDL locators and FCPXML markers keep a
    single text field (the name), and the note text is what the editor needs."""
    flat = copy.deepcopy(timeline)
    for clip in flat.find_clips():
        for marker in clip.markers:
            marker.name = single_line(f"{marker.name}: {marker.comment}")
    return flat


def _markers_at_record_time(timeline: otio.schema.Timeline, rate: float) -> None:
    """Move each marker from clip time to record (timeline) time at the EDL rate: CMX/Avid read
    a `* LOC:` timecode as record timecode, while the writer emits the marker's own time.
    LOC = the event's record-in + the note's frame, both in EDL frames, so it lies in the event."""
    for clip in timeline.find_clips():
        record_in = round(clip.range_in_parent().start_time.rescaled_to(rate).value)
        last = record_in + max(
            0, round(clip.range_in_parent().duration.rescaled_to(rate).value) - 1
        )
        for marker in clip.markers:
            at = record_in + round(marker.marked_range.start_time.rescaled_to(rate).value)
            marker.marked_range = TimeRange(
                RationalTime(min(at, last), rate), RationalTime(0, rate)
            )


def selects_file(*, timeline: otio.schema.Timeline, format: str) -> str:
    """The timeline written in one of FORMATS (KeyError for another)."""
    fmt = FORMATS[format]
    rate = timeline.metadata[NAMESPACE]["rate"]
    if format == "edl":
        # The EDL has one rate: every event is conformed to the timeline's, and its locators are
        # in record time.
        flat = _markers_with_text(timeline)
        _markers_at_record_time(flat, rate)
        return otio.adapters.write_to_string(flat, fmt.adapter, rate=rate)
    if format == "fcpxml":
        flat = _markers_with_text(timeline)
        _offline_references(flat)
        names = _xpath_safe(flat)
        text = otio.adapters.write_to_string(flat, fmt.adapter)
        return _conform_fcpxml(text, timeline, names)
    if format == "xml":
        return _conform_fcp7(otio.adapters.write_to_string(timeline, fmt.adapter), timeline)
    return otio.adapters.write_to_string(timeline, fmt.adapter)


def offline_name(reel: str) -> str:
    """The file a take without media points at where the format has no "missing media" (FCPXML):
    clearly named, never in the media ZIP, so the NLE shows the clip offline."""
    return f"{reel}_OFFLINE_no-media-in-dailies"


def _offline_references(timeline: otio.schema.Timeline) -> None:
    """FCPXML has no missing media, and OTIO's writer invents `file:///tmp/<clip name>` for it:
    point such clips at a clearly named offline file next to the timeline instead."""
    for clip in timeline.find_clips():
        if isinstance(clip.media_reference, otio.schema.MissingReference):
            reel = clip.metadata["cmx_3600"]["reel"]
            clip.media_reference = otio.schema.ExternalReference(
                target_url="./" + offline_name(reel),
                available_range=clip.media_reference.available_range,
            )


def _xpath_safe(timeline: otio.schema.Timeline) -> dict[str, str]:
    """The FCPXML writer looks clips and assets up with XPath predicates built from their names
    and URLs in single quotes, so an apostrophe ("Maria's kitchen") made the export a 500. Clips
    get placeholder names for the writer (restored afterwards from the returned map), and an
    apostrophe in a URL is percent-encoded, which means the same URL."""
    names = {}
    for number, clip in enumerate(timeline.find_clips(), start=1):
        placeholder = f"dailies-clip-{number:06d}"
        names[placeholder] = clip.name
        clip.name = placeholder
        reference = clip.media_reference
        if isinstance(reference, otio.schema.ExternalReference):
            reference.target_url = reference.target_url.replace("'", "%27")
    return names


def _seq_frames(time: RationalTime, rate: float) -> int:
    return round(time.rescaled_to(rate).value)


def _rate_element(rate: float) -> ET.Element:
    element = ET.Element("rate")
    timebase = round(rate)
    ET.SubElement(element, "timebase").text = str(timebase)
    ET.SubElement(element, "ntsc").text = "FALSE" if timebase == rate else "TRUE"
    return element


def _set_text(parent: ET.Element, tag: str, value) -> None:
    element = parent.find(tag)
    if element is None:
        element = ET.SubElement(parent, tag)
    element.text = str(value)


def _conform_fcp7(text: str, timeline: otio.schema.Timeline) -> str:
    """Conform the FCP7 XML to one sequence rate. OTIO's writer leaves each clipitem at its
    take's rate and counts the sequence duration in whatever rate the clip sum came out in, and
    its <format/> is empty. Premiere and Resolve read a clipitem's start/end/in/out on the
    sequence's frame grid, so every clipitem is written at the sequence rate (start/end are
    record frames, in/out the source seconds at that rate); each <file> keeps the take's own
    rate and frame count. Markers move to the same grid, and the sequence gets a format: the
    timeline rate and the most common frame size."""
    meta = timeline.metadata[NAMESPACE]
    rate = meta["rate"]
    root = ET.fromstring(text)
    sequence = root.find("./project/children/sequence")
    clips = list(timeline.find_clips())
    items = sequence.findall("./media/video/track/clipitem")
    assert len(items) == len(clips), "one clipitem per clip"
    end = 0
    for clip, item in zip(clips, items, strict=True):
        placed = clip.range_in_parent()
        start = _seq_frames(placed.start_time, rate)
        end = _seq_frames(placed.end_time_exclusive(), rate)
        source_in = _seq_frames(clip.source_range.start_time, rate)
        # The writer puts two <rate> children on a clipitem (after <name> and before <duration>,
        # both at the take's rate): one, at the sequence rate, where the first was.
        rates = item.findall("rate")
        position = list(item).index(rates[0])
        for child in rates:
            item.remove(child)
        item.insert(position, _rate_element(rate))
        available = clip.media_reference.available_range or clip.source_range
        _set_text(item, "duration", _seq_frames(available.duration, rate))
        _set_text(item, "start", start)
        _set_text(item, "end", end)
        _set_text(item, "in", source_in)
        _set_text(item, "out", source_in + end - start)
        for marker, marker_e in zip(clip.markers, item.findall("marker"), strict=True):
            at = _seq_frames(marker.marked_range.start_time, rate)
            length = _seq_frames(marker.marked_range.duration, rate)
            _set_text(marker_e, "in", at)
            _set_text(marker_e, "out", at + length)
    _set_text(sequence, "duration", end)
    video = sequence.find("./media/video")
    fmt = video.find("format")
    fmt.clear()
    characteristics = ET.SubElement(fmt, "samplecharacteristics")
    characteristics.append(_rate_element(rate))
    ET.SubElement(characteristics, "width").text = str(meta["width"])
    ET.SubElement(characteristics, "height").text = str(meta["height"])
    ET.SubElement(characteristics, "anamorphic").text = "FALSE"
    ET.SubElement(characteristics, "pixelaspectratio").text = "square"
    ET.SubElement(characteristics, "fielddominance").text = "none"
    ET.indent(root, space="    ")
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE xmeml>\n' + body + "\n"


def _frame_duration(rate: float) -> str:
    step = 1 / Fraction(rate).limit_denominator(1001)
    return f"{step.numerator}/{step.denominator}s"


def _conform_fcpxml(text: str, timeline: otio.schema.Timeline, names: dict[str, str]) -> str:
    """Give the FCPXML sequence the timeline's rate and frame size: OTIO's writer picks the
    format of whichever rate it met first and leaves width and height out. Clip and asset names
    go back from their placeholders (see _xpath_safe)."""
    meta = timeline.metadata[NAMESPACE]
    head, _, rest = text.partition("<fcpxml")
    root = ET.fromstring("<fcpxml" + rest)
    for element in root.iter():
        name = element.get("name")
        if name in names:
            element.set("name", names[name])
    resources = root.find("resources")
    ids = {element.get("id") for element in root.iter() if element.get("id")}
    number = 1
    while f"r{number}" in ids:
        number += 1
    sequence_format = ET.Element(
        "format",
        id=f"r{number}",
        name=f"Dailies {meta['width']}x{meta['height']} {meta['rate']:g}",
        frameDuration=_frame_duration(meta["rate"]),
        width=str(meta["width"]),
        height=str(meta["height"]),
    )
    resources.insert(0, sequence_format)
    for sequence in root.iter("sequence"):
        sequence.set("format", sequence_format.get("id"))
    ET.indent(root, space="    ")
    return head + ET.tostring(root, encoding="unicode") + "\n"


def selects_filename(*, project: Project, format: str, shot: Shot | None = None) -> str:
    stem = project.slug + (f"-{slugify(single_line(shot.name))}" if shot else "")
    return f"{stem}-selects.{FORMATS[format].extension}"
