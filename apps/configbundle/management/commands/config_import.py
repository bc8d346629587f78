import json

from django.core.management.base import BaseCommand, CommandError

from apps.configbundle.services import BundleError, bundle_import


class Command(BaseCommand):
    help = "Apply a configuration bundle all or nothing; --dry-run shows what would change and stores nothing."

    def add_arguments(self, parser):
        parser.add_argument("path", help="the bundle (from config_export or GET /api/v1/config/export/)")
        parser.add_argument("--dry-run", action="store_true", help="show what would change; store nothing")

    def handle(self, *args, path, dry_run=False, **options):
        try:
            with open(path, encoding="utf-8") as source:
                bundle = json.load(source)
        except (OSError, ValueError) as error:
            raise CommandError(f"{path}: {error}") from None
        try:
            report = bundle_import(bundle=bundle, actor=None, dry_run=dry_run)
        except BundleError as error:
            lines = [f"  {place}: {' '.join(messages)}" for place, messages in error.as_fields().items()]
            raise CommandError("\n".join([str(error.message), *lines])) from None
        for change in report.changes:
            parts = f" ({', '.join(change.parts)})" if change.parts else ""
            self.stdout.write(f"{change.change:8} {change.section}/{change.key}{parts}")
        verb = "would change" if dry_run else "changed"
        self.stdout.write(f"{len(report.changes)} items {verb}" + (" (dry run: nothing stored)" if dry_run else ""))
