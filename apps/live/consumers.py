import time
from collections import deque

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from apps.accounts.models import Role
from apps.live.groups import department_group, oversight_group, user_group

# One ``live_publish`` call sends at most a handful of copies of an event, back to back; a copy
# arrives within a few messages of the first, so a short memory of ids is enough to drop it.
RECENT_EVENT_IDS = 256
# channels-redis forgets a group member after ``group_expiry`` (a day by default); a page open
# longer than that would go quiet. The page pings every half minute; re-joining at most hourly
# keeps its membership fresh at little cost.
REJOIN_AFTER_SECONDS = 3600


@database_sync_to_async
def _has_oversight(user) -> bool:
    # Superusers see every department's data elsewhere too (the exception selectors).
    return user.is_superuser or user.has_role(Role.MANAGER) or user.has_role(Role.ADMIN)


class UserStreamConsumer(AsyncJsonWebsocketConsumer):
    """A signed-in user's live stream: events for them, their department and, for managers and
    admins, every department (the oversight group).

    Anything that sends ``{"type": "live.event", "event": {...}}`` to one of the groups reaches
    the browser as the ``event`` object, once per ``event_id`` however many of the socket's
    groups it was sent to. The client may send ``{"type": "ping"}``; the answer is
    ``{"type": "pong"}``.
    """

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.groups_joined = [user_group(user.pk)]
        if user.department_id:
            self.groups_joined.append(department_group(user.department_id))
        if await _has_oversight(user):
            self.groups_joined.append(oversight_group())
        self.recent_event_ids = deque(maxlen=RECENT_EVENT_IDS)
        await self._join_groups()
        await self.accept()
        await self.send_json({"type": "hello", "user": user.get_username()})

    async def disconnect(self, code):
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        # A binary or malformed frame is ignored rather than allowed to end the stream.
        if not text_data:
            return
        try:
            content = await self.decode_json(text_data)
        except ValueError:
            return
        await self.receive_json(content, **kwargs)

    async def receive_json(self, content, **kwargs):
        if isinstance(content, dict) and content.get("type") == "ping":
            if time.monotonic() - self.joined_at > REJOIN_AFTER_SECONDS:
                await self._join_groups()
            await self.send_json({"type": "pong"})

    async def live_event(self, message):
        event = message["event"]
        event_id = event.get("event_id")
        if event_id is not None:
            if event_id in self.recent_event_ids:
                return
            self.recent_event_ids.append(event_id)
        await self.send_json(event)

    async def _join_groups(self):
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        self.joined_at = time.monotonic()
