"""Reads for the dashboard's SLA timers panel (SPEC §9.5): how late the timers fired in the last
hour, how many clocks are running, whether beat is alive and the official calendar complete."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.utils import timezone
from viewflow.workflow.models import Task

from apps.exceptions.calendars import official_years_missing
from apps.exceptions.models import Heartbeat, TimerFiring

LAG_WINDOW = timedelta(hours=1)
# Beat moves the heartbeat every few seconds (workflows.services.HEARTBEAT_EVERY is 5 s); six
# missed beats in a row mean it is not running.
HEARTBEAT_STALE = timedelta(seconds=30)
# SPEC §9.5: a breach is acted on within 2 s of its due time.
LAG_TARGET_MS = 2000


@dataclass(frozen=True)
class TimerHealth:
    """What the panel shows; the lag figures are ``None`` when nothing fired in the window."""

    firings: int
    lag_p50_ms: int | None
    lag_p95_ms: int | None
    lag_max_ms: int | None
    open_clocks: int
    paused_clocks: int
    heartbeat_at: datetime | None
    beat_running: bool
    missing_years: list[int]

    @property
    def is_late(self) -> bool:
        """The slow end of the hour (p95) missed the 2 s target."""
        return self.p95_is_late

    @property
    def p50_is_late(self) -> bool:
        return self.lag_p50_ms is not None and self.lag_p50_ms > LAG_TARGET_MS

    @property
    def p95_is_late(self) -> bool:
        return self.lag_p95_ms is not None and self.lag_p95_ms > LAG_TARGET_MS

    @property
    def max_is_late(self) -> bool:
        return self.lag_max_ms is not None and self.lag_max_ms > LAG_TARGET_MS


def percentile(values: Sequence[int], share: float) -> int:
    """The nearest-rank percentile of sorted ``values``: the smallest value with at least
    ``share`` of them at or below it."""
    rank = max(math.ceil(share * len(values)), 1)
    return values[rank - 1]


def timer_health(*, now: datetime) -> TimerHealth:
    """The SLA timers' state at ``now``: four small queries (firings, clocks, heartbeat, official years)."""
    lags = sorted(TimerFiring.objects.filter(fired_at__gt=now - LAG_WINDOW).values_list("lag_ms", flat=True))
    clocks = Task.objects.filter(flow_task_type="TIMER", status="SCHEDULED").aggregate(
        open=Count("pk"), paused=Count("pk", filter=Q(scheduled__isnull=True))
    )
    heartbeat_at = Heartbeat.objects.filter(name="timers").values_list("at", flat=True).first()
    return TimerHealth(
        firings=len(lags),
        lag_p50_ms=percentile(lags, 0.50) if lags else None,
        lag_p95_ms=percentile(lags, 0.95) if lags else None,
        lag_max_ms=lags[-1] if lags else None,
        open_clocks=clocks["open"],
        paused_clocks=clocks["paused"],
        heartbeat_at=heartbeat_at,
        beat_running=heartbeat_at is not None and now - heartbeat_at <= HEARTBEAT_STALE,
        missing_years=official_years_missing(today=timezone.localdate(now)),
    )
