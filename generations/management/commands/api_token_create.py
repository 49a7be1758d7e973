from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from generations.services.tokens import api_token_create


class Command(BaseCommand):
    help = "Create a personal API token for a user and print its secret (shown only once)."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--name", default="cli")

    def handle(self, *args, email, name, **options):
        User = get_user_model()
        user = (
            User.objects.filter(email__iexact=email).first()
            or User.objects.filter(username__iexact=email).first()
        )
        if user is None:
            raise CommandError(f"No user {email!r}.")
        _token, secret = api_token_create(user=user, name=name)
        self.stdout.write(secret)
