from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from generations.models import Project
from generations.prompt_files import MAX_FILE_BYTES, SUFFIXES, LibraryError
from generations.services.prompt_library import prompt_library_import


class Command(BaseCommand):
    help = (
        "Read a prompt library (the YAML files of prompts_export) from DIR into a project: "
        "creates the shots and versions it lacks, edits nothing; all or nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("directory")
        parser.add_argument(
            "--dry-run", action="store_true", help="check and report, write nothing"
        )

    def handle(self, slug, directory, dry_run=False, **options):
        project = Project.objects.filter(slug=slug).first()
        if project is None:
            raise CommandError(f"No project {slug!r}.")
        source = Path(directory)
        if not source.is_dir():
            raise CommandError(f"{source} is not a directory.")
        files = {}
        for path in sorted(source.iterdir()):
            if path.is_file() and path.suffix.lower() in SUFFIXES:
                if path.stat().st_size > MAX_FILE_BYTES:
                    raise CommandError(f"{path.name}: over the {MAX_FILE_BYTES:,}-byte cap.")
                files[path.name] = path.read_bytes()
        try:
            report = prompt_library_import(project=project, files=files, dry_run=dry_run)
        except LibraryError as exc:
            for problem in exc.problems:
                self.stderr.write(problem)
            raise CommandError(f"{len(exc.problems)} problem(s); nothing was imported.") from None
        for name, numbers in sorted(report.versions_created.items()):
            listed = ", ".join(f"v{n}" for n in numbers)
            self.stdout.write(f"{name}: {listed}")
        verb = "Would create" if dry_run else "Created"
        self.stdout.write(
            f"{verb} {len(report.shots_created)} shot(s) and {report.created} version(s); "
            f"{report.unchanged} version(s) already stored."
        )
