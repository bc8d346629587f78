"""Telling people things in the app: a row each, and a live push to their open pages."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.utils import timezone, translation

from apps.live.services import live_publish
from apps.notifications.models import Notification


def _in(language: str, message: Callable[[], str]) -> str:
    with translation.override(language):
        return str(message())[:300]


def notify(
    *,
    user_ids: Iterable[int | None],
    kind: str,
    message: Callable[[], str],
    exception_id: int | None = None,
    task_id: int | None = None,
) -> list[Notification]:
    """Notify each user once: ``message`` is called in Chinese and in English to keep both texts.

    The live push leaves after commit (``live_publish``) and never fails the caller.
    """
    users = [pk for pk in dict.fromkeys(user_ids) if pk is not None]
    if not users:
        return []
    if kind not in Notification.Kind.values:
        raise ValueError(f"Unknown notification kind {kind!r}.")
    now = timezone.now()
    text_zh, text_en = _in("zh-hans", message), _in("en", message)
    rows = Notification.objects.bulk_create(
        Notification(
            user_id=pk,
            at=now,
            kind=kind,
            text_zh=text_zh,
            text_en=text_en,
            exception_id=exception_id,
            task_id=task_id,
        )
        for pk in users
    )
    for row in rows:
        live_publish(
            event_type="notification.created",
            task={"id": row.pk, "kind": kind, "text_zh": text_zh, "text_en": text_en, "task_id": task_id},
            user_ids=[row.user_id],
            oversight=False,
        )
    return rows


def notifications_read(*, user, notification_ids: Iterable[int] | None = None) -> int:
    """Mark the user's notifications read (all of them without ``notification_ids``)."""
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if notification_ids is not None:
        unread = unread.filter(pk__in=list(notification_ids))
    return unread.update(read_at=timezone.now())
