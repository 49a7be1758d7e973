import time

from django.core.management.base import BaseCommand, CommandError

from generations.models import Project
from generations.services.rollups import rollups_recompute, rollups_refresh


class Command(BaseCommand):
    help = "Rebuild the analytics rollups of one project, or of all projects, in this process."

    def add_arguments(self, parser):
        parser.add_argument("slug", nargs="?")
        parser.add_argument(
            "--incremental",
            action="store_true",
            help="Write only the rows that changed instead of deleting and re-inserting all.",
        )

    def handle(self, *args, slug=None, incremental=False, **options):
        projects = Project.objects.order_by("slug")
        if slug:
            projects = projects.filter(slug=slug)
            if not projects.exists():
                raise CommandError(f"No project {slug!r}.")
        for project in projects:
            started = time.perf_counter()
            if incremental:
                rows = rollups_refresh(project_id=project.pk)
            else:
                rows = rollups_recompute(project_id=project.pk, write_all=True)
            elapsed = (time.perf_counter() - started) * 1000
            self.stdout.write(f"{project.slug}: {rows} rows written in {elapsed:.1f} ms")
