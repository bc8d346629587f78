"""The rule builder's "Test" and "Back-test" (SPEC §10.3, §10.5): a condition's compiled query over
the stored orders, counted now or grouped by the day each order was placed.

Both read the data as it is now: the orders, their payments, shipments and tracking as stored,
stock levels and list prices as they are today, and conditions on the clock ("paid over 2 hours
ago") measured from the moment of the test. A back-test therefore says which of the orders placed
on each of the last N days the condition holds for today — the orders it would raise an
exception on if it were saved now — not what it would have said on each of those days.

Days are calendar days of ``placed_at`` in the company's time zone (``settings.TIME_ZONE``, in
which the console shows times), today included. The orders that raise nothing whatever the
rules say (cancelled, refunded) are left out, as the detection service leaves them out.

Everything is set-based: one count and one limited query for a test; for a back-test, per chunk
of ``CHUNK_DAYS`` days, one query grouped by day (``TruncDate`` in SQL) for the condition and one
for the rule's saved condition when a draft is compared with it. No order is looked at in Python.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.common.errors import DomainError
from apps.exceptions import selectors as exception_selectors
from apps.orders.models import Order
from apps.rules.compiler import condition_q
from apps.rules.errors import RuleDefinitionError, RuleErrorCode
from apps.rules.fields import Env
from apps.rules.language import Condition, RuleError, rule_check
from apps.rules.models import BacktestRun, ExceptionRule
from apps.rules.selectors import SILENT_STATUSES

MAX_DAYS = BacktestRun.MAX_DAYS
# Days per round of queries: a long back-test reports its progress after each round, and each
# query stays small enough to finish in a few seconds on a million orders.
CHUNK_DAYS = 10
SAMPLE_SIZE = 10
# Failures the stored data can cause when a condition runs (a regular expression the database's
# engine refuses, a date it cannot shift): reported as a 4xx naming the condition, not a 500.
_DATA_ERRORS = (DatabaseError, ArithmeticError, LookupError, TypeError, ValueError)

Progress = Callable[[int], None]


def _checked(condition: Any, params: Any) -> Condition:
    try:
        return rule_check(condition, params if params is not None else {})
    except RuleError as exc:
        raise RuleDefinitionError(exc) from exc


def _matching(condition: Condition, env: Env) -> QuerySet[Order]:
    return Order.objects.exclude(status__in=SILENT_STATUSES).filter(condition_q(condition, env)).order_by()


def _evaluated(run: Callable[[], Any]) -> Any:
    """``run()`` in a savepoint; a failure the data causes is a ``not_evaluated`` refusal."""
    try:
        with transaction.atomic():
            return run()
    except _DATA_ERRORS as exc:
        raise DomainError(
            code=RuleErrorCode.NOT_EVALUATED,
            field="condition",
            message=_("The condition could not be evaluated on the stored orders: %(error)s")
            % {"error": f"{type(exc).__name__}: {exc}"[:300]},
        ) from exc


def rule_test(*, condition: Any, params: Any, limit: int = SAMPLE_SIZE, now: datetime | None = None) -> dict[str, Any]:
    """How many current orders the condition matches now, and the newest ``limit`` of them.

    ``{"count": n, "sample": [{"id", "external_id", "channel", "status", "placed_at",
    "total_amount", "currency"}, ...]}``. Two queries: the count and the sample. Raises
    ``RuleDefinitionError`` for a condition the language refuses.
    """
    checked = _checked(condition, params)
    env = Env(now=now or timezone.now())

    def run() -> dict[str, Any]:
        matching = _matching(checked, env)
        count = matching.count()
        sample = []
        if count:
            sample = list(
                matching.order_by("-placed_at", "-pk").values(
                    "id", "external_id", "channel", "status", "placed_at", "total_amount", "currency"
                )[:limit]
            )
        return {"count": count, "sample": sample}

    return _evaluated(run)


def backtest_window(*, days: int, now: datetime) -> tuple[date, date]:
    """The first and the last day (today) of a back-test over ``days`` days, in ``TIME_ZONE``."""
    today = timezone.localdate(now, ZoneInfo(settings.TIME_ZONE))
    return today - timedelta(days=days - 1), today


def _per_day(
    condition: Condition, env: Env, *, start: datetime, end: datetime, zone: ZoneInfo, dismissed: QuerySet | None
) -> list[dict[str, Any]]:
    """One query: per day of ``placed_at`` in [start, end), the matching orders and the dismissed ones."""
    counts: dict[str, Any] = {"count": Count("pk", distinct=True)}
    if dismissed is not None:
        counts["dismissed"] = Count("pk", distinct=True, filter=Q(Exists(dismissed.filter(order=OuterRef("pk")))))
    return list(
        _matching(condition, env)
        .filter(placed_at__gte=start, placed_at__lt=end)
        .annotate(day=TruncDate("placed_at", tzinfo=zone))
        .values("day")
        .annotate(**counts)
        .order_by()
    )


def rule_backtest(
    *,
    condition: Any,
    params: Any,
    days: int,
    rule: ExceptionRule | None = None,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Replay ``condition`` over the orders placed on each of the last ``days`` days (1 to 90).

    Per day, ``count`` is the orders the condition holds for (each once) and ``dismissed`` how
    many of them have an exception of ``rule`` that staff dismissed as not real. When ``rule`` is
    given and the condition or parameters differ from its saved ones (a draft), each day also
    has ``current``: the count of the rule as saved, for the difference. See the module's
    docstring for what "now" means here. ``progress(percent)`` is called after each chunk.

    ``{"from", "to", "time_zone", "evaluated_at", "total", "dismissed", "current_total"?,
    "days": [{"date", "count", "dismissed", "current"?}, ...]}``, every day of the window
    listed, oldest first.
    """
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise DomainError(code="invalid", field="days", message=_("Back-test 1 to %(max)d days.") % {"max": MAX_DAYS})
    checked = _checked(condition, params)
    saved: Condition | None = None
    if rule is not None and rule.source == ExceptionRule.Source.CONDITION:
        is_draft = (condition, params or {}) != (rule.condition, rule.params or {})
        if is_draft:
            try:
                saved = rule_check(rule.condition, rule.params or {})
            except RuleError:
                saved = None  # a saved condition that no longer checks has nothing to compare with
    now = now or timezone.now()
    env = Env(now=now)
    zone = ZoneInfo(settings.TIME_ZONE)
    first, today = backtest_window(days=days, now=now)
    dismissed = exception_selectors.dismissed_exceptions(rule_id=rule.pk) if rule is not None else None
    rows: dict[date, dict[str, Any]] = {}
    for offset in range(days):
        day = first + timedelta(days=offset)
        rows[day] = {"date": day.isoformat(), "count": 0, "dismissed": 0} | ({"current": 0} if saved else {})
    for offset in range(0, days, CHUNK_DAYS):
        start_day = first + timedelta(days=offset)
        end_day = min(start_day + timedelta(days=CHUNK_DAYS), today + timedelta(days=1))
        start = datetime.combine(start_day, time.min, tzinfo=zone)
        end = datetime.combine(end_day, time.min, tzinfo=zone)

        def run(start=start, end=end) -> None:
            for found in _per_day(checked, env, start=start, end=end, zone=zone, dismissed=dismissed):
                row = rows[_as_date(found["day"])]
                row["count"] = found["count"]
                row["dismissed"] = found.get("dismissed", 0)
            if saved is not None:
                for found in _per_day(saved, env, start=start, end=end, zone=zone, dismissed=None):
                    rows[_as_date(found["day"])]["current"] = found["count"]

        _evaluated(run)
        if progress is not None:
            progress(min(100, round(100 * (offset + CHUNK_DAYS) / days)))
    listed = list(rows.values())
    result: dict[str, Any] = {
        "from": first.isoformat(),
        "to": today.isoformat(),
        "time_zone": settings.TIME_ZONE,
        "evaluated_at": now.isoformat(),
        "total": sum(row["count"] for row in listed),
        "dismissed": sum(row["dismissed"] for row in listed),
        "days": listed,
    }
    if saved is not None:
        result["current_total"] = sum(row["current"] for row in listed)
    return result


def _as_date(value: Any) -> date:
    # SQLite hands back the truncated date as text where the driver does not convert it.
    return value if isinstance(value, date) else date.fromisoformat(str(value))
