"""Publishing live events to the open pages of the people concerned."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import uuid
from collections.abc import Iterable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from redis.exceptions import RedisError

from apps.live.groups import department_group, oversight_group, user_group

logger = logging.getLogger(__name__)

# The message types of SPEC §9.6 (``WS /ws/live/``).
EVENT_TYPES = frozenset(
    {
        "task.created",
        "task.assigned",
        "task.updated",
        "task.completed",
        "task.canceled",
        "exception.updated",
        # An in-app notification for one person (apps/notifications); its payload is under "task".
        "notification.created",
    }
)

# A live update is a courtesy (the page re-reads its lists on reconnect); a Redis that accepts
# the connection but does not answer must not hold the caller's request for long.
SEND_TIMEOUT_SECONDS = 2.0


def live_publish(
    *,
    event_type: str,
    task: dict,
    user_ids: Iterable[int | None] = (),
    department_ids: Iterable[int | None] = (),
    oversight: bool = True,
    on_commit: bool = True,
) -> None:
    """Send ``{"type": event_type, "task": task, "event_id": …}`` to the sockets concerned.

    The groups are each user's, each department's and, with ``oversight``, the managers' and
    admins' group. ``None`` ids (an unassigned task, a user without a department) are skipped.
    With ``on_commit`` the event leaves after the current transaction commits, and not at all if
    it rolls back; outside a transaction it leaves at once.

    A socket can belong to several of these groups (a user and their department, a manager's
    department and oversight), so it may receive the same event more than once; the consumer
    drops copies by ``event_id``, which every copy of one call shares. A broker failure is
    logged as a warning and does not reach the caller.

    Raises ``ValueError`` for an unknown event type and ``TypeError`` for a task that cannot be
    sent as JSON, at call time, inside the caller's transaction.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"Unknown live event type {event_type!r}.")
    # Datetimes, decimals and UUIDs become strings now: the layer (msgpack) and the socket
    # (JSON) take only plain values, and a task that cannot be sent fails here, not after commit.
    event = {
        "type": event_type,
        "task": json.loads(json.dumps(task, cls=DjangoJSONEncoder)),
        "event_id": uuid.uuid4().hex,
    }
    groups = [user_group(pk) for pk in dict.fromkeys(user_ids) if pk is not None]
    groups += [department_group(pk) for pk in dict.fromkeys(department_ids) if pk is not None]
    if oversight:
        groups.append(oversight_group())
    if not groups:
        return

    def send() -> None:
        _send(groups=groups, event=event)

    if on_commit:
        # robust: the data is committed by then; no error of this courtesy may fail the request.
        transaction.on_commit(send, robust=True)
    else:
        send()


def _send(*, groups: list[str], event: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        logger.warning("Live event %s not sent: no channel layer is configured.", event["type"])
        return
    message = {"type": "live.event", "event": event}
    try:
        if _loop_running():
            # Called from a thread that runs an event loop (async code calling sync code, a
            # test driving a browser): async_to_sync refuses there, so send from a thread of its own.
            failure: list[BaseException] = []

            def run() -> None:
                try:
                    asyncio.run(_group_send_all(layer, groups, message))
                except BaseException as exc:
                    failure.append(exc)

            sender = threading.Thread(target=run, name="live-publish")
            sender.start()
            sender.join()
            if failure:
                raise failure[0]
        else:
            async_to_sync(_group_send_all)(layer, groups, message)
    except (RedisError, OSError, TimeoutError) as exc:
        logger.warning("Live event %s to %s not sent: %s", event["type"], ", ".join(groups), exc)
    except Exception:  # a courtesy: nothing here may fail the request whose data committed
        logger.exception("Live event %s to %s not sent", event["type"], ", ".join(groups))


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


async def _group_send_all(layer, groups: list[str], message: dict) -> None:
    async with asyncio.timeout(SEND_TIMEOUT_SECONDS):
        for group in groups:
            await layer.group_send(group, message)
