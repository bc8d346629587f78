"""The live WebSocket stream over the real ASGI app and the real Redis channel layer."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import Client

from apps.live.groups import department_group, oversight_group, user_group
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


def _token_headers(user) -> list[tuple[bytes, bytes]]:
    from apps.accounts.services import api_token_issue

    key = api_token_issue(username=user.username).key
    return [(b"authorization", f"Token {key}".encode()), (b"origin", b"http://localhost")]


def _connect_and_expect_close(headers) -> tuple[bool, int | None]:
    async def scenario():
        communicator = WebsocketCommunicator(application, "/ws/live/", headers=headers)
        return await communicator.connect(timeout=5)

    return async_to_sync(scenario)()


def test_an_api_token_in_the_authorization_header_signs_the_socket_in(staff_user):
    headers = _token_headers(staff_user)

    async def scenario():
        communicator = WebsocketCommunicator(application, "/ws/live/", headers=headers)
        connected, _ = await communicator.connect(timeout=5)
        assert connected
        assert await communicator.receive_json_from(timeout=5) == {"type": "hello", "user": staff_user.username}
        await get_channel_layer().group_send(
            user_group(staff_user.pk), {"type": "live.event", "event": {"type": "task.created", "task": {"id": 1}}}
        )
        assert await communicator.receive_json_from(timeout=5) == {"type": "task.created", "task": {"id": 1}}
        await communicator.disconnect()

    async_to_sync(scenario)()


def test_an_unknown_token_is_closed_with_4401():
    headers = [(b"authorization", b"Token 0123456789abcdef0123456789abcdef01234567"), (b"origin", b"http://localhost")]

    assert _connect_and_expect_close(headers) == (False, 4401)


def test_a_malformed_token_header_is_closed_with_4401(staff_user):
    headers = [(b"authorization", b"Token"), (b"origin", b"http://localhost")]

    assert _connect_and_expect_close(headers) == (False, 4401)


def test_an_inactive_users_token_is_refused(staff_user):
    from apps.accounts.models import User

    headers = _token_headers(staff_user)
    User.objects.filter(pk=staff_user.pk).update(is_active=False)

    assert _connect_and_expect_close(headers) == (False, 4401)


def test_a_refused_token_is_not_rescued_by_a_session_cookie(staff_user):
    """As in the REST API, a token that is present decides, whatever the cookie says."""
    headers = [*_session_headers(staff_user), (b"authorization", b"Token not-a-key")]

    assert _connect_and_expect_close(headers) == (False, 4401)


def test_another_authorization_scheme_leaves_the_session_in_charge(staff_user):
    headers = [*_session_headers(staff_user), (b"authorization", b"Bearer something")]

    async def scenario():
        communicator = WebsocketCommunicator(application, "/ws/live/", headers=headers)
        connected, _ = await communicator.connect(timeout=5)
        assert connected
        assert (await communicator.receive_json_from(timeout=5))["user"] == staff_user.username
        await communicator.disconnect()

    async_to_sync(scenario)()


def test_a_ping_is_answered_with_a_pong_and_malformed_frames_are_ignored(staff_user):
    headers = _session_headers(staff_user)

    async def scenario():
        communicator = WebsocketCommunicator(application, "/ws/live/", headers=headers)
        await communicator.connect(timeout=5)
        await communicator.receive_json_from(timeout=5)
        await communicator.send_to(text_data="not json")
        await communicator.send_to(bytes_data=b"\x00")
        await communicator.send_json_to({"type": "something else"})
        await communicator.send_json_to({"type": "ping"})
        assert await communicator.receive_json_from(timeout=5) == {"type": "pong"}
        await communicator.disconnect()

    async_to_sync(scenario)()


def test_staff_do_not_join_the_oversight_group_and_managers_do(staff_user, manager_user):
    staff_headers = _session_headers(staff_user)
    manager_headers = _session_headers(manager_user)

    async def scenario():
        staff = WebsocketCommunicator(application, "/ws/live/", headers=staff_headers)
        manager = WebsocketCommunicator(application, "/ws/live/", headers=manager_headers)
        for communicator in (staff, manager):
            await communicator.connect(timeout=5)
            await communicator.receive_json_from(timeout=5)
        layer = get_channel_layer()
        await layer.group_send(oversight_group(), {"type": "live.event", "event": {"n": 1}})
        await layer.group_send(user_group(staff_user.pk), {"type": "live.event", "event": {"n": 2}})
        assert await manager.receive_json_from(timeout=5) == {"n": 1}
        # Messages to one socket arrive in order: the first one the staff socket sees is the second.
        assert await staff.receive_json_from(timeout=5) == {"n": 2}
        for communicator in (staff, manager):
            await communicator.disconnect()

    async_to_sync(scenario)()


def test_a_token_client_needs_no_origin_but_a_cookie_does(staff_user):
    """Non-browser clients send no Origin: the token is their proof. A cookie socket without an
    Origin is refused (the check that stops cross-site hijacking of a signed-in browser)."""
    token_only = [h for h in _token_headers(staff_user) if h[0] != b"origin"]

    async def scenario():
        communicator = WebsocketCommunicator(application, "/ws/live/", headers=token_only)
        connected, _ = await communicator.connect(timeout=5)
        assert connected
        assert (await communicator.receive_json_from(timeout=5))["type"] == "hello"
        await communicator.disconnect()

    async_to_sync(scenario)()
    cookie_only = [h for h in _session_headers(staff_user) if h[0] != b"origin"]
    connected, _ = _connect_and_expect_close(cookie_only)
    assert not connected
