"""Telling the people concerned that a task changed (SPEC §9.3): its owner, the one it left,
its department's queue, and the managers' oversight — after the transaction commits."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.utils import translation

from workflows.models import HandlingTask


def task_event(task: HandlingTask, event_type: str, *, also_users: Iterable[int | None] = ()) -> None:
    from apps.live.services import live_publish
    from workflows.selectors import task_payload

    with translation.override(settings.LANGUAGE_CODE):
        payload = task_payload(task, with_schema=False)
    users = {pk for pk in (task.owner_id, *also_users) if pk}
    department = (task.data or {}).get("department")
    live_publish(
        event_type=event_type,
        task=payload,
        user_ids=sorted(users),
        department_ids=[department] if department else [],
    )
