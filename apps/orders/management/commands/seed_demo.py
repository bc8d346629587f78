import time
import unicodedata
from collections.abc import Sequence

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count, Max, Q
from django.utils.translation import gettext as _

from apps.exceptions.models import ACTIVE_STATUSES, OrderException
from apps.formdesigner.demo import demo_order_form_publish
from apps.orders import demo
from apps.rules.services import scan


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
        # Exceptions above this id are the ones this seed raised, while loading or by the scan.
        raised_after = OrderException.objects.aggregate(last=Max("pk"))["last"] or 0
        users = demo.demo_users_create()
        demo.demo_leads_set()
        form_version = demo_order_form_publish()
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
        if form_version is not None:
            self.stdout.write(f"Order form: version {form_version} published (invoice title, buyer's note).")
        self.stdout.write("Statuses: " + ", ".join(f"{status} {n}" for status, n in sorted(summary.statuses.items())))
        self.stdout.write("\nInjected imperfections (orders each rule should flag):")
        for code in demo.RULE_CODES:
            detail = ", ".join(f"{variant} {n}" for (c, variant), n in sorted(summary.variants.items()) if c == code)
            self.stdout.write(f"  {code:<25} {summary.injected[code]:>5}   {detail}")
        self.stdout.write("  MISSING_ORDER                 -   raised by reconciliations, not by stored orders")
        self.stdout.write(self.style.SUCCESS(f"\nDemo data loaded in {elapsed:.1f} s."))

        self._scan(raised_after=raised_after)

    def _scan(self, *, raised_after: int) -> None:
        """Scan every rule now and print what this seed found, per rule.

        Loading already detected the new orders' exceptions, so the scan itself mostly finds
        them open; they count as new all the same, since this seed raised them.
        """
        started = time.perf_counter()
        report = scan()
        counts = {
            row["rule__code"]: row
            for row in OrderException.objects.filter(rule__code__in=[o.code for o in report.outcomes])
            .values("rule__code")
            .annotate(
                new=Count("pk", filter=Q(pk__gt=raised_after)),
                again=Count("pk", filter=Q(pk__lte=raised_after, status__in=ACTIVE_STATUSES)),
            )
        }
        self.stdout.write(
            "\n"
            + _(
                "Exceptions found in %(orders)d orders by %(rules)d rules "
                "(new: raised by this seed; again: open before it):"
            )
            % {"orders": report.orders, "rules": len(report.outcomes)}
        )
        rows = []
        for outcome in sorted(report.outcomes, key=lambda o: o.code):
            found = counts.get(outcome.code, {})
            rows.append(
                [
                    outcome.code,
                    str(outcome.matched),
                    str(found.get("new", 0)),
                    str(found.get("again", 0)),
                    str(outcome.auto_resolved),
                    f"{outcome.seconds:.2f}",
                    _("ERROR %(error)s") % {"error": outcome.error} if outcome.error else "",
                ]
            )
        header = [_("rule"), _("matched"), _("new"), _("again"), _("cleared"), _("seconds"), ""]
        for line in aligned_table(header, rows, right=(1, 2, 3, 4, 5)):
            self.stdout.write("  " + line)
        self.stdout.write(_("Scanned in %(seconds).2f s.") % {"seconds": time.perf_counter() - started})

    def _logins(self, users: list[tuple[demo.DemoUser, bool]]) -> None:
        self.stdout.write(
            self.style.WARNING(
                "\n"
                + _(
                    "Demo logins. The password %(password)s is for the demo only: "
                    "change or remove these accounts before real use."
                )
                % {"password": repr(demo.DEMO_PASSWORD)}
            )
        )
        rows = []
        for spec, created in users:
            password = (
                demo.DEMO_PASSWORD if created else _("%(password)s (if unchanged)") % {"password": demo.DEMO_PASSWORD}
            )
            rows.append(
                [
                    spec.username,
                    password,
                    spec.role,
                    spec.department or "-",
                    _("superuser") if spec.is_superuser else "",
                ]
            )
        header = [_("username"), _("password"), _("role"), _("department"), ""]
        for line in aligned_table(header, rows):
            self.stdout.write("  " + line)
        token = demo.demo_integration_token()
        if token:
            self.stdout.write(
                "\n"
                + _("API token of %(username)s: %(token)s")
                % {"username": repr(demo.INTEGRATION_USERNAME), "token": token}
            )


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(char) in ("W", "F") else 1 for char in text)


def aligned_table(header: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> list[str]:
    """Lines of a table whose columns are as wide as their widest cell plus two spaces, whatever
    the lengths (a re-run's "orderguard (if unchanged)", a translated header); ``right`` lists
    the columns aligned right (numbers). Trailing blanks are dropped."""
    table = [list(header), *[list(row) for row in rows]]
    widths = [max(display_width(row[column]) for row in table) for column in range(len(header))]
    lines = []
    for row in table:
        cells = []
        for column, cell in enumerate(row):
            pad = " " * (widths[column] - display_width(cell))
            cells.append(pad + cell if column in right else cell + pad)
        lines.append("  ".join(cells).rstrip())
    return lines
