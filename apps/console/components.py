"""The shared screen components as Python: what admin columns and template tags both render.

Each returns safe HTML built with ``format_html``; the matching CSS is ``static/orderguard/og.css``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

DASH = mark_safe('<span class="og-muted">—</span>')


def badge(*, kind: str, label: object) -> SafeString:
    """A coloured label; ``kind`` is a severity or status value (``high``, ``open``…)."""
    return format_html('<span class="og-badge og-badge--{}">{}</span>', kind, label)


def labels(items: Iterable[object]) -> SafeString:
    """Several labels side by side (e.g. notification channels), or a dash for none."""
    items = [str(item) for item in items]
    if not items:
        return DASH
    badges = format_html_join("", '<span class="og-badge">{}</span>', ((item,) for item in items))
    return format_html('<span class="og-labels">{}</span>', badges)


def when(value: datetime | None) -> str:
    """A time in the current time zone, as people read it (``2026年12月1日 19:05`` / ``Dec. 1, 2026, 7:05 p.m.``)."""
    if value is None:
        return "—"
    return date_format(timezone.localtime(value), "DATETIME_FORMAT")


def when_short(value: datetime | None) -> str:
    """A time for a list column: ``12-01 19:05`` this year, ``2025-12-01 19:05`` before."""
    if value is None:
        return "—"
    local = timezone.localtime(value)
    return local.strftime("%m-%d %H:%M" if local.year == timezone.localdate().year else "%Y-%m-%d %H:%M")


def due(value: datetime | None, *, active: bool, short: bool = False) -> SafeString:
    """A deadline, marked overdue when it has passed and someone still has to act."""
    if value is None:
        return DASH
    text = when_short(value) if short else when(value)
    if active and value < timezone.now():
        overdue = badge(kind="overdue", label=_("overdue"))
        return format_html('<span class="og-nowrap" title="{}">{}</span> {}', when(value), text, overdue)
    return format_html('<span class="og-nowrap" title="{}">{}</span>', when(value), text)
