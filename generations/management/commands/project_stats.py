import json

from django.core.management.base import BaseCommand, CommandError

from generations.models import Project
from generations.selectors.stats import project_stats, rollup_state
from generations.services.rollups import rollups_refresh


class Command(BaseCommand):
    help = "Print a project's statistics (SPEC §4) as JSON, read from its rollups."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument(
            "--fresh", action="store_true", help="Refresh the rollups first, in this process."
        )

    def handle(self, *args, slug, fresh, **options):
        project = Project.objects.filter(slug=slug).first()
        if project is None:
            raise CommandError(f"No project {slug!r}.")
        state = rollup_state(project=project)
        # Never computed (no worker ran yet): compute here rather than print zeros.
        if fresh or state is None or state.computed_at is None:
            rollups_refresh(project_id=project.pk)
        # Only the JSON goes to stdout, so the output can be piped into jq.
        self.stdout.write(json.dumps(project_stats(project=project), indent=2))
