from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from generations.models import Project
from generations.selectors.prompt_library import prompt_library_files


class Command(BaseCommand):
    help = (
        "Write a project's prompt library to DIR: one YAML file per shot with its lineage "
        "(versions, parents, prompts, parameters, change notes), stable for git diffs."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("directory")

    def handle(self, slug, directory, **options):
        project = Project.objects.filter(slug=slug).first()
        if project is None:
            raise CommandError(f"No project {slug!r}.")
        target = Path(directory)
        if target.exists() and not target.is_dir():
            raise CommandError(f"{target} is not a directory.")
        target.mkdir(parents=True, exist_ok=True)
        files = prompt_library_files(project=project)
        for name, text in files.items():
            # newline="\n": the same bytes on every platform.
            (target / name).write_text(text, encoding="utf-8", newline="\n")
        self.stdout.write(f"Wrote {len(files)} shot file(s) to {target}.")
