"""What a person reads about an exception: its summary, its evidence and its audit trail, in words.

The console and the staff pages render these; nothing here returns raw JSON.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import gettext as _

from apps.exceptions import evidence as ev
from apps.exceptions.models import ExceptionEvent, GradingRule, OrderException


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    actor: str
    text: str


def summary(exception: OrderException) -> str:
    """One line in the active language."""
    return ev.exception_summary_text(exception)


def evidence(exception: OrderException) -> list[ev.EvidenceItem]:
    """The facts that raised the exception, as labelled values (see ``apps.exceptions.evidence``)."""
    return ev.exception_evidence(exception)


def timeline(events: Iterable[ExceptionEvent]) -> list[TimelineEntry]:
    """The audit trail, oldest first, each event as a sentence."""
    return [
        TimelineEntry(at=event.at, actor=str(event.actor) if event.actor_id else "", text=ev.event_text(event))
        for event in events
    ]


def grading_conditions(row: GradingRule) -> str:
    """What a grading row matches, as one phrase ("category Inventory, amount ≥ 5000"), or "any exception"."""
    parts = []
    if row.category:
        parts.append(_("category %(value)s") % {"value": row.get_category_display()})
    if row.rule_id:
        parts.append(_("rule %(value)s") % {"value": row.rule.display_name})
    if row.channel:
        parts.append(_("channel %(value)s") % {"value": row.get_channel_display()})
    if row.min_amount is not None:
        parts.append(_("amount ≥ %(value)s") % {"value": row.min_amount})
    if row.max_amount is not None:
        parts.append(_("amount ≤ %(value)s") % {"value": row.max_amount})
    if row.customer_tag:
        parts.append(_("customer tagged %(value)s") % {"value": row.customer_tag})
    if row.time_from is not None and row.time_to is not None:
        parts.append(_("placed %(start)s–%(end)s") % {"start": f"{row.time_from:%H:%M}", "end": f"{row.time_to:%H:%M}"})
    return _(", ").join(parts) if parts else _("any exception")
