from __future__ import annotations

from django.db.models import QuerySet

from apps.common.i18n import localized
from apps.notifications.models import Notification


def notifications_for(user, *, limit: int = 20) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user).order_by("-at", "-id")[:limit]


def unread_count(user) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def notification_text(notification: Notification) -> str:
    """The text in the page's language."""
    return localized(notification.text_zh, notification.text_en)
