import time

from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError

from apps.orders import demo


class Command(BaseCommand):
    help = (
        "Load demo users, a product catalogue with stock and a month of orders whose known "
        "imperfections raise every built-in exception rule."
    )

    def add_arguments(self, parser):
        parser.add_argument("--orders", type=int, default=5000, help="Number of orders (default 5000).")
        parser.add_argument("--days", type=int, default=30, help="Orders are placed over this many days (default 30).")
        parser.add_argument(
            "--seed", type=int, default=demo.DEFAULT_SEED, help="Random seed; the same seed gives the same orders."
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when any order exists (so that a second start does not seed twice).",
        )

    def handle(self, *args, orders: int, days: int, seed: int, if_empty: bool, **options):
        if orders < 0:
            raise CommandError("--orders must not be negative.")
        if days < 1:
            raise CommandError("--days must be at least 1.")
        if if_empty and demo.demo_is_seeded():
            self.stdout.write("Orders exist: already seeded, nothing loaded.")
            self._logins([(spec, False) for spec in demo.DEMO_USERS])
            return

        started = time.monotonic()
        users = demo.demo_users_create()
        catalogue = demo.demo_catalogue_create(seed=seed)
        summary = demo.demo_orders_create(count=orders, days=days, seed=seed, catalogue=catalogue)
        elapsed = time.monotonic() - started

        self._logins(users)
        stocked = sum(1 for p in catalogue.products if p.available is not None)
        self.stdout.write(
            f"\nCatalogue: {len(catalogue.products)} products, {stocked} with a stock record, "
            f"{len(catalogue.scarce)} of them scarce."
        )
        self.stdout.write(
            f"Orders: {summary.orders_created} created over {days} days (seed {seed}), "
            f"{summary.orders_existing} already present and skipped; {summary.lines} lines, "
            f"{summary.payments} payments, {summary.shipments} shipments, {summary.events} tracking events."
        )
        self.stdout.write("Statuses: " + ", ".join(f"{status} {n}" for status, n in sorted(summary.statuses.items())))
        self.stdout.write("\nInjected imperfections (orders each rule should flag):")
        for code in demo.RULE_CODES:
            detail = ", ".join(f"{variant} {n}" for (c, variant), n in sorted(summary.variants.items()) if c == code)
            self.stdout.write(f"  {code:<25} {summary.injected[code]:>5}   {detail}")
        self.stdout.write("  MISSING_ORDER                 -   raised by reconciliations, not by stored orders")
        self.stdout.write(self.style.SUCCESS(f"\nDemo data loaded in {elapsed:.1f} s."))

        # The exception scan arrives with the rules app; once it exists, seeded orders get their
        # exceptions right away instead of at the next scheduled scan.
        if "scan_exceptions" in get_commands():
            call_command("scan_exceptions", stdout=self.stdout, stderr=self.stderr)

    def _logins(self, users: list[tuple[demo.DemoUser, bool]]) -> None:
        self.stdout.write(
            self.style.WARNING(
                f"\nDemo logins. The password {demo.DEMO_PASSWORD!r} is for the demo only: "
                "change or remove these accounts before real use."
            )
        )
        self.stdout.write(f"  {'username':<16}{'password':<24}{'role':<10}department")
        for spec, created in users:
            password = demo.DEMO_PASSWORD if created else f"{demo.DEMO_PASSWORD} (if unchanged)"
            department = spec.department or "-"
            note = "  superuser" if spec.is_superuser else ""
            self.stdout.write(f"  {spec.username:<16}{password:<24}{spec.role:<10}{department}{note}")
        token = demo.demo_integration_token()
        if token:
            self.stdout.write(f"\nAPI token of {demo.INTEGRATION_USERNAME!r}: {token}")
