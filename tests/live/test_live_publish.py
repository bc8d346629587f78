"""``live_publish`` through the real Redis channel layer to sockets of the real ASGI app.

Messages to one socket arrive in the order they were sent, so "this socket got nothing" is shown
by a later marker event being the first thing it receives, not by waiting for a timeout.
"""

from __future__ import annotations

import datetime
import logging
import socket
import time
from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connection, transaction
from django.test import Client

from apps.accounts.models import Department
from apps.accounts.services import user_create
from apps.live.services import live_publish
from config.asgi import application

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _headers(user) -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    return [(b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()), (b"origin", b"http://localhost")]


def _department_id(code: str) -> int:
    return Department.objects.get(code=code).pk


async def _open(user) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, "/ws/live/", headers=await sync_to_async(_headers)(user))
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    assert (await communicator.receive_json_from(timeout=5))["type"] == "hello"
    return communicator


async def _publish(**kwargs) -> None:
    await sync_to_async(live_publish)(**kwargs)


async def _publish_marker(user_ids) -> None:
    await _publish(event_type="task.updated", task={"marker": True}, user_ids=user_ids, oversight=False)


async def _next_task(communicator) -> dict:
    return (await communicator.receive_json_from(timeout=5))["task"]


@pytest.fixture
def colleague(db):
    return user_create(
        username="wh-colleague", password="pw-wh-colleague-Secret1", role="staff", department_code="warehouse"
    )


@pytest.fixture
def finance_user(db):
    return user_create(username="fin-staff", password="pw-fin-staff-Secret1", role="staff", department_code="finance")


def test_an_event_has_the_spec_shape_with_an_event_id(staff_user):
    given_at = datetime.datetime(2025, 3, 1, 8, 30, tzinfo=datetime.UTC)

    async def scenario():
        sock = await _open(staff_user)
        await _publish(
            event_type="task.created",
            task={"id": 5, "due_at": given_at, "amount": Decimal("12.50")},
            user_ids=[staff_user.pk],
            oversight=False,
        )
        message = await sock.receive_json_from(timeout=5)
        await sock.disconnect()
        return message

    message = async_to_sync(scenario)()

    assert message["type"] == "task.created"
    assert message["task"] == {"id": 5, "due_at": "2025-03-01T08:30:00Z", "amount": "12.50"}
    assert len(message["event_id"]) == 32


def test_an_event_reaches_the_user_and_their_department_but_no_other_department(
    staff_user, colleague, finance_user, manager_user
):
    warehouse = _department_id("warehouse")
    everyone = [staff_user.pk, colleague.pk, finance_user.pk, manager_user.pk]

    async def scenario():
        staff, mate, finance, manager = [await _open(u) for u in (staff_user, colleague, finance_user, manager_user)]
        await _publish(
            event_type="task.assigned",
            task={"id": 1},
            user_ids=[staff_user.pk],
            department_ids=[warehouse],
            oversight=False,
        )
        await _publish_marker(everyone)
        seen = {name: await _next_task(sock) for name, sock in [("staff", staff), ("mate", mate)]}
        seen |= {name: await _next_task(sock) for name, sock in [("finance", finance), ("manager", manager)]}
        for sock in (staff, mate, finance, manager):
            await sock.disconnect()
        return seen

    assert async_to_sync(scenario)() == {
        "staff": {"id": 1},
        "mate": {"id": 1},
        "finance": {"marker": True},
        "manager": {"marker": True},
    }


def test_managers_and_admins_receive_every_departments_events_through_oversight(
    staff_user, finance_user, manager_user, admin_user
):
    finance = _department_id("finance")

    async def scenario():
        staff, fin, manager, admin = [await _open(u) for u in (staff_user, finance_user, manager_user, admin_user)]
        await _publish(event_type="exception.updated", task={"id": 2}, department_ids=[finance])
        await _publish_marker([staff_user.pk])
        seen = [await _next_task(sock) for sock in (staff, fin, manager, admin)]
        for sock in (staff, fin, manager, admin):
            await sock.disconnect()
        return seen

    assert async_to_sync(scenario)() == [{"marker": True}, {"id": 2}, {"id": 2}, {"id": 2}]


def test_a_socket_in_several_addressed_groups_receives_one_copy(staff_user, manager_user):
    """The user, their department and oversight all addressed: one copy each, not two or three."""
    departments = [_department_id("warehouse"), _department_id("management")]

    async def scenario():
        staff, manager = await _open(staff_user), await _open(manager_user)
        await _publish(
            event_type="task.completed",
            task={"id": 3},
            user_ids=[staff_user.pk, manager_user.pk, staff_user.pk],
            department_ids=departments,
        )
        await _publish_marker([staff_user.pk, manager_user.pk])
        seen = [[await _next_task(sock), await _next_task(sock)] for sock in (staff, manager)]
        for sock in (staff, manager):
            await sock.disconnect()
        return seen

    assert async_to_sync(scenario)() == [[{"id": 3}, {"marker": True}], [{"id": 3}, {"marker": True}]]


def test_an_event_of_a_rolled_back_transaction_is_never_sent(staff_user):
    def publish_and_roll_back():
        with transaction.atomic():
            live_publish(event_type="task.created", task={"id": "rolled back"}, user_ids=[staff_user.pk])
            transaction.set_rollback(True)

    async def scenario():
        sock = await _open(staff_user)
        await sync_to_async(publish_and_roll_back)()
        await _publish_marker([staff_user.pk])
        task = await _next_task(sock)
        await sock.disconnect()
        return task

    assert async_to_sync(scenario)() == {"marker": True}


def test_an_event_is_sent_when_the_transaction_commits_and_not_before(staff_user):
    def publish_and_commit(sock) -> bool:
        try:
            with transaction.atomic():
                live_publish(event_type="task.created", task={"id": "committed"}, user_ids=[staff_user.pk])
                # Runs on the test's event loop while this thread waits inside the transaction.
                nothing_yet = async_to_sync(sock.receive_nothing)(timeout=0.5)
        finally:
            connection.close()
        return nothing_yet

    async def scenario():
        sock = await _open(staff_user)
        # In a thread of its own: the consumer needs the main thread (it closes old database
        # connections there before each message), which a thread-sensitive call would hold.
        nothing_before_commit = await sync_to_async(publish_and_commit, thread_sensitive=False)(sock)
        task = await _next_task(sock)
        await sock.disconnect()
        return nothing_before_commit, task

    assert async_to_sync(scenario)() == (True, {"id": "committed"})


def test_a_dead_broker_is_logged_and_does_not_fail_the_caller(staff_user, settings, tmp_path, caplog):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [f"unix://{tmp_path / 'no-redis.sock'}"]},
        }
    }

    with caplog.at_level(logging.WARNING, logger="apps.live.services"):
        live_publish(event_type="task.created", task={"id": 1}, user_ids=[staff_user.pk], on_commit=False)
        with transaction.atomic():
            live_publish(event_type="task.updated", task={"id": 1}, user_ids=[staff_user.pk])

    assert [r.getMessage().split(" to ")[0] for r in caplog.records] == [
        "Live event task.created",
        "Live event task.updated",
    ]


def test_a_broker_that_does_not_answer_holds_the_caller_for_the_send_timeout_only(staff_user, settings, caplog):
    """A listening socket that never answers stands in for a hung Redis."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    host, port = silent.getsockname()
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [f"redis://{host}:{port}"]}}
    }
    started = time.monotonic()
    try:
        with caplog.at_level(logging.WARNING, logger="apps.live.services"):
            live_publish(event_type="task.created", task={"id": 1}, user_ids=[staff_user.pk], on_commit=False)
    finally:
        silent.close()

    assert time.monotonic() - started < 5
    assert len(caplog.records) == 1


def test_an_unknown_event_type_is_refused():
    with pytest.raises(ValueError, match=r"task\.exploded"):
        live_publish(event_type="task.exploded", task={}, on_commit=False)
