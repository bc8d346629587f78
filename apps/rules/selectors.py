"""Reads of the rules domain: the field registry's labels and types for other apps, the rules and
their versions for the configuration API, back-test runs."""

from __future__ import annotations

from django.db.models import Max, QuerySet

from apps.orders.models import Order
from apps.rules.fields import COLLECTIONS, SCOPES, FieldDef
from apps.rules.models import BacktestRun, ExceptionRule, RuleVersion

# Orders that raise nothing, whatever the rules say (SPEC §3).
SILENT_STATUSES = (Order.Status.CANCELLED, Order.Status.REFUNDED)


def rule_field(*, scope: str, name: str) -> FieldDef | None:
    """The declaration of field ``name`` of ``scope`` (order, line, shipment, shipment_line, payment), if any."""
    return SCOPES.get(scope, {}).get(name)


def collection_scope(*, collection: str) -> str | None:
    """The scope of a collection's rows (``lines`` → ``line``), if it is one."""
    definition = COLLECTIONS.get(collection)
    return None if definition is None else definition.scope


def rule_list() -> QuerySet[ExceptionRule]:
    return ExceptionRule.objects.order_by("code")


def rule_get(*, code: str) -> ExceptionRule:
    """The rule of ``code``; ``ExceptionRule.DoesNotExist`` when there is none."""
    return rule_list().get(code=code)


def rule_versions(*, rule: ExceptionRule) -> QuerySet[RuleVersion]:
    """The rule's versions, the newest first, with who saved each."""
    return rule.versions.select_related("actor").order_by("-number")


def rule_version_numbers(*, rule_ids: list[int]) -> dict[int, int]:
    """The current version's number of each rule that has versions (one query)."""
    rows = RuleVersion.objects.filter(rule_id__in=rule_ids).values("rule_id").annotate(last=Max("number"))
    return {row["rule_id"]: row["last"] for row in rows}


def backtest_run_get(*, run_id: int) -> BacktestRun:
    """The run of ``run_id``, with its rule; ``BacktestRun.DoesNotExist`` when there is none."""
    return BacktestRun.objects.select_related("rule").get(pk=run_id)
