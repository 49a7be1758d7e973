import sys

from django.core.management.base import BaseCommand, CommandError

from generations.manifest.export import manifest_lines
from generations.models import Project


class Command(BaseCommand):
    help = "Write a project's takes and reviews as a generation manifest (JSONL, SPEC §3)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("-o", "--output", help="file to write (default: standard output)")

    def handle(self, slug, output=None, **options):
        project = Project.objects.filter(slug=slug).first()
        if project is None:
            raise CommandError(f"No project {slug!r}.")
        out = open(output, "w", encoding="utf-8") if output else sys.stdout  # noqa: SIM115
        try:
            for line in manifest_lines(project=project):
                out.write(line + "\n")
        finally:
            if output:
                out.close()
