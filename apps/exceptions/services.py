"""Writes of the exception domain: grading, and the set-based sync the detection engine calls.

The sync services take the outcome of one rule over a set of orders and bring the stored
exceptions in line with it in a handful of queries, however many orders there are:
matched orders without an active exception get one (graded, marked as a recurrence when an
earlier one ended within ``RECURRENCE_WINDOW``), matched orders with one get ``occurrences``
+ 1 only when the evidence (``details``) differs from the stored one, and active exceptions on
evaluated orders that no longer match become ``auto_resolved``. A missing order listed again by
a reconciliation counts as an occurrence each time: each listing is a sighting of its own.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.utils import timezone, translation

from apps.accounts.models import Department
from apps.exceptions import evidence, handoff, selectors
from apps.exceptions.calendar import add_business_time
from apps.exceptions.calendars import Calendars, calendars_load
from apps.exceptions.models import (
    ACTIVE_STATUSES,
    ExceptionEvent,
    ExceptionStatus,
    Handling,
    NotifyChannel,
    OrderException,
)
from apps.exceptions.selectors import GradingRow, chunked
from apps.rules.models import ExceptionRule, Severity

# SPEC §3: a detection within 7 days after an exception on the same rule and order ended is a recurrence.
RECURRENCE_WINDOW = timedelta(days=7)
# Without a resolution time on the grading row, resolution is due this many first-response
# times after detection: 40 minutes for a 10-minute stock shortage, a working day (8 h) for a
# 2-hour customer call-back.
RESOLUTION_FACTOR = 4
# When no grading row matches (the catch-all row was disabled or deleted), an exception still
# gets the rule's severity and a one-hour first response, just no department.
FALLBACK_FIRST_RESPONSE_MINUTES = 60
DEFAULT_HIGH_VALUE_AMOUNT = Decimal("5000.00")
SUMMARY_MAX_LENGTH = 255


# --- Grading ------------------------------------------------------------------------------------


def high_value_amount() -> Decimal:
    """``ORDERGUARD_HIGH_VALUE_AMOUNT``: orders above it get one severity level more.

    Read at call time, so tests and deployments can change it without a restart of imports.
    """
    raw = getattr(settings, "ORDERGUARD_HIGH_VALUE_AMOUNT", DEFAULT_HIGH_VALUE_AMOUNT)
    try:
        value = Decimal(str(raw).strip() or DEFAULT_HIGH_VALUE_AMOUNT)
    except InvalidOperation as exc:
        raise ImproperlyConfigured(f"ORDERGUARD_HIGH_VALUE_AMOUNT must be an amount, not {raw!r}") from exc
    if not value.is_finite() or value < 0:
        raise ImproperlyConfigured(f"ORDERGUARD_HIGH_VALUE_AMOUNT must be a non-negative amount, not {raw!r}")
    return value


@dataclass(frozen=True)
class Grade:
    """The grading table's verdict for one exception."""

    severity: str
    department: Department | None
    handling: str
    first_response_due_at: datetime
    due_at: datetime
    notify_channels: tuple[str, ...]
    # The grading row that decided (None: no row matched), kept in the audit trail.
    grading_rule_id: int | None = None


def _row_matches(
    row: GradingRow,
    *,
    rule: ExceptionRule,
    channel: str,
    amount: Decimal | None,
    customer_tags: Collection[str],
    at: datetime,
) -> bool:
    # The conditions are defined once, in the selector the grading editor's tester explains with.
    checks = selectors.grading_row_checks(
        row, category=rule.category, rule_id=rule.pk, channel=channel, amount=amount, customer_tags=customer_tags, at=at
    )
    return all(check.held for check in checks)


@dataclass(frozen=True)
class GradingTable:
    """The active grading rows, loaded once; ``decide`` grades without touching the database."""

    rows: tuple[GradingRow, ...]
    high_value_amount: Decimal
    # The departments' business calendars: deadlines count working time (SPEC §9.4).
    calendars: Calendars

    def decide(
        self,
        *,
        rule: ExceptionRule,
        channel: str,
        amount: Decimal | None,
        customer_tags: Collection[str],
        at: datetime,
    ) -> Grade:
        row = next(
            (
                row
                for row in self.rows
                if _row_matches(row, rule=rule, channel=channel, amount=amount, customer_tags=customer_tags, at=at)
            ),
            None,
        )
        if row is None:
            first_response = FALLBACK_FIRST_RESPONSE_MINUTES
            resolution = None
            severity = rule.default_severity
            department = None
            handling = Handling.TRIAGE.value
            notify = (NotifyChannel.IN_APP.value,)
        else:
            first_response = row.first_response_minutes
            resolution = row.resolution_minutes
            severity = row.severity or rule.default_severity
            department = row.department
            handling = row.handling
            notify = row.notify_channels
        if amount is not None and amount > self.high_value_amount:
            severity = Severity.raised(severity)
        resolution = resolution or first_response * RESOLUTION_FACTOR
        calendar = self.calendars.for_department(department.pk if department is not None else None)
        return Grade(
            severity=severity,
            department=department,
            handling=handling,
            first_response_due_at=add_business_time(calendar, at, timedelta(minutes=first_response)),
            due_at=add_business_time(calendar, at, timedelta(minutes=resolution)),
            notify_channels=tuple(notify),
            grading_rule_id=row.id if row is not None else None,
        )


def grading_table() -> GradingTable:
    """Load the active grading rows and the high-value threshold once, for grading many exceptions."""
    return GradingTable(
        rows=selectors.grading_rows(), high_value_amount=high_value_amount(), calendars=calendars_load()
    )


def grading_decide(
    *,
    rule: ExceptionRule,
    order_or_none: Any = None,
    channel: str | None = None,
    amount: Decimal | None = None,
    customer_tags: Collection[str] | None = None,
    at: datetime,
    table: GradingTable | None = None,
) -> Grade:
    """Grade one exception of ``rule``: the first matching active row wins, a high-value order is raised a level.

    ``channel``, ``amount`` and ``customer_tags`` default to the order's (its customer is read
    if it is not loaded yet); pass ``table`` from ``grading_table()`` to grade many without
    re-reading the table.
    """
    if order_or_none is not None:
        if channel is None:
            channel = order_or_none.channel
        if amount is None:
            amount = order_or_none.total_amount
        if customer_tags is None:
            tags = order_or_none.customer.tags
            customer_tags = tuple(tags) if isinstance(tags, list) else ()
    table = table if table is not None else grading_table()
    return table.decide(rule=rule, channel=channel or "", amount=amount, customer_tags=customer_tags or (), at=at)


# --- Summary ------------------------------------------------------------------------------------


def exception_summary(
    *, rule: ExceptionRule, details: Mapping[str, Any], channel: str = "", external_id: str = ""
) -> str:
    """The stored one-line summary: ``evidence.summary_text`` in the site's language (LANGUAGE_CODE).

    The column serves search and sorting; readers get the line rendered in their own language
    from the rule and the details (``evidence.exception_summary_text``).
    """
    with translation.override(settings.LANGUAGE_CODE):
        text = evidence.summary_text(rule=rule, details=details, channel=channel, external_id=external_id)
    if len(text) > SUMMARY_MAX_LENGTH:
        text = text[: SUMMARY_MAX_LENGTH - 1] + "…"
    return text


# --- Sync ---------------------------------------------------------------------------------------

# Facts of the details that change with the clock alone (how late, as of the detection): a
# re-detection that differs only in them brings no new evidence.
VOLATILE_DETAILS = frozenset({"late_minutes"})

Details = Mapping[str, Any]
# order ids → their details, called by the sync for only the orders it needs details of.
Evidence = Callable[[list[int]], Mapping[int, Details]]


def evidence_equal(stored: Any, found: Any) -> bool:
    """Whether two details are the same evidence (``VOLATILE_DETAILS`` aside)."""
    if not isinstance(stored, Mapping) or not isinstance(found, Mapping):
        return stored == found
    strip = lambda details: {k: v for k, v in details.items() if k not in VOLATILE_DETAILS}  # noqa: E731
    return strip(stored) == strip(_as_json(found))


def _as_json(details: Mapping[str, Any]) -> Any:
    # Compared with what the JSON column gives back: Decimals and times as the encoder writes them.
    return json.loads(json.dumps(details, cls=DjangoJSONEncoder))


@dataclass(frozen=True)
class RuleMatches:
    """One rule's outcome over the evaluated orders, as the sync takes it.

    ``matched`` maps each order where the condition holds to its details, or lists the orders
    and leaves the details to ``evidence``, which the sync calls for the orders it creates an
    exception on or compares the evidence of (never for the others). ``unevaluated`` are
    orders of the scope the rule could not be evaluated for (a run-time failure): their
    active exceptions are left as they are.
    """

    rule: ExceptionRule
    matched: Mapping[int, Details] | Collection[int]
    evidence: Evidence | None = None
    unevaluated: Collection[int] = ()

    def details_for(self, order_ids: Collection[int]) -> dict[int, Details]:
        known = self.matched if isinstance(self.matched, Mapping) else {}
        out = {pk: known[pk] for pk in order_ids if pk in known}
        missing = sorted(pk for pk in order_ids if pk not in known)
        if missing and self.evidence is not None:
            found = self.evidence(missing)
            out.update({pk: found[pk] for pk in missing if pk in found})
        return out


@dataclass(frozen=True)
class SyncResult:
    """What one sync changed; the ids let callers hand follow-up work (routing, notices) to on_commit.

    ``redetected`` counts the matched orders that already had an active exception; of those,
    ``renewed`` had new evidence (one more occurrence, the details replaced).
    """

    created: int = 0
    redetected: int = 0
    auto_resolved: int = 0
    renewed: int = 0
    created_ids: tuple[int, ...] = ()
    redetected_ids: tuple[int, ...] = ()
    auto_resolved_ids: tuple[int, ...] = ()
    renewed_ids: tuple[int, ...] = ()


@dataclass
class _Changes:
    created_ids: list[int] = field(default_factory=list)
    redetected_ids: list[int] = field(default_factory=list)
    auto_resolved_ids: list[int] = field(default_factory=list)
    renewed_ids: list[int] = field(default_factory=list)

    def result(self) -> SyncResult:
        return SyncResult(
            created=len(self.created_ids),
            redetected=len(self.redetected_ids),
            auto_resolved=len(self.auto_resolved_ids),
            renewed=len(self.renewed_ids),
            created_ids=tuple(self.created_ids),
            redetected_ids=tuple(self.redetected_ids),
            auto_resolved_ids=tuple(self.auto_resolved_ids),
            renewed_ids=tuple(self.renewed_ids),
        )


def _active_exceptions(*, rule_ids: Collection[int], **lookups: Any):
    # Locked in id order: a concurrent sync of the same rule waits here instead of updating a row
    # this one is about to auto-resolve (and two syncs lock overlapping rows in the same order).
    return (
        OrderException.objects.filter(rule_id__in=list(rule_ids), status__in=ACTIVE_STATUSES, **lookups)
        .select_for_update()
        .order_by("pk")
    )


def _redetect(*, exception_ids: list[int], now: datetime) -> None:
    """One more occurrence each (missing orders: every reconciliation that lists one is a sighting)."""
    for chunk in chunked(exception_ids):
        OrderException.objects.filter(pk__in=chunk).update(
            occurrences=F("occurrences") + 1,
            # Never backwards: an event replayed late must not move the last detection earlier.
            last_detected_at=Greatest(F("last_detected_at"), Value(now)),
            updated_at=timezone.now(),
        )


@dataclass(frozen=True)
class _Renewal:
    """An active exception whose re-detection brought new evidence."""

    exception_id: int
    rule: ExceptionRule
    occurrences: int  # after this detection
    details: Details
    channel: str
    external_id: str


def _renew(*, renewals: list[_Renewal], now: datetime) -> None:
    """Store the new evidence of re-detected exceptions: one occurrence more, the new details and
    summary, and a "detected again" event each; one UPDATE per 500 exceptions."""
    if not renewals:
        return
    stamp = timezone.now()
    rows = []
    for renewal in renewals:
        row = OrderException(pk=renewal.exception_id)
        row.occurrences = F("occurrences") + 1
        row.last_detected_at = Greatest(F("last_detected_at"), Value(now))
        row.details = dict(renewal.details)
        row.summary = exception_summary(
            rule=renewal.rule, details=renewal.details, channel=renewal.channel, external_id=renewal.external_id
        )
        row.updated_at = stamp
        rows.append(row)
    OrderException.objects.bulk_update(
        rows, ["occurrences", "last_detected_at", "details", "summary", "updated_at"], batch_size=500
    )
    ExceptionEvent.objects.bulk_create(
        [
            ExceptionEvent(
                exception_id=renewal.exception_id,
                at=now,
                kind=ExceptionEvent.Kind.REDETECTED,
                data={"occurrences": renewal.occurrences, "details": dict(renewal.details)},
            )
            for renewal in renewals
        ],
        batch_size=1000,
    )


def _auto_resolve(*, exception_ids: list[int], now: datetime) -> list[int]:
    for chunk in chunked(exception_ids):
        OrderException.objects.filter(pk__in=chunk, status__in=ACTIVE_STATUSES).update(
            status=ExceptionStatus.AUTO_RESOLVED, resolved_at=now, updated_at=timezone.now()
        )
    return exception_ids


def _new_exception(
    *,
    rule: ExceptionRule,
    grade: Grade,
    order_id: int | None,
    channel: str,
    external_id: str,
    details: Mapping[str, Any],
    recurrence_of_id: int | None,
    now: datetime,
) -> OrderException:
    return OrderException(
        rule=rule,
        order_id=order_id,
        channel=channel,
        external_id=external_id,
        status=ExceptionStatus.OPEN,
        severity=grade.severity,
        category=rule.category,
        department=grade.department,
        handling=grade.handling,
        notify_channels=list(grade.notify_channels),
        summary=exception_summary(rule=rule, details=details, channel=channel, external_id=external_id),
        detected_at=now,
        last_detected_at=now,
        first_response_due_at=grade.first_response_due_at,
        due_at=grade.due_at,
        is_recurrence=recurrence_of_id is not None,
        recurrence_of_id=recurrence_of_id,
        details=dict(details),
    )


def _insert(
    *,
    candidates: list[OrderException],
    grades: list[Grade],
    active_for: Callable[[OrderException], Any],
    lost_race: Callable[[OrderException, int], None],
    now: datetime,
) -> list[tuple[OrderException, Grade]]:
    """Insert the new exceptions; one that lost a race to a concurrent writer becomes a re-detection.

    The partial unique constraint is what makes this race-safe: the losing insert fails (on
    PostgreSQL it first waits for the winner's commit), and ``lost_race(candidate, winner id)``
    then deals with the winner's row. The common case is one multi-row INSERT.
    """
    try:
        with transaction.atomic():
            OrderException.objects.bulk_create(candidates, batch_size=1000)
        return list(zip(candidates, grades, strict=True))
    except IntegrityError:
        pass
    inserted: list[tuple[OrderException, Grade]] = []
    for candidate, grade in zip(candidates, grades, strict=True):
        # bulk_create may have filled in ids of batches before the failing one; those rolled back.
        candidate.pk = None
        candidate._state.adding = True
        try:
            with transaction.atomic():
                candidate.save(force_insert=True)
            inserted.append((candidate, grade))
        except IntegrityError:
            winner = active_for(candidate).first()
            if winner is None:
                raise  # another constraint refused the row: a bug, not a race
            lost_race(candidate, winner.pk)
    return inserted


def _record_events(
    *, auto_resolved_ids: list[int], inserted: list[tuple[OrderException, Grade]], now: datetime
) -> None:
    events = [
        ExceptionEvent(
            exception_id=exception.pk,
            at=now,
            kind=ExceptionEvent.Kind.DETECTED,
            data={
                "severity": exception.severity,
                "department": grade.department.code if grade.department else None,
                "grading_rule": grade.grading_rule_id,
                "recurrence_of": exception.recurrence_of_id,
            },
        )
        for exception, grade in inserted
    ]
    events += [
        ExceptionEvent(exception_id=pk, at=now, kind=ExceptionEvent.Kind.AUTO_RESOLVED, data={})
        for pk in auto_resolved_ids
    ]
    # Re-detections with the same evidence are no events (nor anything else); new evidence is
    # recorded by _renew.
    ExceptionEvent.objects.bulk_create(events, batch_size=1000)
    handoff.cases_request(exception_ids=[exception.pk for exception, _grade in inserted], now=now)
    handoff.cases_end_request(exception_ids=auto_resolved_ids)


@transaction.atomic
def exceptions_sync(
    *,
    rule: ExceptionRule,
    scope_order_ids: Collection[int] | None,
    matched: Mapping[int, Mapping[str, Any]] | Collection[int],
    now: datetime | None = None,
    table: GradingTable | None = None,
    count_redetections: bool = True,
    evidence: Evidence | None = None,
    unevaluated: Collection[int] = (),
) -> SyncResult:
    """Bring ``rule``'s exceptions in line with one evaluation of it.

    ``scope_order_ids`` are the orders that were evaluated (``None``: all orders, a full
    scan); ``matched`` maps each order where the condition holds to the details of the
    detection (or lists them, with ``evidence`` to read the details: see ``RuleMatches``).
    Orders in ``matched`` count as evaluated; ids of orders that no longer exist are ignored.
    Pass ``table`` to grade several rules' syncs with one read of the table.

    A matched order with an active exception is a re-detection: when its details equal the
    stored ones nothing changes; new evidence adds one occurrence and replaces the details.
    ``count_redetections=False`` (the periodic scans) leaves still-holding exceptions as they
    are, without reading their evidence: the clock brings no new evidence.

    Queries: one per 8000 orders for each of the lock, the order facts, the recurrence
    lookup, the insert and the auto-resolution update, plus the events, and one UPDATE per
    500 exceptions with new evidence.
    """
    return exceptions_sync_rules(
        outcomes=[RuleMatches(rule, matched, evidence, unevaluated)],
        scope_order_ids=scope_order_ids,
        now=now,
        table=table,
        count_redetections=count_redetections,
    )[0]


@transaction.atomic
def exceptions_sync_rules(
    *,
    outcomes: Sequence[RuleMatches | tuple[ExceptionRule, Mapping[int, Mapping[str, Any]]]],
    scope_order_ids: Collection[int] | None,
    now: datetime | None = None,
    table: GradingTable | None = None,
    count_redetections: bool = True,
) -> list[SyncResult]:
    """``exceptions_sync`` for several rules evaluated over the same orders, in the queries of one.

    A write that raises three exceptions on its order pays for one lock, one facts read, one
    recurrence lookup, one insert and one events insert, not three of each. ``outcomes`` are
    ``RuleMatches`` (or ``(rule, matched details)`` pairs). Returns one result per outcome, in order.
    """
    now = now or timezone.now()
    given = [item if isinstance(item, RuleMatches) else RuleMatches(*item) for item in outcomes]
    by_rule = {item.rule.pk: item for item in given}
    rules = {rule_id: item.rule for rule_id, item in by_rule.items()}
    matched_ids = {rule_id: set(item.matched) for rule_id, item in by_rule.items()}
    changes = {rule_id: _Changes() for rule_id in rules}

    # rule → order → (exception id, occurrences, stored details, channel, external id)
    active: dict[int, dict[int, tuple]] = {rule_id: {} for rule_id in rules}
    columns = ("rule_id", "order_id", "pk")
    if count_redetections:
        columns += ("occurrences", "details", "channel", "external_id")
    if scope_order_ids is None:
        for rule_id, order_id, *row in _active_exceptions(rule_ids=rules, order__isnull=False).values_list(*columns):
            active[rule_id][order_id] = tuple(row)
    else:
        evaluated = set(scope_order_ids).union(*matched_ids.values())
        for chunk in chunked(sorted(evaluated)):
            rows = _active_exceptions(rule_ids=rules, order_id__in=chunk).values_list(*columns)
            for rule_id, order_id, *row in rows:
                active[rule_id][order_id] = tuple(row)

    to_create: list[tuple[int, int]] = []  # (rule id, order id)
    renewals: list[_Renewal] = []
    for rule_id, found in active.items():
        item = by_rule[rule_id]
        wanted = matched_ids[rule_id]
        skipped = set(item.unevaluated) - wanted
        still = sorted(wanted & found.keys())
        changes[rule_id].redetected_ids = [found[order_id][0] for order_id in still]
        changes[rule_id].auto_resolved_ids = sorted(
            row[0] for order_id, row in found.items() if order_id not in wanted and order_id not in skipped
        )
        new = sorted(wanted - found.keys())
        to_create += [(rule_id, order_id) for order_id in new]
        if count_redetections and still:
            details = item.details_for(still)
            for order_id in still:
                pk, occurrences, stored, channel, external_id = found[order_id]
                fresh = details.get(order_id, {})
                if not evidence_equal(stored, fresh):
                    renewals.append(_Renewal(pk, rules[rule_id], occurrences + 1, fresh, channel, external_id))
                    changes[rule_id].renewed_ids.append(pk)
    _renew(renewals=renewals, now=now)
    _auto_resolve(exception_ids=sorted(pk for c in changes.values() for pk in c.auto_resolved_ids), now=now)

    inserted: list[tuple[OrderException, Grade]] = []
    if to_create:
        facts = selectors.order_facts(order_ids={order_id for _rule_id, order_id in to_create})
        recurrences = selectors.recent_ended_by_rule_and_order(
            rule_ids=rules, order_ids=facts.keys(), since=now - RECURRENCE_WINDOW
        )
        details_by_rule: dict[int, dict[int, Details]] = {}
        for rule_id in rules:
            wanted = [order_id for r_id, order_id in to_create if r_id == rule_id and order_id in facts]
            details_by_rule[rule_id] = by_rule[rule_id].details_for(wanted) if wanted else {}
        table = table if table is not None else grading_table()
        candidates, grades = [], []
        with translation.override(settings.LANGUAGE_CODE):
            for rule_id, order_id in to_create:
                fact = facts.get(order_id)
                if fact is None:
                    continue  # the order no longer exists
                rule = rules[rule_id]
                grade = table.decide(
                    rule=rule, channel=fact.channel, amount=fact.amount, customer_tags=fact.customer_tags, at=now
                )
                candidates.append(
                    _new_exception(
                        rule=rule,
                        grade=grade,
                        order_id=order_id,
                        channel=fact.channel,
                        external_id=fact.external_id,
                        details=details_by_rule[rule_id].get(order_id, {}),
                        recurrence_of_id=recurrences.get((rule_id, order_id)),
                        now=now,
                    )
                )
                grades.append(grade)

        def lost_race(candidate: OrderException, winner_id: int) -> None:
            # A concurrent writer raised it first: a re-detection of its row, with new evidence
            # only if this one's details differ.
            changes[candidate.rule_id].redetected_ids.append(winner_id)
            winner = OrderException.objects.select_for_update().values_list("occurrences", "details").get(pk=winner_id)
            if not evidence_equal(winner[1], candidate.details):
                rule = rules[candidate.rule_id]
                renewal = _Renewal(
                    winner_id, rule, winner[0] + 1, candidate.details, candidate.channel, candidate.external_id
                )
                _renew(renewals=[renewal], now=now)
                changes[candidate.rule_id].renewed_ids.append(winner_id)

        inserted = _insert(
            candidates=candidates,
            grades=grades,
            active_for=lambda exc: _active_exceptions(rule_ids=[exc.rule_id], order_id=exc.order_id),
            lost_race=lost_race,
            now=now,
        )
        for exception, _grade in inserted:
            changes[exception.rule_id].created_ids.append(exception.pk)
    _record_events(
        auto_resolved_ids=[pk for c in changes.values() for pk in c.auto_resolved_ids], inserted=inserted, now=now
    )
    return [changes[item.rule.pk].result() for item in given]


def _amount(details: Mapping[str, Any]) -> Decimal | None:
    try:
        return Decimal(str(details["total_amount"]))
    except (KeyError, InvalidOperation):
        return None


@transaction.atomic
def missing_order_sync(
    *,
    rule: ExceptionRule,
    channel: str,
    external_ids: Collection[str],
    now: datetime | None = None,
    details: Mapping[str, Mapping[str, Any]] | None = None,
    table: GradingTable | None = None,
) -> SyncResult:
    """Raise ``rule`` (MISSING_ORDER) for each listed order key of ``channel`` that has no order.

    A key with an active exception counts as re-detected (one more occurrence: each listing is
    a sighting), and takes the new listing's details when they differ; a key whose order exists
    by now is skipped (it arrived after the caller looked, and would never resolve the exception).
    ``details`` per external id is stored on the exception; its ``total_amount``, if any,
    grades it like an order amount. Nothing is auto-resolved here: ``missing_order_resolve``
    does that when the order arrives.
    """
    now = now or timezone.now()
    details = details or {}
    changes = _Changes()
    keys = set(external_ids) - selectors.existing_order_keys(channel=channel, external_ids=set(external_ids))

    active: dict[str, tuple[int, Any]] = {}
    for chunk in chunked(sorted(keys)):
        rows = _active_exceptions(
            rule_ids=[rule.pk], order__isnull=True, channel=channel, external_id__in=chunk
        ).values_list("external_id", "pk", "details")
        active.update((external_id, (pk, stored)) for external_id, pk, stored in rows)
    changes.redetected_ids = sorted(active[key][0] for key in keys & active.keys())
    _redetect(exception_ids=changes.redetected_ids, now=now)
    changed = [
        OrderException(
            pk=active[key][0],
            details=dict(details[key]),
            summary=exception_summary(rule=rule, details=details[key], channel=channel, external_id=key),
        )
        for key in sorted(keys & active.keys())
        if key in details and not evidence_equal(active[key][1], details[key])
    ]
    OrderException.objects.bulk_update(changed, ["details", "summary"], batch_size=500)
    changes.renewed_ids = [exception.pk for exception in changed]

    inserted: list[tuple[OrderException, Grade]] = []
    to_create = sorted(keys - active.keys())
    if to_create:
        recurrences = selectors.recent_ended_by_key(
            rule_id=rule.pk, channel=channel, external_ids=to_create, since=now - RECURRENCE_WINDOW
        )
        table = table if table is not None else grading_table()
        candidates, grades = [], []

        def lost_race(_candidate: OrderException, winner_id: int) -> None:
            _redetect(exception_ids=[winner_id], now=now)
            changes.redetected_ids.append(winner_id)

        for external_id in to_create:
            own = details.get(external_id, {})
            grade = table.decide(rule=rule, channel=channel, amount=_amount(own), customer_tags=(), at=now)
            candidates.append(
                _new_exception(
                    rule=rule,
                    grade=grade,
                    order_id=None,
                    channel=channel,
                    external_id=external_id,
                    details=own,
                    recurrence_of_id=recurrences.get(external_id),
                    now=now,
                )
            )
            grades.append(grade)
        inserted = _insert(
            candidates=candidates,
            grades=grades,
            active_for=lambda exc: _active_exceptions(
                rule_ids=[rule.pk], order__isnull=True, channel=channel, external_id=exc.external_id
            ),
            lost_race=lost_race,
            now=now,
        )
        changes.created_ids = [exception.pk for exception, _grade in inserted]
    _record_events(auto_resolved_ids=changes.auto_resolved_ids, inserted=inserted, now=now)
    return changes.result()


@transaction.atomic
def missing_orders_resolve(*, orders: Mapping[tuple[str, str], int], now: datetime | None = None) -> SyncResult:
    """Auto-resolve the active order-less exceptions of arrived orders and attach the orders.

    ``orders`` maps ``(channel, external_id)`` to the id of the order that now exists; one
    query per channel and 8000 keys finds the exceptions, one more updates them.
    """
    now = now or timezone.now()
    changes = _Changes()
    by_channel: dict[str, list[str]] = {}
    for channel, external_id in orders:
        by_channel.setdefault(channel, []).append(external_id)
    found: list[OrderException] = []
    for channel, external_ids in sorted(by_channel.items()):
        for chunk in chunked(sorted(external_ids)):
            found += (
                OrderException.objects.filter(
                    order__isnull=True, status__in=ACTIVE_STATUSES, channel=channel, external_id__in=chunk
                )
                .select_for_update()
                .order_by("pk")
                .only("pk", "channel", "external_id")
            )
    for exception in found:
        exception.order_id = orders[(exception.channel, exception.external_id)]
        exception.status = ExceptionStatus.AUTO_RESOLVED
        exception.resolved_at = now
        exception.updated_at = timezone.now()
    OrderException.objects.bulk_update(found, ["order", "status", "resolved_at", "updated_at"], batch_size=1000)
    changes.auto_resolved_ids = [exception.pk for exception in found]
    ExceptionEvent.objects.bulk_create(
        [
            ExceptionEvent(
                exception_id=exception.pk,
                at=now,
                kind=ExceptionEvent.Kind.AUTO_RESOLVED,
                data={"order": exception.order_id},
            )
            for exception in found
        ]
    )
    handoff.cases_end_request(exception_ids=changes.auto_resolved_ids)
    return changes.result()


def missing_order_resolve(*, channel: str, external_id: str, order_id: int, now: datetime | None = None) -> SyncResult:
    """Auto-resolve the missing-order exception of ``(channel, external_id)`` now that ``order_id`` arrived."""
    return missing_orders_resolve(orders={(channel, external_id): order_id}, now=now)
