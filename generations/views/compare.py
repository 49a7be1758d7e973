"""Compare takes side by side (synchronised play, pause and seek) or as an A/B wipe, with the
prompt diff between consecutive ones."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from ..access import get_project
from ..selectors import prompts as prompt_selectors
from ..selectors import queue as queue_selectors

MAX_COMPARED = 6


def _ids(request) -> list[int]:
    """?takes=3,7 or ?takes=3&takes=7, in the order given, without repeats."""
    raw = ",".join(request.GET.getlist("takes")).split(",")
    ids: list[int] = []
    for part in raw:
        part = part.strip()
        if part.isdigit() and int(part) not in ids:
            ids.append(int(part))
    return ids[:MAX_COMPARED]


@login_required
@require_GET
def compare_takes(request, slug):
    access = get_project(request, slug)
    ids = _ids(request)
    if not ids and request.GET.get("versions"):
        # ?versions=3,4: the latest take of each prompt version (the version page's link).
        versions = [int(v) for v in request.GET["versions"].split(",") if v.strip().isdigit()]
        ids = queue_selectors.latest_take_ids(project=access.project, version_ids=versions)
    takes = queue_selectors.compare_takes(project=access.project, ids=ids)
    if len(takes) < 2:
        raise Http404("Choose two or more takes of this project to compare.")
    mode = "wipe" if request.GET.get("mode") == "wipe" else "side"
    # Each take after the first: what changed in the prompt since the take before it.
    diffs = []
    for before, after in zip(takes, takes[1:], strict=False):
        a, b = before.prompt_version, after.prompt_version
        diffs.append(
            {
                "before": before,
                "after": after,
                "same": a.pk == b.pk,
                "parts": prompt_selectors.word_diff(a.text, b.text),
                "params": prompt_selectors.parameters_diff(a.parameters, b.parameters),
            }
        )
    ids = ",".join(str(t.pk) for t in takes)
    return render(
        request,
        "generations/review/compare.html",
        {
            "project": access.project,
            "access": access,
            "tab": "review",
            "takes": takes,
            "diffs": diffs,
            "mode": mode,
            "ids": ids,
        },
    )
