import json

from django.core.management.base import BaseCommand

from apps.configbundle.services import bundle_export


class Command(BaseCommand):
    help = "Write the whole configuration (rules, grading, forms, workflows, calendars, ladders) as one JSON bundle."

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", help="file to write (default: standard output)")

    def handle(self, *args, path=None, **options):
        text = json.dumps(bundle_export(), ensure_ascii=False, indent=2, sort_keys=True)
        if path:
            with open(path, "w", encoding="utf-8") as out:
                out.write(text + "\n")
        else:
            self.stdout.write(text)
