from channels.generic.websocket import AsyncJsonWebsocketConsumer

from apps.live.groups import department_group, user_group


class UserStreamConsumer(AsyncJsonWebsocketConsumer):
    """A signed-in user's live stream: events for them and for their department.

    Anything that sends ``{"type": "live.event", "event": {...}}`` to one of the groups
    reaches the browser as the ``event`` object.
    """

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.groups_joined = [user_group(user.pk)]
        if user.department_id:
            self.groups_joined.append(department_group(user.department_id))
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello", "user": user.get_username()})

    async def disconnect(self, code):
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def live_event(self, message):
        await self.send_json(message["event"])
