from django.core.management.base import BaseCommand, CommandError

from apps.accounts.services import api_token_issue
from apps.common.errors import DomainError


class Command(BaseCommand):
    help = "Print the API token of USERNAME (created on first use)."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username: str, **options):
        try:
            token = api_token_issue(username=username)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(token.key)
