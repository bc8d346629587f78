"""Handing exceptions to the handling engine (SPEC §7, §9.1): the outbox and its after-commit nudge.

Detection and reopening call ``cases_request`` inside their transaction: the outbox rows commit
with the exceptions or not at all. After commit the engine's Celery task is asked to start the
cases at once; if the broker is down or the worker dies, the engine's beat sweep finds the rows
still unhandled and starts them. Ending works the same way without an outbox: an exception that
stops being active (auto-resolved, resolved or dismissed outside its case) is named to the engine
after commit, and the sweep ends any case whose exception is no longer active.

The engine is addressed by task name, not imported: ``apps.exceptions`` sits below ``workflows``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from apps.exceptions.models import HandlingRequest

logger = logging.getLogger(__name__)

START_TASK = "workflows.cases_start"
END_TASK = "workflows.cases_end"
# A bulk write's new exceptions go out in tasks of this many, so that several workers share them.
CHUNK = 25


# While the broker is down every commit would log the same line: one warning a minute is enough.
QUIET_FOR = 60.0
_last_warning = [float("-inf")]


def _log_failure(task_name: str, exc: Exception) -> None:
    now = time.monotonic()
    if now - _last_warning[0] >= QUIET_FOR:
        _last_warning[0] = now
        logger.warning("Could not hand %s to the worker (%s); the sweep will", task_name, exc)
    else:
        logger.debug("Could not hand %s to the worker (%s); the sweep will", task_name, exc)


def _send_after_commit(task_name: str, ids: list[int]) -> None:
    def send() -> None:
        from config.celery import app

        try:
            # retry=False: a dead broker must not hold the request that committed; the sweep
            # picks the work up instead.
            for start in range(0, len(ids), CHUNK):
                app.send_task(task_name, args=[ids[start : start + CHUNK]], retry=False)
        except Exception as exc:  # any broker failure: the sweep covers it
            _log_failure(task_name, exc)

    transaction.on_commit(send)


def cases_request(
    *, exception_ids: Collection[int], reason: str = HandlingRequest.Reason.DETECTED, now: datetime | None = None
) -> None:
    """Write one outbox row per exception that became active, and nudge the engine after commit."""
    if not exception_ids:
        return
    now = now or timezone.now()
    rows = HandlingRequest.objects.bulk_create(
        [HandlingRequest(exception_id=pk, reason=reason, requested_at=now) for pk in exception_ids],
        batch_size=1000,
    )
    ids = [row.pk for row in rows if row.pk is not None]
    if len(ids) != len(rows):  # backends without RETURNING on bulk insert: the sweep starts them
        return
    _send_after_commit(START_TASK, ids)


def cases_end_request(*, exception_ids: Collection[int]) -> None:
    """Ask the engine, after commit, to end the cases of exceptions that are no longer active."""
    if exception_ids:
        _send_after_commit(END_TASK, sorted(exception_ids))
