"""Platform reconciliation: compare a shop platform's order list with what OrderGuard holds."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.exceptions import services as exception_services
from apps.orders import selectors as order_selectors
from apps.orders.models import Order
from apps.rules.services import rule_by_code

MISSING_ORDER = "MISSING_ORDER"


@dataclass
class ReconciliationFindings:
    channel: str
    checked: int
    present: int
    missing: list[str] = field(default_factory=list)
    total_differs: list[dict[str, Any]] = field(default_factory=list)
    raised: int = 0
    again: int = 0


@transaction.atomic
def reconciliation_run(*, channel: str, orders: list[dict[str, Any]], now: datetime | None = None):
    """Raise MISSING_ORDER (漏单) for each listed order the system lacks; report total differences.

    ``orders`` items carry ``external_id``, ``total_amount`` (Decimal) and ``placed_at``. A
    listed order that arrives later resolves its exception (see the order services).
    """
    now = now or timezone.now()
    listed = {item["external_id"]: item for item in orders}
    known = order_selectors.order_ids_by_keys(keys={(channel, ext) for ext in listed})
    missing = sorted(ext for ext in listed if (channel, ext) not in known)
    findings = ReconciliationFindings(channel=channel, checked=len(listed), present=len(known), missing=missing)
    if known:
        totals = dict(Order.objects.filter(pk__in=known.values()).values_list("external_id", "total_amount"))
        for ext, stored in sorted(totals.items()):
            reported: Decimal = listed[ext]["total_amount"]
            if stored != reported:
                findings.total_differs.append({"external_id": ext, "reported": reported, "stored": stored})
    if missing:
        details = {
            ext: {"total_amount": str(listed[ext]["total_amount"]), "placed_at": listed[ext]["placed_at"].isoformat()}
            for ext in missing
        }
        result = exception_services.missing_order_sync(
            rule=rule_by_code(MISSING_ORDER), channel=channel, external_ids=missing, now=now, details=details
        )
        findings.raised, findings.again = result.created, result.redetected
    return findings
