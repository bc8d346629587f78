"""The live WebSocket stream over the real ASGI app and the real Redis channel layer."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import Client

from apps.live.groups import department_group, user_group
from config.asgi import application

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _session_headers(user) -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"].value
    return [(b"cookie", f"sessionid={cookie}".encode()), (b"origin", b"http://localhost")]


def test_a_signed_in_user_receives_events_for_them_and_their_department(staff_user):
    headers = _session_headers(staff_user)

    async def scenario():
        communicator = WebsocketCommunicator(application, "/ws/live/", headers=headers)
        connected, _ = await communicator.connect(timeout=5)
        assert connected
        assert (await communicator.receive_json_from(timeout=5))["type"] == "hello"
        layer = get_channel_layer()
        await layer.group_send(user_group(staff_user.pk), {"type": "live.event", "event": {"kind": "task", "id": 7}})
        assert await communicator.receive_json_from(timeout=5) == {"kind": "task", "id": 7}
        await layer.group_send(
            department_group(staff_user.department_id), {"type": "live.event", "event": {"kind": "dept"}}
        )
        assert await communicator.receive_json_from(timeout=5) == {"kind": "dept"}
        await communicator.disconnect()

    async_to_sync(scenario)()


def test_an_anonymous_socket_is_closed():
    async def scenario():
        communicator = WebsocketCommunicator(application, "/ws/live/", headers=[(b"origin", b"http://localhost")])
        connected, code = await communicator.connect(timeout=5)
        assert not connected
        assert code == 4401

    async_to_sync(scenario)()


def test_a_foreign_origin_is_refused(staff_user):
    headers = [h for h in _session_headers(staff_user) if h[0] != b"origin"] + [(b"origin", b"http://evil.example")]

    async def scenario():
        communicator = WebsocketCommunicator(application, "/ws/live/", headers=headers)
        connected, _ = await communicator.connect(timeout=5)
        assert not connected

    async_to_sync(scenario)()
