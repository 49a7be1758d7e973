"""The `make demo` path, end to end, on the embedded default: SQLite and in-process tasks.

Run by tests/test_demo_sqlite.py in a subprocess (the suite itself runs on PostgreSQL), so code
that only PostgreSQL understands cannot break the demo unnoticed. Prints what failed; exits 1."""

import io
import os
import pathlib
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
django.setup()

from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.urls import reverse  # noqa: E402

from generations.models import Project, PromptVersion, Take  # noqa: E402

failures: list[str] = []


def check(client, method, url, expect=200, **kwargs):
    response = getattr(client, method)(url, **kwargs)
    if response.status_code != expect:
        failures.append(f"{method.upper()} {url}: {response.status_code}, expected {expect}")
    return response


def main(sample: str) -> int:
    call_command("migrate", verbosity=0)
    call_command("seed_demo", stdout=io.StringIO())
    call_command("import_manifest", sample, owner="lead@studio.test", stdout=io.StringIO())
    setup_test_environment()
    client = Client()
    assert client.login(username="lead@studio.test", password="dailies-demo")

    for project in Project.objects.all():
        slug = project.slug
        pages = [
            reverse("project_detail", args=[slug]),
            reverse("budget_edit", args=[slug]),
            reverse("member_list", args=[slug]),
            reverse("review_queue", args=[slug]),
            reverse("review_queue", args=[slug]) + "?unreviewed=1",
            reverse("take_grid", args=[slug]),
            reverse("manifest_export", args=[slug]),
            reverse("api-v1:project_stats", args=[slug]),
        ]
        pages += [
            reverse("dashboard", args=[slug, kind]) for kind in ("producer", "creative", "editor")
        ]
        pages += [
            reverse("selects_export", args=[slug]) + f"?format={f}"
            for f in ("otio", "edl", "xml", "fcpxml")
        ]
        for shot in project.shots.all()[:2]:
            pages.append(reverse("shot_detail", args=[slug, shot.pk]))
        versions = list(PromptVersion.objects.filter(shot__project=project)[:3])
        for version in versions:
            pages.append(reverse("version_detail", args=[slug, version.pk]))
            pages.append(reverse("version_checklist", args=[slug, version.pk]))
        if len(versions) > 1:
            ids = ",".join(str(v.pk) for v in versions[:2])
            pages.append(reverse("compare_takes", args=[slug]) + f"?versions={ids}")
        for take in Take.objects.filter(project=project)[:2]:
            pages.append(reverse("take_detail", args=[slug, take.pk]))
        for url in pages:
            check(client, "get", url)

    # A verdict through the queue reaches the stats at once (tasks run in-process here).
    project = Project.objects.get(slug="neon-market")
    take = Take.objects.filter(project=project, current_verdict="").first()
    before = client.get(reverse("api-v1:project_stats", args=["neon-market"])).json()
    check(
        client,
        "post",
        reverse("review_verdict", args=["neon-market", take.pk]),
        expect=302,
        data={"verdict": "accept"},
    )
    after = client.get(reverse("api-v1:project_stats", args=["neon-market"])).json()
    if (after["reviewed"], after["accepted"]) != (before["reviewed"] + 1, before["accepted"] + 1):
        failures.append(
            f"stats did not follow the verdict: {before['accepted']} → {after['accepted']}"
        )
    for failure in failures:
        print(failure)
    print(f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(str(pathlib.Path(sys.argv[1]))))
