"""Rule upkeep and the detection service.

Detection runs inside the write that changed the data (the caller's transaction), so the
response of an order write already carries its exceptions. Each rule is evaluated in its own
savepoint: a rule that fails at run time is recorded on the rule and skipped, the write and the
other rules' results still commit (SPEC §7), and the next scan tries it again. The rules that
matched are then synced together, and one by one if that fails.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.common.errors import DomainError
from apps.exceptions import selectors as exception_selectors
from apps.exceptions import services as exception_services
from apps.orders.models import Order, OrderLine
from apps.rules.compiler import condition_q
from apps.rules.context import contexts_load
from apps.rules.evaluator import evaluate
from apps.rules.fields import Env
from apps.rules.language import Condition, RuleError, now_dependent, rule_check
from apps.rules.models import ExceptionRule

logger = logging.getLogger(__name__)

# Orders that raise nothing, whatever the rules say (SPEC §3).
SILENT_STATUSES = (Order.Status.CANCELLED, Order.Status.REFUNDED)
# Up to this many orders are evaluated in Python on loaded rows (a fixed handful of queries);
# more go through one compiled query per rule.
PYTHON_PATH_MAX_ORDERS = 20
_ID_CHUNK = 5000
# SQLite binds at most 32,766 parameters: phones and signatures share one statement.
_KEY_CHUNK = 4000
# Orders a stock or product change can still concern (SPEC §3's inventory and pricing rules):
# not ended, and not silent.
SKU_SENSITIVE_STATUSES = (
    Order.Status.PENDING_PAYMENT,
    Order.Status.PAID,
    Order.Status.REVIEWED,
    Order.Status.SHIPPED,
)


# --- Rules ------------------------------------------------------------------------------------


def rule_validate(*, condition: Any, params: Any, source: str = ExceptionRule.Source.CONDITION) -> Condition | None:
    """Check a rule's condition and parameters; raise ``DomainError`` naming the bad node."""
    if source == ExceptionRule.Source.RECONCILIATION:
        return None
    try:
        return rule_check(condition, params)
    except RuleError as exc:
        field_name = "params" if exc.path.startswith("params") else "condition"
        raise DomainError(code="invalid_rule", field=field_name, message=str(exc)) from exc


@transaction.atomic
def rule_update(*, rule: ExceptionRule, **changes: Any) -> ExceptionRule:
    """Save a rule after checking its condition; time-based is derived from the condition."""
    for name, value in changes.items():
        setattr(rule, name, value)
    checked = rule_validate(condition=rule.condition, params=rule.params, source=rule.source)
    if checked is not None:
        rule.is_time_based = now_dependent(checked)
    rule.last_error = ""
    rule.last_error_at = None
    rule.save()
    return rule


def _rule_failed(rule: ExceptionRule, exc: Exception) -> None:
    logger.exception("rule %s failed at run time", rule.code)
    ExceptionRule.objects.filter(pk=rule.pk).update(
        last_error=f"{type(exc).__name__}: {exc}"[:2000], last_error_at=timezone.now()
    )


@dataclass(frozen=True)
class ActiveRule:
    rule: ExceptionRule
    condition: Condition


# The checked active rules of this process, with the fingerprint of the rule table they were
# read at: every detection compares one cheap aggregate instead of reading and re-checking
# every rule, and an admin's change (a save moves updated_at; a delete, the count) reaches
# every process at its next event.
_rules_cache: dict[str, Any] = {"fingerprint": None, "rules": ()}


def _rules_fingerprint() -> tuple:
    # A plain statement: it runs at every event, and the ORM would spend longer compiling it.
    with connection.cursor() as cursor:
        cursor.execute(_FINGERPRINT_SQL % {"table": connection.ops.quote_name(ExceptionRule._meta.db_table)})
        row = cursor.fetchone()
    return (connection.alias, connection.settings_dict["NAME"], *row)


_FINGERPRINT_SQL = "SELECT COUNT(*), MAX(id), MAX(updated_at) FROM %(table)s"


def active_rules(*, time_based_only: bool = False, codes: Collection[str] | None = None) -> list[ActiveRule]:
    """Active condition rules, checked; a rule whose stored condition no longer checks is
    recorded as failed and left out (it can only get there by bypassing the services)."""
    fingerprint = _rules_fingerprint()
    if _rules_cache["fingerprint"] != fingerprint:
        loaded = []
        queryset = ExceptionRule.objects.filter(is_active=True, source=ExceptionRule.Source.CONDITION)
        for rule in queryset.order_by("code"):
            try:
                loaded.append(ActiveRule(rule, rule_check(rule.condition, rule.params)))
            except RuleError as exc:
                _rule_failed(rule, exc)
                # Not cached: the failure is recorded again until the rule is fixed.
                fingerprint = None
        _rules_cache.update(fingerprint=fingerprint, rules=tuple(loaded))
    rules = list(_rules_cache["rules"])
    if time_based_only:
        rules = [active for active in rules if active.rule.is_time_based]
    if codes is not None:
        rules = [active for active in rules if active.rule.code in codes]
    return rules


# --- Detection --------------------------------------------------------------------------------


@dataclass
class RuleOutcome:
    code: str
    matched: int = 0
    created: int = 0
    redetected: int = 0
    auto_resolved: int = 0
    seconds: float = 0.0
    error: str = ""


@dataclass
class DetectionReport:
    orders: int
    outcomes: list[RuleOutcome] = field(default_factory=list)

    @property
    def created(self) -> int:
        return sum(outcome.created for outcome in self.outcomes)


def _sync(
    rule: ExceptionRule,
    scope: Collection[int] | None,
    matched: Iterable[int],
    now: datetime,
    table,
    outcome,
    *,
    count_redetections: bool = True,
) -> None:
    result = exception_services.exceptions_sync(
        rule=rule,
        scope_order_ids=scope,
        matched={pk: {} for pk in matched},
        now=now,
        table=table,
        count_redetections=count_redetections,
    )
    outcome.created, outcome.redetected, outcome.auto_resolved = result.created, result.redetected, result.auto_resolved


def detect_orders(
    *, order_ids: Collection[int], now: datetime | None = None, rules: list[ActiveRule] | None = None
) -> DetectionReport:
    """Evaluate the active rules for these orders and sync their exceptions.

    Few orders are evaluated in Python on loaded rows; many through one query per rule
    restricted to them. Both give the same answers (tests/rules/test_property.py).
    """
    now = now or timezone.now()
    ids = sorted(set(order_ids))
    report = DetectionReport(orders=len(ids))
    if not ids:
        return report
    rules = active_rules() if rules is None else rules
    contexts = contexts_load(order_ids=ids, now=now) if len(ids) <= PYTHON_PATH_MAX_ORDERS else None
    env = Env(now=now)
    # One read of what is already raised on these orders: a rule that matches none of them
    # and has nothing active on them needs no sync at all (the common case for most rules).
    already = exception_selectors.active_rule_ids_by_order(order_ids=ids)
    pending: list[tuple[ActiveRule, list[int], RuleOutcome]] = []
    for active in rules:
        outcome = RuleOutcome(active.rule.code)
        started = time.perf_counter()
        try:
            with transaction.atomic():
                if contexts is not None:
                    matched = [
                        pk
                        for pk, ctx in contexts.items()
                        if ctx.order.status not in SILENT_STATUSES and evaluate(active.condition, ctx)
                    ]
                else:
                    matched = []
                    for start in range(0, len(ids), _ID_CHUNK):
                        chunk = ids[start : start + _ID_CHUNK]
                        matched += _matching_ids(Order.objects.filter(pk__in=chunk), active.condition, env)
            outcome.matched = len(matched)
            if matched or already.get(active.rule.pk):
                pending.append((active, matched, outcome))
        except Exception as exc:  # a failing rule must not fail the write (SPEC §7)
            outcome.error = str(exc)
            _rule_failed(active.rule, exc)
        outcome.seconds = time.perf_counter() - started
        report.outcomes.append(outcome)
    if pending:
        _sync_pending(pending, ids, now)
    return report


def _sync_pending(pending: list[tuple[ActiveRule, list[int], RuleOutcome]], ids: list[int], now: datetime) -> None:
    """Sync the rules that need it in one pass (one lock, one insert, one events insert for all);
    if that fails, rule by rule, each in its own savepoint, so one rule cannot lose the others'."""
    started = time.perf_counter()
    table = exception_services.grading_table() if any(matched for _active, matched, _outcome in pending) else None
    try:
        with transaction.atomic():
            results = exception_services.exceptions_sync_rules(
                outcomes=[(active.rule, {pk: {} for pk in matched}) for active, matched, _outcome in pending],
                scope_order_ids=ids,
                now=now,
                table=table,
            )
        for (_active, _matched, outcome), result in zip(pending, results, strict=True):
            outcome.created, outcome.redetected, outcome.auto_resolved = (
                result.created,
                result.redetected,
                result.auto_resolved,
            )
    except Exception:  # isolate the failing rule below, as a failing evaluation is isolated
        logger.exception("the combined exceptions sync failed; syncing rule by rule")
        for active, matched, outcome in pending:
            try:
                with transaction.atomic():
                    _sync(active.rule, ids, matched, now, table, outcome)
            except Exception as exc:
                outcome.error = str(exc)
                _rule_failed(active.rule, exc)
    share = (time.perf_counter() - started) / len(pending)
    for _active, _matched, outcome in pending:
        outcome.seconds += share


def _matching_ids(scope: QuerySet[Order], condition: Condition, env: Env) -> list[int]:
    # order_by(): the model's default ordering would make every scan sort its matches.
    # No iterator(): the sync needs every matched id at once anyway, and PostgreSQL plans a
    # server-side cursor for its first rows (cursor_tuple_fraction) and without parallel
    # workers, which made the join-heavy rules two to three times slower.
    return list(
        scope.exclude(status__in=SILENT_STATUSES)
        .filter(condition_q(condition, env))
        .order_by()
        .values_list("pk", flat=True)
    )


def detect_scope(*, scope: QuerySet[Order], now: datetime | None = None) -> DetectionReport:
    """Re-evaluate a set of orders given as a query (e.g. the open orders holding a SKU whose
    stock changed): one query per rule for the matches, one for the scope's ids."""
    ids = list(scope.values_list("pk", flat=True))
    return detect_orders(order_ids=ids, now=now)


def detect_sku(*, sku: str, now: datetime | None = None) -> DetectionReport:
    """Re-evaluate the orders a SKU's stock level or product record concerns.

    Those are the open orders holding the SKU (any line) and the orders holding it that have an
    active exception (so that it can clear). One query selects them all.
    """
    holding = OrderLine.objects.filter(sku=sku).values("order_id")
    scope = Order.objects.filter(pk__in=holding).filter(
        Q(status__in=SKU_SENSITIVE_STATUSES) | Q(pk__in=exception_selectors.orders_with_active_exceptions())
    )
    return detect_scope(scope=scope, now=now)


def detect_arrivals(
    *, orders: Collection[Order], also: Collection[int] = (), now: datetime | None = None
) -> DetectionReport:
    """Evaluate newly stored orders, with the orders their arrival can change.

    Those are ``also`` (given by the caller), and the stored orders with the same phone and
    basket: an order that arrives late but was placed earlier makes a later one a duplicate.
    The missing-order exceptions of the arrived orders' (channel, external_id) are resolved.
    """
    now = now or timezone.now()
    exception_services.missing_orders_resolve(
        orders={(order.channel, order.external_id): order.pk for order in orders}, now=now
    )
    ids = {order.pk for order in orders} | set(also)
    keyed = {(order.customer_phone, order.line_signature) for order in orders if order.customer_phone}
    if keyed:
        phones = sorted({phone for phone, _signature in keyed})
        signatures = sorted({signature for _phone, signature in keyed})
        for start in range(0, len(phones), _KEY_CHUNK):
            rows = Order.objects.filter(
                customer_phone__in=phones[start : start + _KEY_CHUNK], line_signature__in=signatures
            ).values_list("pk", "customer_phone", "line_signature")
            ids |= {pk for pk, phone, signature in rows if (phone, signature) in keyed}
    return detect_orders(order_ids=ids, now=now)


def scan(
    *, now: datetime | None = None, time_based_only: bool = False, codes: Collection[str] | None = None
) -> DetectionReport:
    """Full set-based scan: each rule is one query over all orders, then one sync.

    New matches raise exceptions, active exceptions whose condition cleared auto-resolve, and
    still-holding ones are left as they are (reported as ``redetected``).
    """
    now = now or timezone.now()
    env = Env(now=now)
    rules = active_rules(time_based_only=time_based_only, codes=codes)
    table = exception_services.grading_table()
    report = DetectionReport(orders=Order.objects.count())
    for active in rules:
        outcome = RuleOutcome(active.rule.code)
        started = time.perf_counter()
        try:
            with transaction.atomic():
                matched = _matching_ids(Order.objects.all(), active.condition, env)
                outcome.matched = len(matched)
                # A scan is no new sighting: occurrences count the writes that found the exception.
                _sync(active.rule, None, matched, now, table, outcome, count_redetections=False)
        except Exception as exc:  # recorded on the rule; the other rules still run
            outcome.error = str(exc)
            _rule_failed(active.rule, exc)
        outcome.seconds = time.perf_counter() - started
        report.outcomes.append(outcome)
    return report


def rule_by_code(code: str) -> ExceptionRule:
    rule = ExceptionRule.objects.filter(code=code).first()
    if rule is None:
        raise DomainError(code="not_found", field="type", message=_("Unknown rule %(code)s.") % {"code": code})
    return rule
