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
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Max, Min, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.common.documents import MAX_NOTE, stored_actor
from apps.common.errors import DomainError
from apps.exceptions import selectors as exception_selectors
from apps.exceptions import services as exception_services
from apps.formdesigner.builtin import ORDER_FORM_KEY
from apps.formdesigner.models import FormDefinition
from apps.orders.models import Order, OrderLine
from apps.rules import backtest, selectors
from apps.rules.compiler import condition_q
from apps.rules.context import OrderContext, contexts_load
from apps.rules.details import Details, details_from_contexts, details_from_database
from apps.rules.diff import document_changes, rule_document
from apps.rules.errors import RuleDefinitionError, RuleErrorCode
from apps.rules.evaluator import evaluate
from apps.rules.fields import Env
from apps.rules.language import Condition, RuleError, now_dependent, rule_check
from apps.rules.models import BacktestRun, ExceptionRule, RuleVersion
from apps.rules.tasks import backtest_run

logger = logging.getLogger(__name__)

# Orders that raise nothing, whatever the rules say (SPEC §3); defined with the rules' reads.
SILENT_STATUSES = selectors.SILENT_STATUSES
# Up to this many orders are evaluated in Python on loaded rows (a fixed handful of queries);
# more go through one compiled query per rule.
PYTHON_PATH_MAX_ORDERS = 20
_ID_CHUNK = 5000
# SQLite binds at most 32,766 parameters: phones and signatures share one statement.
_KEY_CHUNK = 4000
# Failures that one order's data can cause: a date the database cannot shift ("string or blob
# too big" on SQLite for the year 1), a value it cannot convert, arithmetic on it in Python. A
# set-based query that fails so is retried over halves of its orders until the failure is
# isolated to single orders; every other order is still evaluated (SPEC §7).
_DATA_ERRORS = (DatabaseError, ArithmeticError, LookupError, TypeError, ValueError)
# Orders singled out per rule and run at most; past that, the orders of the ranges still failing
# are left unevaluated (their exceptions stay as they are) for the next run to retry.
MAX_ISOLATED = 20


# --- Rules ------------------------------------------------------------------------------------


def rule_validate(*, condition: Any, params: Any, source: str = ExceptionRule.Source.CONDITION) -> Condition | None:
    """Check a rule's condition and parameters; raise ``RuleDefinitionError`` naming the bad node
    (``condition.all.1.field``, ``params.window``). A reconciliation rule has neither."""
    if source == ExceptionRule.Source.RECONCILIATION:
        if condition or params:
            raise DomainError(
                code=RuleErrorCode.INVALID_RULE,
                field="condition",
                message=_("This rule is raised by reconciliations: it takes no condition or parameters."),
            )
        return None
    try:
        return rule_check(condition, params)
    except RuleError as exc:
        raise RuleDefinitionError(exc) from exc


@transaction.atomic
def rule_update(*, rule: ExceptionRule, actor=None, note: str = "", **changes: Any) -> ExceptionRule:
    """Save a rule after checking its condition; time-based is derived from the condition.

    This is the one writer of rules (the API, the admin and the configuration bundle save through
    it), and so of their versions: a save that changes the rule's document writes its next
    ``RuleVersion`` with ``actor``, ``note`` and what changed; a save that changes nothing writes
    none. A new rule (no ``pk``) gets its version 1.
    """
    return _rule_save(rule, actor=actor, note=note, changes=changes)


def _rule_save(
    rule: ExceptionRule, *, actor, note: str, changes: dict[str, Any], restored_from: int | None = None
) -> ExceptionRule:
    if rule.pk is not None:
        # The rule's row is the lock that numbers its versions one after another.
        ExceptionRule.objects.select_for_update().filter(pk=rule.pk).values_list("pk").first()
    for name, value in changes.items():
        setattr(rule, name, value)
    checked = rule_validate(condition=rule.condition, params=rule.params, source=rule.source)
    if checked is not None:
        rule.is_time_based = now_dependent(checked)
    rule.last_error = ""
    rule.last_error_at = None
    rule.save()
    _version_write(rule, actor=actor, note=note, restored_from=restored_from)
    return rule


def _version_write(rule: ExceptionRule, *, actor, note: str, restored_from: int | None) -> RuleVersion | None:
    document = rule_document(rule)
    last = rule.versions.order_by("-number").first()
    if last is not None and last.document == document:
        return None
    return RuleVersion.objects.create(
        rule=rule,
        number=(last.number if last is not None else 0) + 1,
        document=document,
        changes=document_changes(last.document if last is not None else None, document),
        note=(note or "").strip()[:MAX_NOTE],
        restored_from=restored_from,
        actor=stored_actor(actor),
        created_at=timezone.now(),
    )


@transaction.atomic
def rule_create(*, code: str, actor=None, note: str = "", **values: Any) -> ExceptionRule:
    """Store a new condition rule ``code`` with ``values`` (model fields), as its version 1."""
    if ExceptionRule.objects.filter(code=code).exists():
        raise DomainError(code=RuleErrorCode.CODE_TAKEN, field="code", message=RuleErrorCode.CODE_TAKEN.label)
    try:
        with transaction.atomic():
            return _rule_save(ExceptionRule(code=code), actor=actor, note=note, changes=values)
    except IntegrityError:
        # Another request created the same code between the check and the insert.
        raise DomainError(code=RuleErrorCode.CODE_TAKEN, field="code", message=RuleErrorCode.CODE_TAKEN.label) from None


@transaction.atomic
def rule_restore(*, code: str, version: int, actor=None, note: str = "") -> ExceptionRule:
    """Make the rule ``code`` what its version ``version`` was, as its next version.

    The old version is checked again as any save is (a field it names may be gone since). When
    the rule already is that version, nothing is written.
    """
    rule = ExceptionRule.objects.select_for_update().get(code=code)
    stored = rule.versions.filter(number=version).first()
    if stored is None:
        raise DomainError(
            code=RuleErrorCode.NO_SUCH_VERSION, field="version", message=RuleErrorCode.NO_SUCH_VERSION.label
        )
    document = stored.document
    names = document.get("name") or {}
    changes = {
        "name": names.get("zh-hans") or names.get("en", ""),
        "name_en": names.get("en", ""),
        "description": document.get("description", ""),
        "category": document.get("category", rule.category),
        "default_severity": document.get("severity", rule.default_severity),
        "condition": document.get("condition") or {},
        "params": document.get("params") or {},
        "is_active": document.get("is_active", rule.is_active),
    }
    return _rule_save(rule, actor=actor, note=note, changes=changes, restored_from=version)


def _rule_failed(rule: ExceptionRule, exc: Exception, *, isolated: _Isolated | None = None) -> str:
    """Record a run-time failure on the rule (shown to admins); returns the recorded text.

    With ``isolated``, the failure was confined to some orders, which the text names.
    """
    text = f"{type(exc).__name__}: {exc}"
    if isolated is not None and isolated.unevaluated:
        logger.error("rule %s failed for orders %s", rule.code, isolated.bad, exc_info=exc)
        text = _("%(error)s — orders %(orders)s could not be evaluated; every other order was.") % {
            "error": text,
            "orders": ", ".join(str(pk) for pk in isolated.bad),
        }
        more = len(isolated.unevaluated) - len(isolated.bad)
        if more > 0:
            text += " " + _("%(count)d more orders were left for the next scan.") % {"count": more}
    else:
        logger.error("rule %s failed at run time", rule.code, exc_info=exc)
    ExceptionRule.objects.filter(pk=rule.pk).update(last_error=text[:2000], last_error_at=timezone.now())
    return text


@dataclass
class _Isolated:
    """The orders a rule could not be evaluated for, and why."""

    bad: list[int] = field(default_factory=list)  # single orders the failure was traced to
    unevaluated: list[int] = field(default_factory=list)  # all orders left out, the bad ones included
    error: Exception | None = None

    def add(self, other: _Isolated) -> None:
        self.bad += other.bad
        self.unevaluated += other.unevaluated
        self.error = self.error or other.error


def _isolating(
    run: Callable[[Any], list],
    whole: Any,
    *,
    split: Callable[[Any], tuple[Any, Any] | None],
    ids_of: Callable[[Any], list[int]],
    empty: Any,
) -> tuple[list, _Isolated]:
    """``run(whole)``; if it fails on the data, ``run`` over halves (``split``) until single orders.

    Each attempt has its own savepoint. A failure that ``run(empty)`` (no orders) repeats is no
    data's fault: it is raised, and the caller records the rule as failed. Returns the results
    of the parts that ran and the orders left out.
    """
    isolated = _Isolated()
    try:
        with transaction.atomic():
            return run(whole), isolated
    except _DATA_ERRORS as exc:
        try:
            with transaction.atomic():
                run(empty)
        except _DATA_ERRORS:
            raise exc from None
        isolated.error = exc
    results: list = []
    pending = list(split(whole) or ())
    if not pending:
        isolated.bad += ids_of(whole)
        isolated.unevaluated += ids_of(whole)
    while pending:
        part = pending.pop(0)
        try:
            with transaction.atomic():
                results += run(part)
            continue
        except _DATA_ERRORS:
            pass
        halves = split(part)
        if halves is None:
            isolated.bad += ids_of(part)
            isolated.unevaluated += ids_of(part)
        elif len(isolated.bad) >= MAX_ISOLATED:
            isolated.unevaluated += ids_of(part)
        else:
            pending[:0] = halves
    return results, isolated


def _split_ids(ids: list[int]) -> tuple[list[int], list[int]] | None:
    return None if len(ids) <= 1 else (ids[: len(ids) // 2], ids[len(ids) // 2 :])


def _split_range(part: tuple[int, int] | None) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """Halves of an id range; ``None`` (all orders) splits into halves of the stored ids' range."""
    if part is None:
        bounds = Order.objects.aggregate(low=Min("pk"), high=Max("pk"))
        if bounds["low"] is None:
            return None
        part = (bounds["low"], bounds["high"])
    low, high = part
    if low >= high:
        return None
    middle = (low + high) // 2
    return (low, middle), (middle + 1, high)


def _range_ids(part: tuple[int, int] | None) -> list[int]:
    orders = Order.objects.all() if part is None else Order.objects.filter(pk__range=part)
    return list(orders.order_by("pk").values_list("pk", flat=True))


def _range_scope(part: tuple[int, int] | None) -> QuerySet[Order]:
    return Order.objects.all() if part is None else Order.objects.filter(pk__range=part)


@dataclass(frozen=True)
class ActiveRule:
    rule: ExceptionRule
    condition: Condition


# The checked active rules of this process, with the fingerprint of the rule table they were
# read at: every detection compares one cheap aggregate instead of reading and re-checking
# every rule, and an admin's change (a save moves updated_at; a delete, the count) reaches
# every process at its next event. The published order form's version is part of it: a rule's
# custom fields (``data.<key>``) compile by the type that version gives them, so publishing the
# order form again (a field now decimal, not integer) checks and compiles every rule anew.
_rules_cache: dict[str, Any] = {"fingerprint": None, "rules": ()}


def _rules_fingerprint() -> tuple:
    # A plain statement: it runs at every event, and the ORM would spend longer compiling it.
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            _FINGERPRINT_SQL
            % {
                "table": quote(ExceptionRule._meta.db_table),
                "forms": quote(FormDefinition._meta.db_table),
                "published": quote(FormDefinition._meta.get_field("published").column),
                "key": quote(FormDefinition._meta.get_field("key").column),
            },
            [ORDER_FORM_KEY],
        )
        row = cursor.fetchone()
    return (connection.alias, connection.settings_dict["NAME"], *row)


_FINGERPRINT_SQL = (
    "SELECT COUNT(*), MAX(id), MAX(updated_at), "
    "(SELECT %(published)s FROM %(forms)s WHERE %(key)s = %%s) FROM %(table)s"
)


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
    renewed: int = 0
    auto_resolved: int = 0
    seconds: float = 0.0
    error: str = ""

    def take(self, result: exception_services.SyncResult) -> None:
        self.created, self.redetected = result.created, result.redetected
        self.renewed, self.auto_resolved = result.renewed, result.auto_resolved


@dataclass
class DetectionReport:
    orders: int
    outcomes: list[RuleOutcome] = field(default_factory=list)

    @property
    def created(self) -> int:
        return sum(outcome.created for outcome in self.outcomes)


@dataclass
class _Pending:
    """A rule evaluated over the orders, waiting for the exceptions sync."""

    active: ActiveRule
    matches: exception_services.RuleMatches
    outcome: RuleOutcome


def _evidence_reader(active: ActiveRule, env: Env) -> Callable[[list[int]], Mapping[int, Details]]:
    """Read the details of matched orders set-based, when the sync asks for them.

    A failure on one order's data is isolated as the matching is: that order's exception is
    still raised, with no details, and the others get theirs.
    """
    rule = active.rule

    def read(ids: list[int]) -> Mapping[int, Details]:
        def run(part: list[int]) -> list:
            found = details_from_database(
                code=rule.code, condition=active.condition, params=rule.params or {}, order_ids=part, env=env
            )
            return list(found.items())

        try:
            found, isolated = _isolating(run, ids, split=_split_ids, ids_of=list, empty=[0])
        except _DATA_ERRORS:
            logger.exception("the details of rule %s could not be read", rule.code)
            return {}
        if isolated.error is not None:
            logger.error(
                "the details of rule %s failed for orders %s", rule.code, isolated.bad, exc_info=isolated.error
            )
        return dict(found)

    return read


# Errors a builder can raise on odd values of one order (no database state to roll back).
_VALUE_ERRORS = (ArithmeticError, LookupError, TypeError, ValueError)


def _evaluate_loaded(
    active: ActiveRule, contexts: Mapping[int, OrderContext], env: Env
) -> tuple[dict[int, Details], _Isolated]:
    """The loaded orders the rule matches, each with its details, read in Python.

    An order whose data makes the condition fail is left out; one whose details fail is raised
    without them. One savepoint for the rule, as the evaluation always had.
    """
    rule = active.rule

    def details_of(matched: list[int]) -> dict[int, Details]:
        def read(part: list[int]) -> dict[int, Details]:
            return details_from_contexts(
                code=rule.code,
                condition=active.condition,
                params=rule.params or {},
                contexts={pk: contexts[pk] for pk in part},
                env=env,
            )

        try:
            return read(matched)
        except _VALUE_ERRORS:
            logger.exception("the details of rule %s could not be read for orders %s", rule.code, matched)
        found: dict[int, Details] = {}
        for pk in matched:
            try:
                found.update(read([pk]))
            except _VALUE_ERRORS:
                found[pk] = {}
        return found

    def run(ids: list[int]) -> list[tuple[int, Details]]:
        matched = [
            pk
            for pk in ids
            if contexts[pk].order.status not in SILENT_STATUSES and evaluate(active.condition, contexts[pk])
        ]
        details = details_of(matched) if matched else {}
        return [(pk, details.get(pk, {})) for pk in matched]

    found, isolated = _isolating(run, sorted(contexts), split=_split_ids, ids_of=list, empty=[])
    return dict(found), isolated


def _evaluate_compiled(active: ActiveRule, ids: list[int], env: Env) -> tuple[list[int], _Isolated]:
    """The orders among ``ids`` the rule's compiled query matches, one query per chunk."""
    matched: list[int] = []
    isolated = _Isolated()

    def run(part: list[int]) -> list[int]:
        return _matching_ids(Order.objects.filter(pk__in=part), active.condition, env)

    for start in range(0, len(ids), _ID_CHUNK):
        found, part_isolated = _isolating(run, ids[start : start + _ID_CHUNK], split=_split_ids, ids_of=list, empty=[0])
        matched += found
        isolated.add(part_isolated)
    return matched, isolated


def detect_orders(
    *, order_ids: Collection[int], now: datetime | None = None, rules: list[ActiveRule] | None = None
) -> DetectionReport:
    """Evaluate the active rules for these orders and sync their exceptions.

    Few orders are evaluated in Python on loaded rows, with their details read from the same
    rows; many through one query per rule restricted to them, with the details read set-based
    for the matches the sync needs. Both give the same answers (tests/rules/test_property.py,
    tests/rules/test_details.py). An order whose data makes a rule fail is left out of that
    rule (its exceptions stay as they are) and named on the rule; the others are evaluated.
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
    pending: list[_Pending] = []
    for active in rules:
        outcome = RuleOutcome(active.rule.code)
        started = time.perf_counter()
        try:
            if contexts is not None:
                found, isolated = _evaluate_loaded(active, contexts, env)
                matched = list(found)
                matches = exception_services.RuleMatches(active.rule, found, unevaluated=isolated.unevaluated)
            else:
                matched, isolated = _evaluate_compiled(active, ids, env)
                matches = exception_services.RuleMatches(
                    active.rule, matched, _evidence_reader(active, env), isolated.unevaluated
                )
            outcome.matched = len(matched)
            if isolated.error is not None and isolated.unevaluated:
                outcome.error = _rule_failed(active.rule, isolated.error, isolated=isolated)
            if matched or already.get(active.rule.pk):
                pending.append(_Pending(active, matches, outcome))
        except Exception as exc:  # a failing rule must not fail the write (SPEC §7)
            outcome.error = _rule_failed(active.rule, exc)
        outcome.seconds = time.perf_counter() - started
        report.outcomes.append(outcome)
    if pending:
        _sync_pending(pending, ids, now)
    return report


def _sync_pending(pending: list[_Pending], ids: list[int], now: datetime) -> None:
    """Sync the rules that need it in one pass (one lock, one insert, one events insert for all);
    if that fails, rule by rule, each in its own savepoint, so one rule cannot lose the others'."""
    started = time.perf_counter()
    table = exception_services.grading_table() if any(item.matches.matched for item in pending) else None
    try:
        with transaction.atomic():
            results = exception_services.exceptions_sync_rules(
                outcomes=[item.matches for item in pending], scope_order_ids=ids, now=now, table=table
            )
        for item, result in zip(pending, results, strict=True):
            item.outcome.take(result)
    except Exception:  # isolate the failing rule below, as a failing evaluation is isolated
        logger.exception("the combined exceptions sync failed; syncing rule by rule")
        for item in pending:
            try:
                with transaction.atomic():
                    result = exception_services.exceptions_sync_rules(
                        outcomes=[item.matches], scope_order_ids=ids, now=now, table=table
                    )[0]
                item.outcome.take(result)
            except Exception as exc:
                item.outcome.error = _rule_failed(item.active.rule, exc)
    share = (time.perf_counter() - started) / len(pending)
    for item in pending:
        item.outcome.seconds += share


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
    """Re-evaluate a set of orders given as a query (e.g. the orders holding a SKU whose stock
    changed): one query for the scope's ids, then one query per rule and chunk for the matches."""
    ids = list(scope.order_by().values_list("pk", flat=True))
    return detect_orders(order_ids=ids, now=now)


def detect_sku(*, sku: str, now: datetime | None = None) -> DetectionReport:
    """Re-evaluate the orders a SKU's stock level or product record concerns (SPEC §3).

    Those are every order holding the SKU (on any line) that the rules can still apply to, not
    cancelled or refunded, whatever its stage (a corrected list price can make a delivered
    order's price an anomaly), and the cancelled or refunded ones holding it that still have an
    active exception (so that it can clear). One query selects them all; more than a few are
    evaluated through the compiled queries.
    """
    holding = OrderLine.objects.filter(sku=sku).values("order_id")
    scope = Order.objects.filter(pk__in=holding).filter(
        ~Q(status__in=SILENT_STATUSES) | Q(pk__in=exception_selectors.orders_with_active_exceptions())
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


def _scan_matches(active: ActiveRule, env: Env) -> tuple[list[int], _Isolated]:
    """The rule's compiled query over all orders; a failure one order's data causes is retried
    over halves of the id range until it is isolated, so it never fails the rule for all."""

    def run(part: tuple[int, int] | None) -> list[int]:
        return _matching_ids(_range_scope(part), active.condition, env)

    return _isolating(run, None, split=_split_range, ids_of=_range_ids, empty=(0, -1))


def scan(
    *, now: datetime | None = None, time_based_only: bool = False, codes: Collection[str] | None = None
) -> DetectionReport:
    """Full set-based scan: each rule is one query over all orders, then one sync.

    New matches raise exceptions (with their details read set-based, for those orders only),
    active exceptions whose condition cleared auto-resolve, and still-holding ones are left as
    they are (reported as ``redetected``): a scan is no new evidence. Orders whose data makes a
    rule's query fail are isolated, named on the rule and left as they are; the rule still
    raises and clears exceptions for all the other orders.
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
                matched, isolated = _scan_matches(active, env)
                outcome.matched = len(matched)
                result = exception_services.exceptions_sync(
                    rule=active.rule,
                    scope_order_ids=None,
                    matched=matched,
                    evidence=_evidence_reader(active, env),
                    unevaluated=isolated.unevaluated,
                    now=now,
                    table=table,
                    # A scan is no new sighting: occurrences count new evidence found by writes.
                    count_redetections=False,
                )
                outcome.take(result)
            if isolated.error is not None and isolated.unevaluated:
                outcome.error = _rule_failed(active.rule, isolated.error, isolated=isolated)
        except Exception as exc:  # recorded on the rule; the other rules still run
            outcome.error = _rule_failed(active.rule, exc)
        outcome.seconds = time.perf_counter() - started
        report.outcomes.append(outcome)
    return report


def rule_by_code(code: str) -> ExceptionRule:
    rule = ExceptionRule.objects.filter(code=code).first()
    if rule is None:
        raise DomainError(code="not_found", field="type", message=_("Unknown rule %(code)s.") % {"code": code})
    return rule


# --- Back-tests in the background ------------------------------------------------------------


@transaction.atomic
def backtest_run_start(
    *, rule: ExceptionRule, days: int, condition: Any = None, params: Any = None, actor=None
) -> BacktestRun:
    """Check a back-test request and queue it: a ``BacktestRun`` a worker computes after commit.

    ``condition`` and ``params`` left out (None) are the rule's saved ones. Refused as the
    synchronous back-test refuses: a reconciliation rule, a bad condition, days outside 1 to 90.
    """
    resolved_condition = rule.condition if condition is None else condition
    resolved_params = (rule.params or {}) if params is None else params
    backtest_check(rule=rule, condition=resolved_condition, params=resolved_params, days=days)
    run = BacktestRun.objects.create(
        rule=rule,
        document={
            "condition": resolved_condition,
            "params": resolved_params,
            "draft": (resolved_condition, resolved_params) != (rule.condition, rule.params or {}),
        },
        days=days,
        actor=stored_actor(actor),
    )
    transaction.on_commit(partial(backtest_run.delay, run.pk))
    return run


def backtest_check(*, rule: ExceptionRule, condition: Any, params: Any, days: Any = None) -> None:
    """Refuse a test or back-test (with ``days``) the rule cannot have: ``no_condition`` (a
    reconciliation rule), ``invalid_rule`` (naming the bad node), ``days`` outside 1 to 90."""
    if rule.source != ExceptionRule.Source.CONDITION:
        raise DomainError(code=RuleErrorCode.NO_CONDITION, field="condition", message=RuleErrorCode.NO_CONDITION.label)
    if days is not None and (
        isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= BacktestRun.MAX_DAYS
    ):
        raise DomainError(
            code="invalid", field="days", message=_("Back-test 1 to %(max)d days.") % {"max": BacktestRun.MAX_DAYS}
        )
    rule_validate(condition=condition, params=params)


def backtest_run_execute(*, run_id: int) -> BacktestRun | None:
    """Compute a queued back-test in chunks of days, recording its progress as it goes.

    Not atomic: each progress step commits, so that the run's readers see it move. A run that is
    gone, done or failed is left as it is (a repeated message does the work once); a run found
    running was cut short by a dead worker and is computed again from the start.
    """
    run = BacktestRun.objects.select_related("rule").filter(pk=run_id).first()
    if run is None or run.status in (BacktestRun.Status.DONE, BacktestRun.Status.FAILED):
        logger.info("back-test run %s is gone or finished; nothing to do", run_id)
        return run
    started = timezone.now()
    BacktestRun.objects.filter(pk=run_id).update(
        status=BacktestRun.Status.RUNNING, progress=0, started_at=started, updated_at=started
    )

    def progress(percent: int) -> None:
        # 100 is written with the result, so that "100 %" always comes with an answer.
        BacktestRun.objects.filter(pk=run_id).update(progress=min(percent, 99), updated_at=timezone.now())

    try:
        result = backtest.rule_backtest(
            condition=run.document.get("condition"),
            params=run.document.get("params") or {},
            days=run.days,
            rule=run.rule,
            progress=progress,
        )
    except DomainError as exc:
        return backtest_run_fail(run_id=run_id, error=str(exc.message))
    finished = timezone.now()
    BacktestRun.objects.filter(pk=run_id).update(
        status=BacktestRun.Status.DONE, progress=100, result=result, error="", finished_at=finished, updated_at=finished
    )
    return BacktestRun.objects.get(pk=run_id)


def backtest_run_fail(*, run_id: int, error: str) -> BacktestRun | None:
    """Record that a back-test could not be computed, and why (shown with the run)."""
    finished = timezone.now()
    BacktestRun.objects.filter(pk=run_id).exclude(status=BacktestRun.Status.DONE).update(
        status=BacktestRun.Status.FAILED, error=error[:2000], finished_at=finished, updated_at=finished
    )
    return BacktestRun.objects.filter(pk=run_id).first()
