"""Reads of the exception domain: the scoped list the API shows, the grading table, the facts grading needs."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, time
from decimal import Decimal
from typing import NamedTuple

from django.db.models import Case, Count, Max, Prefetch, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.accounts.models import Department, Role, User
from apps.exceptions.models import (
    ACTIVE_STATUSES,
    ENDED_STATUSES,
    ExceptionEvent,
    GradingRule,
    GradingRuleVersion,
    OrderException,
)
from apps.orders.models import Order
from apps.rules.models import ExceptionRule, Severity

# SQLite allows 32766 bound parameters; a chunk of ids leaves room for the other clauses.
ID_CHUNK = 8000


def chunked(values: Iterable, size: int = ID_CHUNK) -> Iterator[list]:
    """Split ``values`` into lists of at most ``size``, so an ``IN (...)`` stays under the parameter limit."""
    batch: list = []
    for value in values:
        batch.append(value)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


# --- What a user may see ------------------------------------------------------------------------


def exception_sees_all(*, user: User) -> bool:
    """Managers and admins see every department's exceptions (SPEC §7); staff only their own."""
    if user.is_superuser:
        return True
    return user.groups.filter(name__in=[Role.ADMIN, Role.MANAGER]).exists()


def exception_list(*, user: User) -> QuerySet[OrderException]:
    """The exceptions ``user`` may see, newest first, with what the API renders joined in.

    Staff see their department's exceptions and the ones assigned to them; a staff member
    without a department sees only the latter.
    """
    queryset = OrderException.objects.select_related("rule", "department", "assignee").order_by("-detected_at", "-id")
    if exception_sees_all(user=user):
        return queryset
    scope = Q(assignee=user)
    if user.department_id is not None:
        scope |= Q(department_id=user.department_id)
    return queryset.filter(scope)


def rule_ids_by_code(*, codes: Collection[str]) -> dict[str, int]:
    """Map each known rule code among ``codes`` to its rule's id."""
    return dict(ExceptionRule.objects.filter(code__in=list(codes)).values_list("code", "pk"))


def user_id_by_ref(*, ref: str) -> Subquery:
    """The id of the user named ``ref``, or else of the user whose id ``ref`` is, as a subquery.

    It is NULL when neither exists, so a filter on it matches nothing: an unknown user looks like
    one with no exceptions, and the same single query runs either way.
    """
    lookup = Q(username=ref)
    if ref.isdigit() and len(ref) < 19:
        lookup |= Q(pk=int(ref))
    # A username wins over an id: "1001" may be both someone's username and another's id.
    named_first = Case(When(username=ref, then=Value(0)), default=Value(1))
    return Subquery(User.objects.filter(lookup).order_by(named_first, "pk").values("pk")[:1])


def exception_detail_queryset(*, user: User) -> QuerySet[OrderException]:
    return exception_list(user=user).prefetch_related(
        Prefetch("events", queryset=ExceptionEvent.objects.select_related("actor").order_by("at", "id"))
    )


# --- Grading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GradingRow:
    """A snapshot of one active ``GradingRule``, so many orders can be graded without a query each."""

    id: int
    category: str
    rule_id: int | None
    channel: str
    min_amount: Decimal | None
    max_amount: Decimal | None
    customer_tag: str
    time_from: time | None
    time_to: time | None
    severity: str
    department: Department
    handling: str
    first_response_minutes: int
    resolution_minutes: int | None
    notify_channels: tuple[str, ...]


def grading_rows() -> tuple[GradingRow, ...]:
    """The active grading rows in the order they are tried (one query)."""
    rows = GradingRule.objects.filter(is_active=True).select_related("department").order_by("position", "id")
    return tuple(
        GradingRow(
            id=row.pk,
            category=row.category,
            rule_id=row.rule_id,
            channel=row.channel,
            min_amount=row.min_amount,
            max_amount=row.max_amount,
            customer_tag=row.customer_tag,
            time_from=row.time_from,
            time_to=row.time_to,
            severity=row.severity,
            department=row.department,
            handling=row.handling,
            first_response_minutes=row.first_response_minutes,
            resolution_minutes=row.resolution_minutes,
            notify_channels=tuple(row.notify_channels or ()),
        )
        for row in rows
    )


# --- What a grading row matches ------------------------------------------------------------------


class GradingCondition:
    """The conditions a grading row may set, as ``GradingCheck.condition`` names them."""

    CATEGORY = "category"
    RULE = "rule"
    CHANNEL = "channel"
    MIN_AMOUNT = "min_amount"
    MAX_AMOUNT = "max_amount"
    CUSTOMER_TAG = "customer_tag"
    TIME = "time"


class GradingCheck(NamedTuple):
    """One condition of a grading row tried on one exception: whether it held, and what was compared.

    ``wanted`` is the row's value (for ``time`` the window ``(time_from, time_to)``), ``found`` the
    exception's (for ``time`` the local time of day, for ``customer_tag`` the tags). A named tuple,
    not a dataclass: grading makes one per condition per row it tries, and these are cheap to make.
    """

    condition: str
    held: bool
    wanted: object
    found: object


def grading_row_checks(
    row: GradingRow | GradingRule,
    *,
    category: str,
    rule_id: int | None,
    channel: str,
    amount: Decimal | None,
    customer_tags: Collection[str],
    at: datetime,
) -> Iterator[GradingCheck]:
    """Each condition ``row`` sets, tried on an exception; a row that sets none matches every exception.

    This is the grading table's one definition of a match: a row matches when every check holds
    (grading stops at the first that does not; the grading editor's tester shows them all).
    Empty match fields are no conditions. The time window is local time (``TIME_ZONE``, whoever
    asks) and may wrap past midnight (22:00–06:00).
    """
    if row.category:
        yield GradingCheck(GradingCondition.CATEGORY, row.category == category, row.category, category)
    if row.rule_id is not None:
        yield GradingCheck(GradingCondition.RULE, row.rule_id == rule_id, row.rule_id, rule_id)
    if row.channel:
        yield GradingCheck(GradingCondition.CHANNEL, row.channel == channel, row.channel, channel)
    # An exception without an amount (a missing order) never matches an amount range.
    if row.min_amount is not None:
        held = amount is not None and amount >= row.min_amount
        yield GradingCheck(GradingCondition.MIN_AMOUNT, held, row.min_amount, amount)
    if row.max_amount is not None:
        held = amount is not None and amount <= row.max_amount
        yield GradingCheck(GradingCondition.MAX_AMOUNT, held, row.max_amount, amount)
    if row.customer_tag:
        held = row.customer_tag in customer_tags
        yield GradingCheck(GradingCondition.CUSTOMER_TAG, held, row.customer_tag, tuple(customer_tags))
    if row.time_from is not None and row.time_to is not None:
        moment = timezone.localtime(at, timezone.get_default_timezone()).time()
        if row.time_from < row.time_to:
            inside = row.time_from <= moment < row.time_to
        else:  # the window wraps past midnight, e.g. 22:00–06:00
            inside = moment >= row.time_from or moment < row.time_to
        yield GradingCheck(GradingCondition.TIME, inside, (row.time_from, row.time_to), moment)


class GradingVerdict:
    """What became of one row when an exception was graded (``GradingTrial.verdict``)."""

    MATCHED = "matched"
    MISSED = "missed"  # tried, and a condition did not hold
    OFF = "off"  # switched off: grading skips it
    NOT_TRIED = "not_tried"  # below the row that matched


@dataclass(frozen=True)
class GradingTrial:
    """One row of the table as grading met it: its verdict and every condition it sets, tried."""

    row: GradingRule
    verdict: str
    checks: tuple[GradingCheck, ...]

    @property
    def missed(self) -> tuple[GradingCheck, ...]:
        return tuple(check for check in self.checks if not check.held)


def grading_explain(
    *,
    category: str,
    rule_id: int | None,
    channel: str,
    amount: Decimal | None,
    customer_tags: Collection[str],
    at: datetime,
) -> list[GradingTrial]:
    """Why an exception is graded by the row it is: every row of the table, in the order grading tries
    them, with its verdict and its conditions tried (``grading_row_checks``, the same as grading).

    Two queries: the rows with their rule and department.
    """
    rows = GradingRule.objects.select_related("rule", "department").order_by("position", "id")
    trials: list[GradingTrial] = []
    matched = False
    for row in rows:
        checks = tuple(
            grading_row_checks(
                row,
                category=category,
                rule_id=rule_id,
                channel=channel,
                amount=amount,
                customer_tags=customer_tags,
                at=at,
            )
        )
        if not row.is_active:
            verdict = GradingVerdict.OFF
        elif matched:
            verdict = GradingVerdict.NOT_TRIED
        elif all(check.held for check in checks):
            verdict, matched = GradingVerdict.MATCHED, True
        else:
            verdict = GradingVerdict.MISSED
        trials.append(GradingTrial(row=row, verdict=verdict, checks=checks))
    return trials


@dataclass(frozen=True)
class GradingFacts:
    """What grading reads of one exception: its rule, channel, order amount, customer tags and when."""

    exception: OrderException
    category: str
    rule: ExceptionRule
    channel: str
    amount: Decimal | None
    customer_tags: tuple[str, ...]
    at: datetime


def grading_test_exceptions(*, user: User, query: str, limit: int = 8) -> list[GradingFacts]:
    """The exceptions ``user`` may see whose number is ``query`` or whose order ID starts with it,
    newest first, with what grading reads of each (one query)."""
    query = query.strip()
    if not query:
        return []
    lookup = Q(external_id__istartswith=query)
    if query.isdigit() and len(query) < 19:
        lookup |= Q(pk=int(query))
    exceptions = (
        exception_list(user=user).filter(lookup).select_related("order__customer").order_by("-detected_at", "-id")
    )
    facts = []
    for exception in exceptions[:limit]:
        order = exception.order
        if order is not None:
            amount = order.total_amount
            tags = order.customer.tags if isinstance(order.customer.tags, list) else []
        else:
            # A missing order (漏单) is graded by the total its listing carried, if any.
            raw = (exception.details or {}).get("total_amount") if isinstance(exception.details, dict) else None
            try:
                amount = Decimal(str(raw)) if raw is not None else None
            except ArithmeticError:
                amount = None
            if amount is not None and not amount.is_finite():
                amount = None
            tags = []
        facts.append(
            GradingFacts(
                exception=exception,
                category=exception.rule.category,
                rule=exception.rule,
                channel=exception.channel,
                amount=amount,
                customer_tags=tuple(str(tag) for tag in tags),
                at=exception.detected_at,
            )
        )
    return facts


@dataclass(frozen=True)
class OrderFacts:
    """What grading and a new exception need to know about an order."""

    channel: str
    external_id: str
    amount: Decimal
    customer_tags: tuple[str, ...]


def order_facts(*, order_ids: Collection[int]) -> dict[int, OrderFacts]:
    """Channel, key, amount and customer tags of the orders that exist, one query per id chunk."""
    facts: dict[int, OrderFacts] = {}
    for chunk in chunked(sorted(order_ids)):
        rows = Order.objects.filter(pk__in=chunk).values_list(
            "pk", "channel", "external_id", "total_amount", "customer__tags"
        )
        for pk, channel, external_id, amount, tags in rows:
            clean_tags = tuple(str(tag) for tag in tags) if isinstance(tags, list) else ()
            facts[pk] = OrderFacts(channel=channel, external_id=external_id, amount=amount, customer_tags=clean_tags)
    return facts


def existing_order_keys(*, channel: str, external_ids: Collection[str]) -> set[str]:
    """The external ids among ``external_ids`` that ``channel`` has an order for."""
    found: set[str] = set()
    for chunk in chunked(sorted(external_ids)):
        found.update(Order.objects.filter(channel=channel, external_id__in=chunk).values_list("external_id", flat=True))
    return found


# --- Recurrence ---------------------------------------------------------------------------------


def recent_ended_by_rule_and_order(
    *, rule_ids: Collection[int], order_ids: Collection[int], since: datetime
) -> dict[tuple[int, int], int]:
    """For each (rule, order), the exception that ended most recently at or after ``since``.

    An exception ends when it is closed or dismissed (``closed_at``), or resolved without
    being closed yet (``resolved_at``).
    """
    latest: dict[tuple[int, int], int] = {}
    for chunk in chunked(sorted(order_ids)):
        rows = (
            OrderException.objects.filter(rule_id__in=list(rule_ids), order_id__in=chunk, status__in=ENDED_STATUSES)
            .annotate(ended_at=Coalesce("closed_at", "resolved_at"))
            .filter(ended_at__gte=since)
            .order_by("rule_id", "order_id", "-ended_at", "-id")
            .values_list("rule_id", "order_id", "pk")
        )
        for rule_id, order_id, pk in rows:
            latest.setdefault((rule_id, order_id), pk)
    return latest


def recent_ended_by_key(
    *, rule_id: int, channel: str, external_ids: Collection[str], since: datetime
) -> dict[str, int]:
    """Like ``recent_ended_by_rule_and_order``, for one rule's order-less exceptions keyed by the
    channel's order key."""
    latest: dict[str, int] = {}
    for chunk in chunked(sorted(external_ids)):
        rows = (
            OrderException.objects.filter(
                rule_id=rule_id, channel=channel, external_id__in=chunk, status__in=ENDED_STATUSES
            )
            .annotate(ended_at=Coalesce("closed_at", "resolved_at"))
            .filter(ended_at__gte=since)
            .order_by("external_id", "-ended_at", "-id")
            .values_list("external_id", "pk")
        )
        for external_id, pk in rows:
            latest.setdefault(external_id, pk)
    return latest


def active_rule_ids_by_order(*, order_ids: Collection[int]) -> dict[int, set[int]]:
    """rule id → the given orders with an active exception of that rule (one query per chunk)."""
    out: dict[int, set[int]] = {}
    for chunk in chunked(sorted(set(order_ids))):
        rows = OrderException.objects.filter(order_id__in=chunk, status__in=ACTIVE_STATUSES).values_list(
            "rule_id", "order_id"
        )
        for rule_id, order_id in rows:
            out.setdefault(rule_id, set()).add(order_id)
    return out


def orders_with_active_exceptions() -> QuerySet[OrderException]:
    """The order ids of the active exceptions, as a subquery (``pk__in=...``)."""
    return OrderException.objects.filter(status__in=ACTIVE_STATUSES, order__isnull=False).values("order_id")


# --- The console's dashboard ------------------------------------------------------------------


@dataclass(frozen=True)
class DashboardFigures:
    """Counts of the exceptions someone still has to act on, as the console's home page shows them."""

    open_total: int
    by_severity: list[tuple[str, str, int]]  # (severity, label, count), most severe first
    by_department: list[tuple[Department | None, int]]  # busiest first; None is "no department"
    overdue: int
    new_today: int
    failing_rules: list[ExceptionRule]


def exception_dashboard(*, user: User, now: datetime, today_start: datetime) -> DashboardFigures:
    """Figures for ``user``'s scope; ``today_start`` is midnight of today in the user's time zone."""
    active = exception_list(user=user).filter(status__in=ACTIVE_STATUSES).order_by()
    severity_counts = dict(active.values_list("severity").annotate(n=Count("id")))
    by_severity = [(value, str(label), severity_counts.get(value, 0)) for value, label in Severity.choices]
    department_counts = list(active.values_list("department").annotate(n=Count("id")).order_by("-n"))
    departments = Department.objects.in_bulk([pk for pk, _ in department_counts if pk is not None])
    failing = list(
        ExceptionRule.objects.filter(is_active=True).exclude(last_error="").order_by("-last_error_at", "code")
    )
    return DashboardFigures(
        open_total=sum(severity_counts.values()),
        by_severity=by_severity,
        by_department=[(departments.get(pk) if pk is not None else None, n) for pk, n in department_counts],
        overdue=active.filter(due_at__lt=now).count(),
        new_today=exception_list(user=user).filter(detected_at__gte=today_start).count(),
        failing_rules=failing,
    )


def dismissed_exceptions(*, rule_id: int) -> QuerySet[OrderException]:
    """The exceptions of rule ``rule_id`` that staff dismissed as not real (SPEC §3: they feed the
    rule's precision); a back-test correlates them with its orders (``.filter(order=OuterRef("pk"))``)."""
    return OrderException.objects.filter(rule_id=rule_id, status=OrderException.Status.DISMISSED)


def grading_rule_versions(*, row_id: int) -> QuerySet[GradingRuleVersion]:
    """The versions of grading row ``row_id`` (removed or not), the newest first, with who saved each."""
    return GradingRuleVersion.objects.filter(row_id=row_id).select_related("actor").order_by("-number")


@dataclass(frozen=True)
class GradingHistory:
    """The grading table's recent changes: ``versions`` the newest first (with who saved each),
    ``latest`` each row's newest version number, ``removed`` each removed row's last document
    (by row id), for the rows that were removed and not restored."""

    versions: list[GradingRuleVersion]
    latest: dict[int, int]
    removed: dict[int, dict]


def grading_history(*, row_id: int | None = None, limit: int) -> GradingHistory:
    """The last ``limit`` versions of the grading table's rows, or of row ``row_id`` only (three queries)."""
    versions = GradingRuleVersion.objects.select_related("actor").order_by("-created_at", "-id")
    if row_id is not None:
        versions = versions.filter(row_id=row_id)
    latest = dict(GradingRuleVersion.objects.values_list("row_id").annotate(latest=Max("number")).order_by())
    removals = (
        GradingRuleVersion.objects.filter(action=GradingRuleVersion.Action.DELETED)
        .exclude(row_id__in=GradingRule.objects.values("pk"))
        .order_by("row_id", "number")
        .values_list("row_id", "number", "document")
    )
    removed = {row: document for row, number, document in removals if latest.get(row) == number}
    return GradingHistory(versions=list(versions[:limit]), latest=latest, removed=removed)
