"""Back-test: every built-in rule replayed over the last 30 days of demo data, against a full scan.

Migrates a throw-away database (SQLite in a temp dir, or a new database on the PostgreSQL server
that DATABASE_URL names), loads the demo data (``seed_demo``: N orders over D days, 5,000 over 30
by default, with the imperfections of the exception catalogue), then measures in a fresh child
process, all at one "now":
  1. the baseline: a full ``scan()`` of the same orders (every rule's compiled query over all
     orders, and the exceptions sync), per rule from its report (PostgreSQL: after ANALYZE);
  2. "Test now" of each rule (the count and the ten newest matches; SPEC §10.3: within a second);
  3. the back-test of each rule over the last D days (``rule_backtest``, with the dismissed
     count), its seconds and its ratio to the rule's share of the scan; target < 10 s each;
  4. the back-test's answer checked against the scan: per rule, the orders it counts are the
     orders the scan left with an active exception, placed in the window.

    .venv/bin/python bench/backtest.py [--orders 5000] [--days 30]
    DATABASE_URL=postgres://... .venv/bin/python bench/backtest.py     # on PostgreSQL
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import PYTHON, ROOT, fresh_database, is_postgres, manage

TARGET_SECONDS = 10.0
TEST_TARGET_SECONDS = 1.0


def measure(days: int) -> dict:
    """The child: set up Django on the prepared database and time scan, test and back-test."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from collections import Counter
    from zoneinfo import ZoneInfo

    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from apps.exceptions.models import ACTIVE_STATUSES, OrderException
    from apps.orders.models import Order
    from apps.rules import backtest, services
    from apps.rules.models import ExceptionRule

    if connection.vendor == "postgresql":
        # Statistics, as a production database has them (autovacuum); the seed just wrote every row.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    now = timezone.now()
    zone = ZoneInfo(settings.TIME_ZONE)
    orders = Order.objects.count()
    started = time.perf_counter()
    report = services.scan(now=now)
    scan_seconds = time.perf_counter() - started
    per_rule_scan = {outcome.code: outcome.seconds for outcome in report.outcomes}
    print(f"baseline: full scan of {orders:,} orders, {len(report.outcomes)} rules: {scan_seconds:.2f} s", flush=True)

    rules = list(ExceptionRule.objects.filter(is_builtin=True, source=ExceptionRule.Source.CONDITION).order_by("code"))
    first, last = backtest.backtest_window(days=days, now=now)
    rows = []
    for rule in rules:
        started = time.perf_counter()
        tested = backtest.rule_test(condition=rule.condition, params=rule.params, now=now)
        test_seconds = time.perf_counter() - started
        started = time.perf_counter()
        result = backtest.rule_backtest(condition=rule.condition, params=rule.params, days=days, rule=rule, now=now)
        seconds = time.perf_counter() - started
        placed = OrderException.objects.filter(rule=rule, status__in=ACTIVE_STATUSES, order__isnull=False).values_list(
            "order__placed_at", flat=True
        )
        expected = Counter(
            day.isoformat() for day in (moment.astimezone(zone).date() for moment in placed) if first <= day <= last
        )
        counted = Counter({row["date"]: row["count"] for row in result["days"] if row["count"]})
        rows.append(
            {
                "code": rule.code,
                "test_seconds": test_seconds,
                "matches_now": tested["count"],
                "seconds": seconds,
                "scan_seconds": per_rule_scan.get(rule.code, 0.0),
                "total": result["total"],
                "dismissed": result["dismissed"],
                "agrees": counted == expected,
            }
        )
        print(
            f"  {rule.code:<25} test {test_seconds:6.3f} s ({tested['count']:>5} now)   "
            f"back-test {seconds:6.3f} s ({result['total']:>5} in {days} d)   "
            f"agrees with the scan: {counted == expected}",
            flush=True,
        )
    return {"orders": orders, "days": days, "scan_seconds": scan_seconds, "rules": rows}


def run_child(args: list[str], env: dict[str, str]) -> dict:
    process = subprocess.Popen(
        [PYTHON, str(Path(__file__).resolve()), "--child", *args],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings", "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        text=True,
    )
    last = ""
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("RESULT "):
            last = line.removeprefix("RESULT ")
            continue
        print(line, end="", flush=True)
    if process.wait():
        raise SystemExit(f"the measuring process failed with exit code {process.returncode}")
    return json.loads(last)


def mark(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print("RESULT " + json.dumps(measure(args.days)), flush=True)
        return

    with tempfile.TemporaryDirectory(prefix="og-bench-backtest-") as tmp, fresh_database(Path(tmp)) as env:
        vendor = "PostgreSQL" if is_postgres(env) else "SQLite (WAL)"
        print(f"database: {vendor}; {args.orders:,} demo orders over {args.days} days", flush=True)
        started = time.perf_counter()
        manage(env, "migrate", "--noinput")
        manage(env, "seed_demo", "--orders", str(args.orders), "--days", str(args.days), "--seed", str(args.seed))
        print(f"migrated and seeded in {time.perf_counter() - started:.1f} s (not measured)", flush=True)
        result = run_child(["--days", str(args.days)], env)

    rules = result["rules"]
    scan_seconds = result["scan_seconds"]
    print(f"\nsummary ({vendor}, {result['orders']:,} orders, back-tests over {result['days']} days)")
    print(f"  baseline, full scan of all rules: {scan_seconds:8.3f} s")
    print(f"  {'rule':<25} {'back-test':>10} {'scan (rule)':>12} {'ratio':>8} {'test now':>10}")
    for row in rules:
        ratio = row["seconds"] / row["scan_seconds"] if row["scan_seconds"] else float("nan")
        print(
            f"  {row['code']:<25} {row['seconds']:9.3f}s {row['scan_seconds']:11.3f}s {ratio:7.2f}× "
            f"{row['test_seconds']:9.3f}s"
        )
    slowest = max(row["seconds"] for row in rules)
    slowest_test = max(row["test_seconds"] for row in rules)
    total = sum(row["seconds"] for row in rules)
    print(f"  all back-tests together: {total:.3f} s = {total / scan_seconds:.2f}× the full scan")
    print(f"  slowest back-test < {TARGET_SECONDS:.0f} s:   {slowest:8.3f} s   {mark(slowest < TARGET_SECONDS)}")
    print(f"  slowest test now < {TEST_TARGET_SECONDS:.0f} s:    {slowest_test:8.3f} s   {mark(slowest_test < 1)}")
    agree = all(row["agrees"] for row in rules)
    print(f"  every back-test agrees with the scan:    {mark(agree)}")


if __name__ == "__main__":
    main()
