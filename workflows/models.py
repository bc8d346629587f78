"""Workflow definitions (SPEC §9.1, §10.2, §10.6) and the cases that run them.

A definition holds a draft (the workflow document of SPEC §10.6, edited freely in the designer or
through the configuration API) and its published versions, which never change. A case is a
viewflow process of the one generic ``HandlingFlow``: it copies the steps of the version it
started with, so publishing a new version never changes a running case. Its tasks are viewflow's
task rows; what the engine needs to know of each (step, department, deadline, outcome, the form
data) lives in the task's ``data``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from viewflow.workflow.models import Process, Task

from apps.common.i18n import localized
from apps.common.models import TimeStampedModel


class WorkflowDefinition(TimeStampedModel):
    key = models.SlugField(_("key"), max_length=64, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=120, blank=True)
    is_active = models.BooleanField(_("active"), default=True, help_text=_("Inactive workflows start no new cases."))
    draft = models.JSONField(_("draft"))
    published = models.ForeignKey(
        "WorkflowVersion",
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
        verbose_name = _("workflow")
        verbose_name_plural = _("workflows")
        ordering = ("key",)

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return localized(self.name_zh, self.name_en)


class WorkflowVersion(models.Model):
    """A published workflow: immutable (the model refuses to change or delete one)."""

    definition = models.ForeignKey(
        WorkflowDefinition, verbose_name=_("workflow"), on_delete=models.PROTECT, related_name="versions"
    )
    number = models.PositiveIntegerField(_("version"))
    document = models.JSONField(_("document"))
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
        verbose_name = _("workflow version")
        verbose_name_plural = _("workflow versions")
        ordering = ("definition", "-number")
        constraints = [
            models.UniqueConstraint(fields=("definition", "number"), name="workflows_version_number_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.definition.key} v{self.number}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValueError("A published workflow version never changes: publish a new one.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("A published workflow version is kept: cases refer to it.")


class WorkflowChange(models.Model):
    """Who changed a workflow, when, and what (the designer's history)."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        DRAFT_SAVED = "draft_saved", _("Draft saved")
        PUBLISHED = "published", _("Published")
        RESTORED = "restored", _("Restored")
        ACTIVATED = "activated", _("Switched on")
        DEACTIVATED = "deactivated", _("Switched off")

    definition = models.ForeignKey(
        WorkflowDefinition, verbose_name=_("workflow"), on_delete=models.CASCADE, related_name="changes"
    )
    at = models.DateTimeField(_("at"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.SET_NULL, null=True, blank=True
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    version = models.PositiveIntegerField(_("version"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("workflow change")
        verbose_name_plural = _("workflow changes")
        ordering = ("-at", "-id")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} @ {self.at:%Y-%m-%d %H:%M}"


class HandlingCase(Process):
    """One run of a workflow for one exception: a viewflow process with the steps it started with.

    ``request`` is unique: a handling request (the outbox row written when the exception became
    active) starts at most one case, whoever tries — the after-commit task, a retried task or
    the sweep.
    """

    exception = models.ForeignKey(
        "exceptions.OrderException", verbose_name=_("exception"), on_delete=models.PROTECT, related_name="cases"
    )
    request = models.OneToOneField(
        "exceptions.HandlingRequest", verbose_name=_("handling request"), on_delete=models.PROTECT, related_name="case"
    )
    version = models.ForeignKey(
        WorkflowVersion, verbose_name=_("workflow version"), on_delete=models.PROTECT, related_name="cases"
    )
    # The version's steps as the engine runs them (workflows.document.WorkflowSpec.as_json()["steps"]
    # plus the escalation step), copied at start.
    steps = models.JSONField(_("steps"))
    step = models.CharField(_("current step"), max_length=40)
    # Where "back" returns to: the steps taken, oldest first.
    trail = models.JSONField(_("steps taken"), default=list)
    ended_note = models.CharField(_("why it ended"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("handling case")
        verbose_name_plural = _("handling cases")

    def __str__(self) -> str:
        return f"#{self.pk} {self.exception_id}"


class HandlingTask(Task):
    """A task of a handling case (viewflow's task row). ``data`` keys: ``step``, ``kind``,
    ``department`` (id), ``due_at`` (ISO), ``notice``, ``outcome``, ``form`` (the submitted data),
    ``root_cause``, ``note``, ``canceled_note``, ``overdue``."""

    class Meta:
        proxy = True
        verbose_name = _("handling task")
        verbose_name_plural = _("handling tasks")
