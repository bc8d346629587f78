"""Form definitions: a draft edited freely, published versions that never change, and the history.

The draft and each version hold the form document of SPEC §10.6 (``document.parse_document``
reads it). Live data only ever meets a published version: the order form's fields validate
order ``data``, a step form's fields validate a task's data.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from apps.common.i18n import localized
from apps.common.models import TimeStampedModel
from apps.formdesigner.document import KIND_LABELS, FormKind


class FormDefinition(TimeStampedModel):
    class Kind(models.TextChoices):
        ORDER = FormKind.ORDER.value, KIND_LABELS[FormKind.ORDER]
        STEP = FormKind.STEP.value, KIND_LABELS[FormKind.STEP]
        CUSTOM = FormKind.CUSTOM.value, KIND_LABELS[FormKind.CUSTOM]

    key = models.SlugField(_("key"), max_length=64, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    name_zh = models.CharField(_("name (Chinese)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=120, blank=True)
    # The document being edited; checked when saved, but it reaches live data only when published.
    draft = models.JSONField(_("draft"))
    published = models.ForeignKey(
        "FormVersion",
        verbose_name=_("published version"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    draft_updated_at = models.DateTimeField(_("draft saved at"), null=True, blank=True)
    draft_updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("draft saved by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("form")
        verbose_name_plural = _("forms")
        ordering = ("kind", "key")
        constraints = [
            # The order form is the one built-in form that defines every order's custom fields.
            models.UniqueConstraint(
                fields=("kind",), condition=Q(kind="order"), name="formdesigner_form_one_order_form"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=[kind.value for kind in FormKind]), name="formdesigner_form_kind_known"
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return localized(self.name_zh, self.name_en)


class FormVersion(models.Model):
    """A published form: immutable (the service never updates one, and the database refuses to)."""

    form = models.ForeignKey(FormDefinition, verbose_name=_("form"), on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    document = models.JSONField(_("document"))
    # Keys of fields removed in this or an earlier version: stored values under them stay
    # readable (archived) but no write may set them again under this version.
    archived = models.JSONField(_("archived fields"), default=list, blank=True)
    note = models.CharField(_("version note"), max_length=500, blank=True)
    published_at = models.DateTimeField(_("published at"))
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("published by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("form version")
        verbose_name_plural = _("form versions")
        ordering = ("form", "-number")
        constraints = [
            models.UniqueConstraint(fields=("form", "number"), name="formdesigner_version_number_unique"),
            models.CheckConstraint(condition=Q(number__gte=1), name="formdesigner_version_number_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.form.key} v{self.number}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("A published form version is immutable.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("A published form version is never deleted.")


class FormChange(models.Model):
    """Who changed a form, when, and what (the changes as ``diff.document_changes`` lists them)."""

    class Action(models.TextChoices):
        CREATED = "created", pgettext_lazy("form change", "Created")
        DRAFT_SAVED = "draft_saved", pgettext_lazy("form change", "Draft saved")
        PUBLISHED = "published", pgettext_lazy("form change", "Published")
        RESTORED = "restored", pgettext_lazy("form change", "Version restored into the draft")

    form = models.ForeignKey(FormDefinition, verbose_name=_("form"), on_delete=models.CASCADE, related_name="changes")
    action = models.CharField(_("action"), max_length=16, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    at = models.DateTimeField(_("at"), db_index=True)
    version = models.PositiveIntegerField(_("version"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    # [{"change": "added", "field": "invoice_title", "attribute": ..., "old": ..., "new": ...}, ...]
    changes = models.JSONField(_("changes"), default=list, blank=True)

    class Meta:
        verbose_name = _("form change")
        verbose_name_plural = _("form changes")
        ordering = ("-at", "-id")
        indexes = [models.Index(fields=("form", "-at"), name="formdesigner_change_form_at")]

    def __str__(self) -> str:
        return f"{self.form.key}: {self.get_action_display()}"
