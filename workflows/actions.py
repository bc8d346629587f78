"""The automatic steps (``kind: action``) a workflow can run; each returns ``(outcome, note)``.

- ``replenishment_request``: a purchase request per short SKU of a stock-shortage exception;
  outcome ``done``.
- ``apply_corrections``: the corrected phone / address that the previous step's form collected
  go onto the order through the order services, which re-run detection; outcome ``cleared``
  when the exception's condition no longer holds, else ``still_open``.
- ``recheck``: detection re-runs on the order; ``cleared`` or ``still_open`` the same way.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from apps.exceptions.models import OrderException
from apps.orders import services as order_services
from workflows.document import Action
from workflows.models import HandlingCase, HandlingTask


def _shortfalls(details: dict[str, Any]) -> dict[str, int]:
    short: dict[str, int] = {}
    for line in details.get("lines") or []:
        try:
            available = int(line.get("on_hand") or 0) - int(line.get("reserved") or 0)
            missing = int(line.get("quantity") or 0) - max(available, 0)
        except (TypeError, ValueError):
            continue
        if line.get("sku") and missing > 0:
            short[line["sku"]] = short.get(line["sku"], 0) + missing
    return short


def _replenish(case: HandlingCase) -> tuple[str, str]:
    exc = case.exception
    raised = order_services.purchase_requests_raise(
        shortfalls=_shortfalls(exc.details or {}), order_id=exc.order_id, exception_id=exc.pk, note=exc.summary
    )
    note = _("Purchase requests raised: %(items)s.") % {
        "items": ", ".join(f"{item.sku} × {item.quantity}" for item in raised) or _("none needed")
    }
    return "done", note


def _last_form_data(case: HandlingCase) -> dict[str, Any]:
    done = (
        HandlingTask.objects.filter(process_id=case.pk, flow_task_type="HUMAN", status="DONE")
        .order_by("-finished", "-pk")
        .first()
    )
    return (done.data or {}).get("form") or {} if done else {}


def _cleared(case: HandlingCase) -> tuple[str, str]:
    status = OrderException.objects.filter(pk=case.exception_id).values_list("status", flat=True).first()
    if status in OrderException.ACTIVE:
        return "still_open", _("The exception's condition still holds.")
    return "cleared", _("The exception's condition no longer holds.")


def _apply_corrections(case: HandlingCase) -> tuple[str, str]:
    form = _last_form_data(case)
    changes: dict[str, Any] = {}
    if form.get("corrected_phone"):
        changes["customer"] = {"phone": form["corrected_phone"]}
        changes["shipping_address"] = {"phone": form["corrected_phone"]}
    if form.get("corrected_address"):
        changes.setdefault("shipping_address", {})["detail"] = form["corrected_address"]
    if case.exception.order_id and changes:
        order_services.order_update(order_id=case.exception.order_id, data=changes)
    elif case.exception.order_id:
        order_services.order_detection_run(order_ids=[case.exception.order_id])
    return _cleared(case)


def _recheck(case: HandlingCase) -> tuple[str, str]:
    if case.exception.order_id:
        order_services.order_detection_run(order_ids=[case.exception.order_id])
    return _cleared(case)


ACTIONS = {
    Action.REPLENISHMENT_REQUEST: _replenish,
    Action.APPLY_CORRECTIONS: _apply_corrections,
    Action.RECHECK: _recheck,
}


def run(name: str, *, case: HandlingCase) -> tuple[str, str]:
    return ACTIONS[name](case)
