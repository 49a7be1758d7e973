from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from generations.models import Project
from generations.services.projects import ServiceError
from generations.services.tokens import api_token_create


class Command(BaseCommand):
    help = "Create a personal API token for a user and print its secret (shown only once)."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--name", default="cli")
        parser.add_argument("--read-only", action="store_true", help="reads and exports only")
        parser.add_argument(
            "--project",
            action="append",
            default=[],
            metavar="SLUG",
            help="limit the token to this project (repeatable; default: all the user's)",
        )

    def handle(self, *args, email, name, read_only, project, **options):
        User = get_user_model()
        user = (
            User.objects.filter(email__iexact=email).first()
            or User.objects.filter(username__iexact=email).first()
        )
        if user is None:
            raise CommandError(f"No user {email!r}.")
        projects = list(Project.objects.filter(slug__in=project))
        missing = set(project) - {p.slug for p in projects}
        if missing:
            raise CommandError(f"No project {', '.join(sorted(missing))}.")
        try:
            _token, secret = api_token_create(
                user=user, name=name, read_only=read_only, projects=projects
            )
        except ServiceError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(secret)
