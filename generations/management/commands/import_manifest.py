import json
import sys
import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from generations.services.manifest import manifest_import


class Command(BaseCommand):
    help = (
        "Import a generation manifest (JSONL, SPEC §3). Idempotent: re-importing changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="the .jsonl file, or - for standard input")
        parser.add_argument(
            "--owner", help="e-mail of a user to make owner of the projects it touches"
        )
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, path, owner=None, json=False, **options):
        owner_user = None
        if owner:
            User = get_user_model()
            owner_user = User.objects.filter(username__iexact=owner).first() or (
                User.objects.filter(email__iexact=owner).first()
            )
            if owner_user is None:
                raise CommandError(f"No user {owner!r}. Create it first (createsuperuser).")
        # Bytes, not text: the parser decodes line by line, so one non-UTF-8 line is reported
        # and the rest of the file still imports.
        try:
            handle = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}") from None
        with handle:
            total = None
            if path != "-":
                total = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
                handle.seek(0)
            # The bar goes to stderr and only on a terminal: scripts get a clean stdout.
            bar = tqdm(total=total, unit="line", disable=not sys.stderr.isatty(), file=sys.stderr)
            started = time.perf_counter()
            report = manifest_import(lines=handle, owner=owner_user, progress=bar.update)
            elapsed = report.seconds = time.perf_counter() - started
            bar.close()
        if json:
            self.stdout.write(_json_report(report, elapsed))
        else:
            self._print(report, elapsed)
        if report.errors and report.takes_created == 0 and report.takes_existing == 0:
            raise CommandError("No line could be imported.")

    def _print(self, report, elapsed):
        rate = report.lines / elapsed if elapsed else 0
        self.stdout.write(
            f"{report.lines} lines in {elapsed:.2f}s ({rate:,.0f} lines/s): "
            f"{report.takes_created} takes created, {report.takes_existing} already there, "
            f"{report.reviews_created} reviews, {report.notes_created} notes."
        )
        if report.projects_created:
            self.stdout.write(f"New projects: {', '.join(report.projects_created)}")
        if report.users_created:
            self.stdout.write(f"New reviewers (no password): {', '.join(report.users_created)}")
        if report.tags_created:
            self.stdout.write(f"New failure tags (imported): {', '.join(report.tags_created)}")
        for warning in report.warnings:
            self.stderr.write(f"warning: {warning}")
        for error in report.errors:
            self.stderr.write(f"line {error.line}: {error.reason}")
        if report.errors:
            self.stderr.write(f"{len(report.errors)} line(s) skipped; every other line imported.")


def _json_report(report, elapsed) -> str:
    return json.dumps(report.as_dict())
