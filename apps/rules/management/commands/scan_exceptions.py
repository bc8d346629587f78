import time

from django.core.management.base import BaseCommand

from apps.rules.services import scan


class Command(BaseCommand):
    help = "Run a full set-based scan of the active rules now and print per-rule counts and times."

    def add_arguments(self, parser):
        parser.add_argument("--rule", action="append", dest="codes", help="only this rule code (repeatable)")
        parser.add_argument("--time-based", action="store_true", help="only the time-based rules")

    def handle(self, *args, codes=None, time_based=False, **options):
        started = time.perf_counter()
        report = scan(codes=codes, time_based_only=time_based)
        self.stdout.write(f"{report.orders} orders, {len(report.outcomes)} rules")
        self.stdout.write(f"{'rule':<26}{'matched':>9}{'new':>7}{'again':>7}{'cleared':>9}{'seconds':>9}")
        for outcome in report.outcomes:
            line = (
                f"{outcome.code:<26}{outcome.matched:>9}{outcome.created:>7}{outcome.redetected:>7}"
                f"{outcome.auto_resolved:>9}{outcome.seconds:>9.2f}"
            )
            self.stdout.write(line + (f"  ERROR {outcome.error}" if outcome.error else ""))
        self.stdout.write(f"total {time.perf_counter() - started:.2f} s")
