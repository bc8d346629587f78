"""Notifications (SPEC §2): the in-app channel. A notification is a row a person reads in the
workspace, pushed live to their open pages; the other channels (e-mail, robots, SMS) will
deliver the same rows."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Notification(models.Model):
    class Kind(models.TextChoices):
        REMINDER = "reminder", pgettext_lazy("notification", "Deadline approaching")
        BREACH = "breach", pgettext_lazy("notification", "Deadline missed")
        ESCALATED = "escalated", pgettext_lazy("notification", "Escalated to you")
        APPROVAL = "approval", pgettext_lazy("notification", "Approval needed")
        DECISION = "decision", pgettext_lazy("notification", "Manager decided")
        REASSIGNED = "reassigned", pgettext_lazy("notification", "Given to you")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="notifications"
    )
    at = models.DateTimeField(_("at"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    # The words are kept in both languages as they were said; the page shows its language's.
    text_zh = models.CharField(_("text (Chinese)"), max_length=300)
    text_en = models.CharField(_("text (English)"), max_length=300)
    exception = models.ForeignKey(
        "exceptions.OrderException",
        verbose_name=_("exception"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
    )
    task_id = models.BigIntegerField(_("task"), null=True, blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["user", "at"], condition=Q(read_at__isnull=True), name="notif_unread_idx"),
            models.Index(fields=["user", "at"], name="notif_user_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.text_en}"
