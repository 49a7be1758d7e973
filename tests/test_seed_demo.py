import io
import time

import pytest
from django.core.management import call_command
from django.utils import timezone

from generations.models import Membership, Project, Review, Take, TakeStatus


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

    # Running it again keeps the project as it is.
    call_command("seed_demo", stdout=io.StringIO())
    assert Take.objects.filter(project=project).count() == takes.count()
