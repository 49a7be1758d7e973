import sys

from django.core.management.base import BaseCommand, CommandError

from generations.models import Project
from generations.selectors.selects import FORMATS, selects_file, selects_timeline


class Command(BaseCommand):
    help = "Write a project's selects (accepted takes) as an edit timeline: otio, edl, xml, fcpxml."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--format", choices=list(FORMATS), default="otio")
        parser.add_argument("-o", "--output", help="file to write (default: standard output)")
        parser.add_argument("--shot", help="only this shot (by name, e.g. opening-street)")
        parser.add_argument(
            "--base-url",
            default="http://localhost:8000",
            help="where this instance is served: kept as each clip's media_url in .otio metadata "
            "(the files reference media by relative file name, see the selects media ZIP)",
        )

    def handle(self, slug, format, output=None, shot=None, base_url=None, **options):
        project = Project.objects.filter(slug=slug).first()
        if project is None:
            raise CommandError(f"No project {slug!r}.")
        shot_obj = None
        if shot is not None:
            shot_obj = project.shots.filter(name=shot).first()
            if shot_obj is None:
                raise CommandError(f"No shot {shot!r} in {slug}.")
        timeline = selects_timeline(project=project, shot=shot_obj, base_url=base_url)
        if not timeline.find_clips():
            raise CommandError("No accepted takes: nothing to export.")
        body = selects_file(timeline=timeline, format=format)
        if output:
            # Bytes, not text mode: the file is exactly what the download view sends.
            with open(output, "wb") as f:
                f.write(body.encode("utf-8"))
        else:
            sys.stdout.write(body)
