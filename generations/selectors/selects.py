"""A project's selects (takes whose current verdict is accept) as an OpenTimelineIO timeline,
and that timeline written in the formats editors import: native .otio, CMX3600 EDL, FCP7 XML
(Premiere, Resolve) and FCPXML (Final Cut Pro, Resolve).

The timeline is built once from two queries (takes, then their notes); each format writer only
adapts what the format can carry."""

import copy
import re
from collections import Counter
from dataclasses import dataclass

import opentimelineio as otio
from django.urls import reverse
from django.utils.text import slugify

from ..models import Note, Project, Shot, Take
from ..models.reviews import Verdict

RationalTime = otio.opentime.RationalTime
TimeRange = otio.opentime.TimeRange
MarkerColor = otio.schema.MarkerColor

DEFAULT_RATE = 24.0
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


def _media_url(take: Take, project: Project, base_url: str) -> str | None:
    if take.media:
        # Our media view, so whoever opens it goes through the membership check.
        return base_url.rstrip("/") + reverse("take_media", args=[project.slug, take.pk, "video"])
    return take.media_url or None


def _marker(note: Note, fps: float) -> otio.schema.Marker:
    tag = note.tag
    return otio.schema.Marker(
        name=tag.slug if tag else "note",
        marked_range=TimeRange(RationalTime(note.frame, fps), RationalTime(0, fps)),
        color=GROUP_COLOURS.get(tag.group, NOTE_COLOUR) if tag else NOTE_COLOUR,
        comment=note.text,
        # FCP7 XML writes its namespace as child elements: <comment> is FCP7's own marker field.
        metadata={"fcp_xml": {"comment": note.text}},
    )


def _clip(take: Take, notes: list[Note], project: Project, base_url: str) -> otio.schema.Clip:
    fps = _fps(take)
    available = TimeRange(RationalTime(0, fps), RationalTime(_frames(take), fps))
    url = _media_url(take, project, base_url)
    version = take.prompt_version
    if url:
        reference = otio.schema.ExternalReference(target_url=url, available_range=available)
        # FCPXML keeps a per-asset note: the prompt is what the editor wants to read there.
        reference.metadata["fcpx"] = {"note": version.text}
    else:
        reference = otio.schema.MissingReference(available_range=available)
    reel = reel_name(take)
    clip = otio.schema.Clip(
        name=f"{take.shot.name} v{version.number} {reel}",
        media_reference=reference,
        source_range=available,
    )
    clip.metadata["cmx_3600"] = {"reel": reel}
    clip.metadata[NAMESPACE] = {
        "take_id": take.pk,
        "external_id": take.external_id,
        "reel": reel,
        "shot": take.shot.name,
        "prompt_version": version.number,
        "prompt": version.text,
        "model": take.model,
        "pass": take.pass_number,
        "fps": fps,
        "duration_s": float(take.duration_s) if take.duration_s is not None else None,
        "resolution": take.resolution or None,
        "cost_usd": float(take.cost_usd) if take.cost_source != "unknown" else None,
        "project": project.slug,
        "take_url": base_url.rstrip("/") + reverse("take_detail", args=[project.slug, take.pk]),
    }
    clip.markers.extend(_marker(note, fps) for note in notes)
    return clip


def selects_timeline(
    *, project: Project, base_url: str, shot: Shot | None = None
) -> otio.schema.Timeline:
    """The accepted takes of a project (or of one shot), one clip each, in edit order: shot name
    (natural order: shot-2 before shot-10), prompt version, creation. Two queries whatever the
    number of takes."""
    takes = Take.objects.filter(project=project, current_verdict=Verdict.ACCEPT)
    if shot is not None:
        takes = takes.filter(shot=shot)
    takes = sorted(
        takes.select_related("shot", "prompt_version"),
        key=lambda t: (
            natural_key(t.shot.name),
            t.shot_id,
            t.prompt_version.number,
            t.created_at,
            t.pk,
        ),
    )
    notes: dict[int, list[Note]] = {}
    if takes:
        for note in (
            Note.objects.filter(take_id__in=[t.pk for t in takes])
            .select_related("tag")
            .order_by("frame", "id")
        ):
            notes.setdefault(note.take_id, []).append(note)

    rate = _rate(takes)
    title = f"{project.name} selects" + (f" - {shot.name}" if shot else "")
    timeline = otio.schema.Timeline(name=title, global_start_time=RationalTime(0, rate))
    timeline.metadata[NAMESPACE] = {
        "project": project.slug,
        "shot": shot.name if shot else None,
        "rate": rate,
    }
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    track.extend(_clip(t, notes.get(t.pk, []), project, base_url) for t in takes)
    timeline.tracks.append(track)
    return timeline


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _markers_with_text(timeline: otio.schema.Timeline) -> otio.schema.Timeline:
    """A copy whose marker names carry the note text: EDL locators and FCPXML markers keep a
    single text field (the name), and the note text is what the editor needs."""
    flat = copy.deepcopy(timeline)
    for clip in flat.find_clips():
        for marker in clip.markers:
            marker.name = _one_line(f"{marker.name}: {marker.comment}")
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
        return otio.adapters.write_to_string(_markers_with_text(timeline), fmt.adapter)
    return otio.adapters.write_to_string(timeline, fmt.adapter)


def selects_filename(*, project: Project, format: str, shot: Shot | None = None) -> str:
    stem = project.slug + (f"-{slugify(shot.name)}" if shot else "")
    return f"{stem}-selects.{FORMATS[format].extension}"
