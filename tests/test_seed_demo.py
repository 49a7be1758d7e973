import io
import time
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone
from PIL import Image, ImageChops, ImageStat

from generations.models import Membership, Project, Review, Take, TakeStatus
from generations.selectors.queue import FLICKER_SUGGEST_THRESHOLD


@pytest.mark.worker
def test_seed_demo_makes_a_user_per_role_and_real_takes_that_the_worker_processes(
    celery_worker, client
):
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    printed = out.getvalue()
    project = Project.objects.get(slug="neon-market")
    roles = dict(Membership.objects.filter(project=project).values_list("user__username", "role"))
    assert roles == {
        "lead@studio.test": "lead",
        "editor@studio.test": "editor",
        "producer@studio.test": "producer",
        "viewer@studio.test": "viewer",
    }
    for email in roles:
        assert email in printed
    assert client.login(username="viewer@studio.test", password="dailies-demo")

    takes = Take.objects.filter(project=project)
    deadline = time.monotonic() + 30
    while takes.filter(status=TakeStatus.PROCESSING).exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert takes.filter(status=TakeStatus.READY).count() == takes.count() > 0
    assert all(t.poster and t.thumbnail and t.filmstrip for t in takes)

    first = takes.filter(pass_number=1).exclude(current_verdict="")
    rate = first.filter(current_verdict="accept").count() / first.count()
    assert 0.10 <= rate <= 0.20  # the first pass sits in the band practitioners report
    later = takes.filter(pass_number=3).exclude(current_verdict="")
    assert later.filter(current_verdict="accept").count() / later.count() > rate
    assert takes.filter(current_verdict="").exists()  # something left for the review queue
    assert not Review.objects.filter(take__project=project, created_at__gt=timezone.now()).exists()

    # Each clip lasts what its prompt asks for (else what its shot runs), at 24 fps.
    for take in takes.select_related("prompt_version", "shot"):
        stated = take.prompt_version.parameters.get("duration_s", take.shot.target_duration_s)
        assert abs(take.duration_s - Decimal(stated)) <= Decimal("0.05"), take
        # Dated after its prompt version; its reviews after it.
        assert take.created_at > take.prompt_version.created_at, take
        assert not take.reviews.filter(created_at__lt=take.created_at).exists(), take
    assert {float(t.duration_s) for t in takes} == {4.0, 6.0, 8.0}

    # Deliberate defects: the flicker hint finds exactly the takes tagged flicker for it, and
    # the rest of the footage (moving, textured) stays below the hint.
    flagged = {t.pk for t in takes if t.flicker_score >= FLICKER_SUGGEST_THRESHOLD}
    tagged = set(
        takes.filter(current_review__failure_tags__slug="flicker").values_list("pk", flat=True)
    )
    assert len(flagged) >= 3 and flagged <= tagged
    assert takes.filter(current_review__failure_tags__slug="warping").count() >= 4

    # Motion: the first and last filmstrip frames of every take differ visibly.
    for take in takes:
        strip = Image.open(take.filmstrip.path).convert("L")
        tile = strip.width // take.filmstrip_frames
        first = strip.crop((0, 0, tile, strip.height))
        last = strip.crop((strip.width - tile, 0, strip.width, strip.height))
        assert ImageStat.Stat(ImageChops.difference(first, last)).mean[0] > 4, take

    # One model has no price: its takes are flagged, not costed at $0.
    unknown = takes.filter(cost_source="unknown")
    assert set(unknown.values_list("model", flat=True)) == {"hunyuan-video"}
    assert unknown.count() == 2

    # Running it again keeps the project as it is.
    call_command("seed_demo", stdout=io.StringIO())
    assert Take.objects.filter(project=project).count() == takes.count()
