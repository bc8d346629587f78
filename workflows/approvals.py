"""What needs a manager's approval (SPEC §9.5): a proposed resolution that costs money or changes
the order, or the waiver of a high or urgent exception.

Staff propose with the outcome that resolves their task; a proposal above what they may decide
sends the case to its manager approval instead (``services.task_complete``), and the manager's
decision (``services.approval_decide``) is recorded with its reason in the audit trail.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from apps.accounts.models import Department
from apps.common.errors import DomainError
from apps.exceptions.evidence import money_text
from apps.exceptions.models import OrderException
from apps.rules.models import Severity

WAIVER_PERMISSION = "exceptions.grant_waiver"
MAX_AMOUNT = Decimal("9999999999.99")


class ProposalKind(models.TextChoices):
    REFUND = "refund", pgettext_lazy("proposal", "Refund")
    COMPENSATION = "compensation", pgettext_lazy("proposal", "Compensation")
    PRICE_CORRECTION = "price_correction", pgettext_lazy("proposal", "Price correction")
    CANCEL_ORDER = "cancel_order", pgettext_lazy("proposal", "Cancel the order")
    WAIVE = "waive", pgettext_lazy("proposal", "Waive (accept as it is)")


class Decision(models.TextChoices):
    APPROVE = "approve", pgettext_lazy("approval decision", "Approve")
    REJECT = "reject", pgettext_lazy("approval decision", "Reject (back to the assignee)")
    REASSIGN = "reassign", pgettext_lazy("approval decision", "Reassign")
    RAISE_SEVERITY = "raise_severity", pgettext_lazy("approval decision", "Raise the severity")
    DISMISS = "dismiss", pgettext_lazy("approval decision", "Dismiss as not real")


MONEY_KINDS = (ProposalKind.REFUND, ProposalKind.COMPENSATION, ProposalKind.PRICE_CORRECTION)


def proposal_check(proposal: Any, *, exception: OrderException, department: Department | None) -> tuple[dict, bool]:
    """The clean proposal and whether a manager must approve it; ``DomainError`` names the field."""
    if not isinstance(proposal, dict):
        raise DomainError(code="invalid", field="proposal", message=_("A proposal is an object with a kind."))
    kind = proposal.get("kind")
    if kind not in ProposalKind.values:
        raise DomainError(
            code="invalid",
            field="proposal.kind",
            message=_("Choose one of: %(keys)s.") % {"keys": ", ".join(ProposalKind.values)},
        )
    unknown = sorted(set(proposal) - {"kind", "amount", "note"})
    if unknown:
        raise DomainError(code="invalid", field=f"proposal.{unknown[0]}", message=_("Unknown key."))
    clean: dict[str, Any] = {"kind": kind}
    amount = None
    if kind in MONEY_KINDS:
        try:
            amount = Decimal(str(proposal.get("amount", "")).strip())
        except InvalidOperation:
            amount = None
        if amount is None or not amount.is_finite() or amount <= 0 or amount > MAX_AMOUNT:
            raise DomainError(code="invalid", field="proposal.amount", message=_("Give an amount above zero."))
        clean["amount"] = str(amount.quantize(Decimal("0.01")))
    elif "amount" in proposal and proposal["amount"] not in (None, ""):
        raise DomainError(code="invalid", field="proposal.amount", message=_("This proposal has no amount."))
    note = str(proposal.get("note") or "").strip()
    if len(note) > 1000:
        raise DomainError(code="invalid", field="proposal.note", message=_("At most 1000 characters."))
    if note:
        clean["note"] = note
    if kind in (ProposalKind.REFUND, ProposalKind.COMPENSATION):
        limit = department.approval_limit if department is not None else None
        needs = limit is None or amount > limit
    elif kind == ProposalKind.WAIVE:
        needs = exception.severity in (Severity.HIGH, Severity.URGENT)
    else:  # a price correction or cancelling the order changes the order: always a manager's call
        needs = True
    return clean, needs


def proposal_text(proposal: dict | None) -> str:
    """The proposal in words, for the approval page and the audit trail."""
    if not proposal:
        return ""
    kind = ProposalKind(proposal["kind"]).label if proposal.get("kind") in ProposalKind.values else proposal.get("kind")
    parts = [str(kind)]
    if proposal.get("amount"):
        parts.append(money_text(proposal["amount"]))
    if proposal.get("note"):
        parts.append(proposal["note"])
    return " · ".join(parts)
