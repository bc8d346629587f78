"""The measuring process of bench/scan.py, run as a child against the generated database.

    python bench/_scan_measure.py --now ISO --orders N --baseline-sample K --single 10000 [--sync]

Phases, each printed as it ends; peak RSS (VmHWM) is taken per phase and reset between them:
  1. compiled scan: each active condition rule's compiled query, fully iterated, as ``scan()``
     runs it (``_matching_ids`` inside a transaction), without the exceptions sync;
  2. PostgreSQL: hand-written SQL of three rules, timed the same way (every id fetched);
  3. row-by-row baseline: ``contexts_load`` in chunks + ``evaluate`` of every rule, on a sample,
     checked against the compiled matches restricted to the sample;
  4. single order: ``contexts_load`` of one id + every rule evaluated, p50 / p99;
  5. ``detect_orders`` of one order (the real per-event path, with the sync) and, with --sync,
     ``scan()`` with the sync.
The last line is a JSON record for scan.py's summary.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.db import connection, transaction  # noqa: E402

from apps.orders.models import Order  # noqa: E402
from apps.rules import services  # noqa: E402
from apps.rules.compiler import condition_q  # noqa: E402
from apps.rules.context import contexts_load  # noqa: E402
from apps.rules.evaluator import evaluate  # noqa: E402
from apps.rules.fields import Env  # noqa: E402

BASELINE_CHUNK = 1000
SILENT = set(services.SILENT_STATUSES)

# The same logic as the built-in rules with their default parameters, written by hand for
# PostgreSQL: the physical limit the compiled queries are held to (≤ 1.5×).
HAND_SQL = {
    "PAYMENT_STATUS_MISMATCH": """
        SELECT o.id FROM orders_order o
        LEFT JOIN (SELECT order_id, sum(amount) AS paid FROM orders_payment
                   WHERE status = 'succeeded' GROUP BY order_id) p ON p.order_id = o.id
        WHERE o.status IN ('paid', 'reviewed', 'shipped', 'delivered') AND coalesce(p.paid, 0) < o.total_amount""",
    "STOCK_SHORTAGE": """
        SELECT o.id FROM orders_order o
        WHERE o.status IN ('pending_payment', 'paid', 'reviewed')
          AND EXISTS (SELECT 1 FROM orders_orderline l JOIN orders_stocklevel s ON s.sku = l.sku
                      WHERE l.order_id = o.id AND l.quantity > s.on_hand - s.reserved)""",
    "DUPLICATE_ORDER": """
        SELECT o.id FROM orders_order o
        WHERE o.status NOT IN ('cancelled', 'refunded') AND o.customer_phone <> ''
          AND EXISTS (SELECT 1 FROM orders_order e
                      WHERE e.customer_phone = o.customer_phone AND e.line_signature = o.line_signature
                        AND e.total_amount = o.total_amount AND e.placed_at < o.placed_at
                        AND e.placed_at >= o.placed_at - interval '30 minutes'
                        AND e.status <> 'cancelled' AND e.external_id <> o.external_id)""",
}


def peak_rss_mib(reset: bool = False) -> float:
    value = float("nan")
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            value = int(line.split()[1]) / 1024
    if reset:
        gc.collect()
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    return value


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def iterate_sql(sql: str, params=()) -> list[int]:
    """Run SQL and fetch every id, as the scan (``services._matching_ids``) does."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def explain(sql: str, params=(), analyze: bool = False) -> str:
    with transaction.atomic(), connection.cursor() as cursor:
        if analyze:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        else:
            cursor.execute("EXPLAIN " + sql, params)
        return "\n".join("      " + row[0] for row in cursor.fetchall())


def compiled_queryset(active, env: Env):
    return (
        Order.objects.exclude(status__in=services.SILENT_STATUSES)
        .filter(condition_q(active.condition, env))
        .order_by()
        .values_list("pk", flat=True)
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--now", required=True)
    parser.add_argument("--orders", type=int, required=True)
    parser.add_argument("--baseline-sample", type=int, default=50_000)
    parser.add_argument("--single", type=int, default=10_000)
    parser.add_argument("--detect", type=int, default=1000)
    parser.add_argument("--sync", action="store_true")
    parser.add_argument("--explain", action="store_true", help="print the plan of every compiled query (PostgreSQL)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    now = datetime.fromisoformat(args.now).astimezone(UTC)
    env = Env(now=now)
    postgres = connection.vendor == "postgresql"
    result: dict = {"vendor": connection.vendor, "orders": args.orders}
    out = print

    rules = [active for active in services.active_rules() if active.rule.code != "MISSING_ORDER"]
    order_count = Order.objects.count()
    max_id = Order.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    result["orders"] = order_count
    out(f"\n[1] compiled scan: {len(rules)} rules over {order_count:,} orders (now = {now.isoformat()})")
    peak_rss_mib(reset=True)
    compiled: dict[str, set[int]] = {}
    times: dict[str, float] = {}
    for active in rules:
        code = active.rule.code
        started = time.perf_counter()
        with transaction.atomic():
            ids = services._matching_ids(Order.objects.all(), active.condition, env)
        times[code] = time.perf_counter() - started
        compiled[code] = set(ids)
        share = len(ids) / order_count if order_count else 0
        out(f"    {code:<24} {times[code]:8.2f} s   {len(ids):>9,} matched ({share:6.2%})")
        if args.explain and postgres:
            sql, params = compiled_queryset(active, env).query.sql_with_params()
            out(explain(sql, params))
    total = sum(times.values())
    union = set().union(*compiled.values())
    out(f"    {'total':<24} {total:8.2f} s   {len(union):>9,} orders with at least one match")
    result["compiled"] = {"seconds": total, "per_rule": times, "matched": {c: len(s) for c, s in compiled.items()}}
    result["rss_scan_mib"] = peak_rss_mib(reset=True)
    out(f"    peak RSS of the measuring process during the scan: {result['rss_scan_mib']:,.0f} MiB")

    if postgres:
        out("\n[2] hand-written SQL (PostgreSQL), fetched as the scan fetches")
        result["hand"] = {}
        by_code = {active.rule.code: active for active in rules}
        for code, sql in HAND_SQL.items():
            started = time.perf_counter()
            ids = iterate_sql(sql)
            seconds = time.perf_counter() - started
            ratio = times[code] / seconds
            same = "same matches" if set(ids) == compiled[code] else f"DIFFERENT matches ({len(ids):,})"
            out(f"    {code:<24} {seconds:8.2f} s   compiled {times[code]:6.2f} s   ratio {ratio:5.2f}×   {same}")
            result["hand"][code] = {"seconds": seconds, "ratio": ratio, "same": set(ids) == compiled[code]}
            if ratio > 1.5 or args.explain:
                compiled_sql, params = compiled_queryset(by_code[code], env).query.sql_with_params()
                out(f"      compiled SQL:\n      {connection.ops.compose_sql(compiled_sql, params)}")
                out("      plan of the compiled query:")
                out(explain(compiled_sql, params))
                out("      plan of the hand-written query:")
                out(explain(sql))

    # --- Row-by-row baseline ------------------------------------------------------------------
    sample_size = order_count if args.baseline_sample <= 0 else min(args.baseline_sample, order_count)
    if sample_size >= order_count:
        sample = list(Order.objects.order_by("pk").values_list("pk", flat=True))
    else:
        sample = sorted(random.Random(args.seed).sample(range(1, max_id + 1), sample_size))
    out(f"\n[3] row-by-row baseline: contexts_load in chunks of {BASELINE_CHUNK} + evaluate, {len(sample):,} orders")
    peak_rss_mib(reset=True)
    matched: dict[str, set[int]] = {active.rule.code: set() for active in rules}
    per_rule = dict.fromkeys(matched, 0.0)
    load_seconds = evaluated = 0
    clock = time.perf_counter
    started = clock()
    for start in range(0, len(sample), BASELINE_CHUNK):
        chunk = sample[start : start + BASELINE_CHUNK]
        loading = clock()
        contexts = contexts_load(order_ids=chunk, now=now)
        load_seconds += clock() - loading
        for pk, ctx in contexts.items():
            evaluated += 1
            if ctx.order.status in SILENT:
                continue
            for active in rules:
                began = clock()
                if evaluate(active.condition, ctx):
                    matched[active.rule.code].add(pk)
                per_rule[active.rule.code] += clock() - began
    baseline = clock() - started
    per_order = baseline / max(evaluated, 1)
    extrapolated = per_order * order_count
    result["rss_baseline_mib"] = peak_rss_mib(reset=True)
    out(
        f"    measured: {baseline:,.1f} s for {evaluated:,} orders ({per_order * 1e6:,.0f} µs/order: "
        f"loading {load_seconds / max(evaluated, 1) * 1e6:,.0f} µs, evaluating "
        f"{(baseline - load_seconds) / max(evaluated, 1) * 1e6:,.0f} µs)"
    )
    slowest = sorted(per_rule.items(), key=lambda item: -item[1])[:3]
    out("    slowest predicates: " + ", ".join(f"{c} {s / max(evaluated, 1) * 1e6:,.0f} µs/order" for c, s in slowest))
    label = "measured on all orders" if evaluated >= order_count else "extrapolated linearly"
    out(f"    baseline for {order_count:,} orders ({label}): {extrapolated:,.0f} s")
    out(f"    compiled scan is {extrapolated / total:,.1f}× faster than the row-by-row baseline")
    result["baseline"] = {
        "sample": evaluated,
        "seconds": baseline,
        "per_order_us": per_order * 1e6,
        "extrapolated_seconds": extrapolated,
        "ratio": extrapolated / total,
    }

    out("    agreement on the sample (compiled matches ∩ sample vs. Python predicate):")
    sample_set = set(sample)
    disagreements = {}
    for code, found in matched.items():
        expected = compiled[code] & sample_set
        if expected == found:
            out(f"      {code:<24} OK ({len(found):,} matched)")
            continue
        only_sql, only_python = sorted(expected - found), sorted(found - expected)
        disagreements[code] = {"only_compiled": only_sql[:20], "only_python": only_python[:20]}
        out(
            f"      {code:<24} DIFFERENT: {len(only_sql):,} only in the compiled query {only_sql[:5]}, "
            f"{len(only_python):,} only in Python {only_python[:5]}"
        )
    result["disagreements"] = disagreements

    # --- Single order ---------------------------------------------------------------------------
    picks = random.Random(args.seed + 1).sample(range(1, max_id + 1), min(args.single, max_id))
    out(f"\n[4] single order: contexts_load(one id) + {len(rules)} rules evaluated, {len(picks):,} orders")
    whole, only = [], []
    for pk in picks:
        began = clock()
        ctx = contexts_load(order_ids=[pk], now=now).get(pk)
        loaded = clock()
        if ctx is not None and ctx.order.status not in SILENT:
            for active in rules:
                evaluate(active.condition, ctx)
        ended = clock()
        whole.append((ended - began) * 1000)
        only.append((ended - loaded) * 1000)
    single = {
        "p50_ms": percentile(whole, 50),
        "p99_ms": percentile(whole, 99),
        "eval_p50_ms": percentile(only, 50),
        "eval_p99_ms": percentile(only, 99),
    }
    result["single"] = single
    out(f"    load + evaluate: p50 {single['p50_ms']:.2f} ms   p99 {single['p99_ms']:.2f} ms")
    out(f"    evaluate only:   p50 {single['eval_p50_ms']:.2f} ms   p99 {single['eval_p99_ms']:.2f} ms")
    rule_loads = []
    for _ in range(200):
        began = clock()
        services.active_rules()
        rule_loads.append((clock() - began) * 1000)
    out(f"    (active_rules(), read and checked per event by detect_orders: p50 {percentile(rule_loads, 50):.2f} ms)")

    if args.detect:
        picks = random.Random(args.seed + 2).sample(range(1, max_id + 1), min(args.detect, max_id))
        durations = []
        for pk in picks:
            began = clock()
            with transaction.atomic():
                services.detect_orders(order_ids=[pk], now=now)
            durations.append((clock() - began) * 1000)
        result["detect"] = {"p50_ms": percentile(durations, 50), "p99_ms": percentile(durations, 99)}
        out(
            f"    detect_orders([id]) with the exceptions sync, {len(picks):,} orders: "
            f"p50 {result['detect']['p50_ms']:.2f} ms   p99 {result['detect']['p99_ms']:.2f} ms"
        )
    result["rss_single_mib"] = peak_rss_mib(reset=True)

    if args.sync:
        out("\n[5] scan() with the exceptions sync (creates the exceptions)")
        started = clock()
        report = services.scan(now=now)
        for outcome in report.outcomes:
            out(
                f"    {outcome.code:<24} {outcome.seconds:8.2f} s   matched {outcome.matched:>9,}   "
                f"created {outcome.created:>9,} {outcome.error}"
            )
        result["scan_with_sync_seconds"] = clock() - started
        out(f"    total {result['scan_with_sync_seconds']:.2f} s")
        result["rss_sync_mib"] = peak_rss_mib(reset=True)

    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
