"""A prompt checklist from practitioners' advice, and the project's own evidence for each item.

The advice (prompting guides for Sora, Veo, Runway, Kling and the forums around them) says a
prompt fails more often when it leaves the camera or the light to the model, does not pin the
duration, asks for more than two subjects, or asks for legible text on screen. Each check below
is a deliberately simple, documented heuristic over the prompt text and its parameters:

- no_camera_move: no camera word in the text (dolly, pan, tilt, zoom, tracking, crane, orbit,
  handheld, push-in, pull-back, aerial, drone, static/locked-off shot, POV…) and no `camera`
  or `camera_move` parameter.
- no_lighting: no lighting word (light, lit, lighting, golden hour, backlit, neon, shadow,
  sunset, sunrise, dusk, dawn, overcast, candle, moonlight, daylight, noir, rim light…) and no
  `lighting` parameter.
- no_duration: no `duration`/`duration_s` parameter and no "8s", "8 sec", "8 seconds" in text.
- many_subjects: more than two subjects asked for: a count of three or more ("three dancers",
  "5 cars") or a crowd word (crowd, group of, several, many, team, family, band, people).
- on_screen_text: text asked for on screen: a quoted string, or sign/caption/title/logo/
  headline/subtitle/"text"/"words"/"letters"/"that reads"/"that says".

Evidence: over the project's prompt versions, the failure rate (rejected / reviewed, by current
verdict) of takes whose prompt has the item against those whose prompt lacks it, shown only when
each side has at least MIN_REVIEWED reviewed takes.
"""

import re
from dataclasses import dataclass

from django.db.models import Count, Q

from ..models import Project, PromptVersion
from ..models.reviews import Verdict

MIN_REVIEWED = 20

_CAMERA = re.compile(
    r"\b(dolly|pan(s|ning)?|tilt(s|ing)?|zoom(s|ing)?|tracking|track(s)? (in|out|left|right)|"
    r"crane|orbit(s|ing)?|handheld|hand-held|push(es)?[- ]in|pull(s)?[- ](back|out)|aerial|drone|"
    r"steadicam|whip|static (shot|camera)|locked[- ]off|pov|point of view|close-up|wide shot|"
    r"camera)\b",
    re.I,
)
_LIGHT = re.compile(
    r"\b(light(s|ing)?|lit|sunlit|moonlit|golden hour|blue hour|backlit|backlight|neon|shadows?|"
    r"sunset|sunrise|dusk|dawn|overcast|candle(light|lit)?|moonlight|daylight|noir|"
    r"rim light|high[- ]key|low[- ]key|chiaroscuro|glow(ing)?)\b",
    re.I,
)
_DURATION = re.compile(r"\b\d+(\.\d+)?\s?(s|sec|secs|seconds?)\b", re.I)
_NUMBER_WORDS = r"three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozens?|hundreds?"
_MANY = re.compile(
    rf"\b(({_NUMBER_WORDS})|([3-9]|[1-9]\d+))\s+[a-z]+|\b(crowd|group of|several|many|team of|"
    r"family|band of|people|multiple)\b",
    re.I,
)
_TEXT = re.compile(
    r"[\"“][^\"”]{1,80}[\"”]|\b(sign|signs|caption|captions|title card|title|logo|headline|"
    r"subtitle|subtitles|text|words|letters|lettering|that reads|that says|reading)\b",
    re.I,
)


@dataclass(frozen=True)
class ChecklistItem:
    key: str
    label: str
    advice: str


ITEMS = [
    ChecklistItem("no_camera_move", "No camera move", "Name the move: static, dolly-in, pan…"),
    ChecklistItem("no_lighting", "No lighting", "Say the light: golden hour, overcast, neon…"),
    ChecklistItem("no_duration", "No duration", "Pin the length (parameter or “8 seconds”)."),
    ChecklistItem("many_subjects", "More than two subjects", "Models lose track past two."),
    ChecklistItem("on_screen_text", "On-screen text asked for", "Add text in the edit instead."),
]


def _has_param(parameters: dict, *names: str) -> bool:
    return any(parameters.get(n) not in (None, "", []) for n in names)


def prompt_flags(text: str, parameters: dict | None) -> dict[str, bool]:
    """Which checklist items a prompt trips (True = the risky thing is present)."""
    text = text or ""
    parameters = parameters if isinstance(parameters, dict) else {}
    return {
        "no_camera_move": not (
            _CAMERA.search(text) or _has_param(parameters, "camera", "camera_move")
        ),
        "no_lighting": not (_LIGHT.search(text) or _has_param(parameters, "lighting")),
        "no_duration": not (
            _DURATION.search(text) or _has_param(parameters, "duration", "duration_s")
        ),
        "many_subjects": bool(_MANY.search(text)),
        "on_screen_text": bool(_TEXT.search(text)),
    }


def _rate(rejected: int, reviewed: int) -> float | None:
    return rejected / reviewed if reviewed else None


def checklist_evidence(*, project: Project) -> dict[str, dict]:
    """Per item: reviewed and rejected takes of prompts with it and without it (one query)."""
    versions = PromptVersion.objects.filter(shot__project=project).annotate(
        n_reviewed=Count(
            "takes", filter=Q(takes__current_verdict__in=[Verdict.ACCEPT, Verdict.REJECT])
        ),
        n_rejected=Count("takes", filter=Q(takes__current_verdict=Verdict.REJECT)),
    )
    totals = {
        item.key: {"with": [0, 0], "without": [0, 0]}  # [reviewed, rejected]
        for item in ITEMS
    }
    for v in versions.values("text", "parameters", "n_reviewed", "n_rejected"):
        if not v["n_reviewed"]:
            continue
        for key, hit in prompt_flags(v["text"], v["parameters"]).items():
            side = totals[key]["with" if hit else "without"]
            side[0] += v["n_reviewed"]
            side[1] += v["n_rejected"]
    out = {}
    for key, sides in totals.items():
        (rw, jw), (ro, jo) = sides["with"], sides["without"]
        out[key] = {
            "with_reviewed": rw,
            "with_rate": _rate(jw, rw),
            "without_reviewed": ro,
            "without_rate": _rate(jo, ro),
            "enough": rw >= MIN_REVIEWED and ro >= MIN_REVIEWED,
        }
    return out


def version_checklist(*, version: PromptVersion) -> list[dict]:
    flags = prompt_flags(version.text, version.parameters)
    evidence = checklist_evidence(project=version.shot.project)
    return [
        {"item": item, "hit": flags[item.key], "evidence": evidence[item.key]} for item in ITEMS
    ]
