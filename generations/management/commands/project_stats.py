import json

from django.core.management.base import BaseCommand, CommandError

from generations.models import Project
from generations.selectors.stats import (
    STATS_DIMENSIONS,
    StatsQueryError,
    project_stats,
    rollup_state,
    stats_dimension_page,
    stats_top,
)
from generations.services.rollups import rollups_refresh


class Command(BaseCommand):
    help = (
        "Print a project's statistics (SPEC §4) as JSON, read from its rollups: the summary, "
        "with --top N the first rows of every table, or with --dimension one page of a table."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument(
            "--fresh", action="store_true", help="Refresh the rollups first, in this process."
        )
        parser.add_argument(
            "--top", type=int, default=0, help="Add the first N rows of every table to the summary."
        )
        parser.add_argument("--dimension", choices=STATS_DIMENSIONS, help="Print one table page.")
        parser.add_argument("--sort", help="e.g. -takes, -spend, name (with --dimension)")
        parser.add_argument("--q", help="search (with --dimension)")
        parser.add_argument("--cursor", help="next_cursor of the previous page")
        parser.add_argument("--limit", type=int, default=50)

    def handle(self, *args, slug, fresh, top, dimension, sort, q, cursor, limit, **options):
        project = Project.objects.filter(slug=slug).first()
        if project is None:
            raise CommandError(f"No project {slug!r}.")
        state = rollup_state(project=project)
        # Never computed (no worker ran yet): compute here rather than print zeros.
        if fresh or state is None or state.computed_at is None:
            rollups_refresh(project_id=project.pk)
        if dimension:
            try:
                out = stats_dimension_page(
                    project=project, dimension=dimension, sort=sort, q=q, cursor=cursor,
                    limit=limit,
                )  # fmt: skip
            except StatsQueryError as exc:
                raise CommandError(str(exc)) from exc
        else:
            out = project_stats(project=project)
            if top > 0:
                out["top"] = {}
                for name in STATS_DIMENSIONS:
                    page = stats_top(project=project, dimension=name, limit=min(top, 200))
                    out["top"][name] = {"results": page["results"], "more": page["more"]}
        # Only the JSON goes to stdout, so the output can be piped into jq.
        self.stdout.write(json.dumps(out, indent=2))
