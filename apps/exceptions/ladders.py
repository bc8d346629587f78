"""Escalation ladders (SPEC §9.5): per severity, the levels that act as a deadline nears and passes.

A level fires at a share of a deadline (``80`` %), at its breach, or a period after the breach,
all in business time on the department's calendar, and takes one action: remind the assignee,
notify the department's lead and mark the exception escalated, open a manager's approval, or
reassign to the lead. Every clock's breach is a point of its own (it is recorded whatever the
ladder says). ``ladder_points`` lays out one task's timeline; the handling engine's timers walk it.

The ladder document (configuration API, ``GET, PUT /api/v1/ladders/{severity}/``)::

    {"severity": "high", "levels": [
        {"clock": "resolution", "trigger": "share", "share": 80, "action": "remind"},
        {"clock": "resolution", "trigger": "breach", "action": "notify_lead"},
        {"clock": "resolution", "trigger": "after_breach", "after": "1h", "action": "approval"}]}
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from apps.accounts.models import User
from apps.common.errors import DomainError
from apps.exceptions.calendar import Calendar, add_business_time, business_time_between
from apps.exceptions.models import EscalationLadder, EscalationLevel
from apps.formdesigner.document import DocumentError
from apps.rules.models import Severity
from workflows.document import format_duration, parse_duration

Clock = EscalationLevel.Clock
Trigger = EscalationLevel.Trigger
Action = EscalationLevel.Action
BREACH = "breach"  # the action of a clock's own breach point
MAX_LEVELS = 10
LEVEL_KEYS = frozenset({"clock", "trigger", "share", "after", "action"})


@dataclass(frozen=True)
class Level:
    clock: str
    trigger: str
    action: str
    share: int | None = None
    after: timedelta | None = None

    def as_json(self) -> dict[str, Any]:
        result: dict[str, Any] = {"clock": self.clock, "trigger": self.trigger, "action": self.action}
        if self.trigger == Trigger.SHARE:
            result["share"] = self.share
        if self.trigger == Trigger.AFTER_BREACH and self.after is not None:
            result["after"] = format_duration(self.after)
        return result


def _level_of(row: EscalationLevel) -> Level:
    return Level(
        clock=row.clock,
        trigger=row.trigger,
        action=row.action,
        share=row.share_percent,
        after=parse_duration(row.after) if row.after else None,
    )


def ladder_levels(severity: str) -> list[Level]:
    rows = EscalationLevel.objects.filter(ladder__severity=severity).order_by("position", "id")
    return [_level_of(row) for row in rows]


# --- one task's timeline ------------------------------------------------------------------------


@dataclass(frozen=True)
class Clocks:
    """The deadlines a task runs against: (start, due) of each clock that is still running."""

    resolution: tuple[datetime, datetime] | None
    first_response: tuple[datetime, datetime] | None = None

    def of(self, clock: str) -> tuple[datetime, datetime] | None:
        return self.first_response if clock == Clock.FIRST_RESPONSE else self.resolution


def _moment(calendar: Calendar, level: Level, start: datetime, due: datetime) -> datetime:
    if level.trigger == Trigger.SHARE:
        span = business_time_between(calendar, start, due)
        return add_business_time(calendar, start, span * (level.share or 0) / 100) if span > timedelta(0) else due
    if level.trigger == Trigger.AFTER_BREACH:
        return add_business_time(calendar, due, level.after or timedelta(0))
    return due


def ladder_points(*, levels: list[Level], clocks: Clocks, calendar: Calendar) -> list[dict[str, Any]]:
    """The moments to act, earliest first: each running clock's breach and each level of the ladder.

    A point is ``{"at": ISO, "clock", "action", "level"}`` (``level`` is the rung's index, -1 for a
    breach); at one moment the breach comes before the actions on it.
    """
    points: list[tuple[datetime, int, dict[str, Any]]] = []
    for clock in (Clock.FIRST_RESPONSE, Clock.RESOLUTION):
        span = clocks.of(clock)
        if span is not None:
            points.append((span[1], 0, {"clock": clock, "action": BREACH, "level": -1}))
    for index, level in enumerate(levels):
        span = clocks.of(level.clock)
        if span is None:
            continue
        points.append(
            (_moment(calendar, level, *span), 1, {"clock": level.clock, "action": level.action, "level": index})
        )
    points.sort(key=lambda item: (item[0], item[1], item[2]["level"]))
    return [{"at": at.isoformat(), **point} for at, _order, point in points]


def points_shift(points: list[dict[str, Any]], *, calendar: Calendar, by: timedelta, since: int = 0) -> list[dict]:
    """The points from ``since`` on, each moved by ``by`` of business time (a resumed pause)."""
    moved = []
    for index, point in enumerate(points):
        if index >= since:
            at = datetime.fromisoformat(point["at"])
            point = {**point, "at": add_business_time(calendar, at, by).isoformat()}
        moved.append(point)
    return moved


# --- the ladder document ------------------------------------------------------------------------


def _severity(severity: str) -> str:
    if severity not in Severity.values:
        raise DomainError(code="not_found", field="severity", message=_("No such severity."), status_code=404)
    return severity


def ladder_document(severity: str) -> dict[str, Any]:
    return {"severity": _severity(severity), "levels": [level.as_json() for level in ladder_levels(severity)]}


def ladder_parse(document: Any) -> list[Level]:
    """Check a ladder document; ``DocumentError`` names each bad part (``levels.1.share``)."""
    if not isinstance(document, dict):
        raise DocumentError({"": [_("A ladder is a JSON object.")]})
    errors: dict[str, list[str]] = {}
    for key in sorted(set(document) - {"severity", "levels"}):
        errors[key] = [_("Unknown key.")]
    raw = document.get("levels")
    if not isinstance(raw, list):
        raise DocumentError({**errors, "levels": [_("Give a list of levels.")]})
    if len(raw) > MAX_LEVELS:
        raise DocumentError({**errors, "levels": [_("At most %(count)d levels.") % {"count": MAX_LEVELS}]})
    levels = []
    for index, item in enumerate(raw):
        path = f"levels.{index}"
        if not isinstance(item, dict):
            errors[path] = [_("A level is a JSON object.")]
            continue
        for key in sorted(set(item) - LEVEL_KEYS):
            errors[f"{path}.{key}"] = [_("Unknown key.")]
        clock = item.get("clock", Clock.RESOLUTION)
        if clock not in Clock.values:
            errors[f"{path}.clock"] = [_("Choose one of: %(keys)s.") % {"keys": ", ".join(Clock.values)}]
        trigger = item.get("trigger")
        if trigger not in Trigger.values:
            errors[f"{path}.trigger"] = [_("Choose one of: %(keys)s.") % {"keys": ", ".join(Trigger.values)}]
        action = item.get("action")
        if action not in Action.values:
            errors[f"{path}.action"] = [_("Choose one of: %(keys)s.") % {"keys": ", ".join(Action.values)}]
        share, after = item.get("share"), None
        if trigger == Trigger.SHARE:
            if not isinstance(share, int) or isinstance(share, bool) or not 1 <= share <= 99:
                errors[f"{path}.share"] = [_("A share is a whole number of percent from 1 to 99.")]
        elif "share" in item:
            errors[f"{path}.share"] = [_("Only a share trigger has a share.")]
        if trigger == Trigger.AFTER_BREACH:
            after = parse_duration(item.get("after"))
            if after is None:
                errors[f"{path}.after"] = [_("Give a period such as 30m, 2h or 1d.")]
        elif "after" in item:
            errors[f"{path}.after"] = [_("Only a period after the breach has one.")]
        levels.append(Level(clock=clock, trigger=trigger, action=action, share=share, after=after))
    if errors:
        raise DocumentError(errors)
    return levels


@transaction.atomic
def ladder_save(*, severity: str, document: Any, actor: User | None) -> list[Level]:
    """Replace the ladder of ``severity``; tasks already open keep the timeline they were given."""
    _severity(severity)
    if isinstance(document, dict) and document.get("severity", severity) != severity:
        raise DocumentError({"severity": [_("The ladder of %(severity)s is edited here.") % {"severity": severity}]})
    levels = ladder_parse(document)
    ladder, _created = EscalationLadder.objects.get_or_create(severity=severity)
    ladder.updated_by = actor
    ladder.save()
    ladder.levels.all().delete()
    EscalationLevel.objects.bulk_create(
        EscalationLevel(
            ladder=ladder,
            position=index,
            clock=level.clock,
            trigger=level.trigger,
            share_percent=level.share,
            after=format_duration(level.after) if level.after else "",
            action=level.action,
        )
        for index, level in enumerate(levels)
    )
    return levels
