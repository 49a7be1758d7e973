import time

from django.core.management.base import BaseCommand, CommandError

from generations.models import Project
from generations.services.rollups import rollups_rebuild, rollups_refresh


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
        rebuild = rollups_refresh if incremental else rollups_rebuild
        for project in projects:
            started = time.perf_counter()
            rows = rebuild(project_id=project.pk)
            elapsed = (time.perf_counter() - started) * 1000
            self.stdout.write(f"{project.slug}: {rows} rows written in {elapsed:.1f} ms")
