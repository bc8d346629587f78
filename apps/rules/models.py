"""Exception rules: a condition tree (data, never code) plus its parameters and grading defaults."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from apps.common.i18n import localized
from apps.common.models import TimeStampedModel


class Category(models.TextChoices):
    PAYMENT = "payment", pgettext_lazy("exception category", "Payment")
    INVENTORY = "inventory", pgettext_lazy("exception category", "Inventory")
    INFORMATION = "information", pgettext_lazy("exception category", "Information")
    LOGISTICS = "logistics", pgettext_lazy("exception category", "Logistics")
    INTEGRATION = "integration", pgettext_lazy("exception category", "Integration")
    PRICING = "pricing", pgettext_lazy("exception category", "Pricing")
    PROCESS = "process", pgettext_lazy("exception category", "Process")


class Severity(models.TextChoices):
    URGENT = "urgent", pgettext_lazy("severity", "Urgent")
    HIGH = "high", pgettext_lazy("severity", "High")
    MEDIUM = "medium", pgettext_lazy("severity", "Medium")
    LOW = "low", pgettext_lazy("severity", "Low")

    @classmethod
    def raised(cls, severity: str) -> str:
        """One level more severe (urgent stays urgent)."""
        order = [cls.LOW, cls.MEDIUM, cls.HIGH, cls.URGENT]
        return order[min(order.index(cls(severity)) + 1, len(order) - 1)].value


class ExceptionRule(TimeStampedModel):
    """One detectable exception kind. ``condition`` is a JSON tree in the rule language (SPEC §4)."""

    class Source(models.TextChoices):
        CONDITION = "condition", _("Condition on orders")
        # Raised by POST /api/v1/reconciliations/ for orders the system does not have.
        RECONCILIATION = "reconciliation", _("Platform reconciliation")

    code = models.CharField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=128)
    name_en = models.CharField(_("English name"), max_length=128, blank=True)
    description = models.TextField(_("description"), blank=True)
    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    default_severity = models.CharField(_("default severity"), max_length=8, choices=Severity.choices)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices, default=Source.CONDITION)
    condition = models.JSONField(_("condition"), default=dict, blank=True)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    is_builtin = models.BooleanField(_("built-in"), default=False, editable=False)
    # Rules whose outcome changes with the clock alone are re-run by the periodic scan.
    is_time_based = models.BooleanField(_("time-based"), default=False)
    last_error = models.TextField(_("last run-time error"), blank=True, editable=False)
    last_error_at = models.DateTimeField(_("last error at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("exception rule")
        verbose_name_plural = _("exception rules")
        ordering = ["code"]
        indexes = [models.Index(fields=["is_active", "is_time_based"], name="rules_rule_active_time_idx")]

    def __str__(self) -> str:
        return f"{self.code} {self.display_name}"

    @property
    def display_name(self) -> str:
        """The name in the page's language."""
        return localized(self.name, self.name_en)


class RuleVersion(models.Model):
    """A rule as one save left it: its document, who saved it, when, and what changed.

    Written only by the rule services (``rule_update`` and the services built on it), one per
    save that changes the rule; never changed afterwards. ``document`` is the rule's
    configuration as the configuration API carries it (``apps.rules.diff.rule_document``).
    """

    rule = models.ForeignKey(ExceptionRule, verbose_name=_("rule"), on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    document = models.JSONField(_("document"))
    # [{"change": "changed", "attribute": "severity", "old": "medium", "new": "high"}, ...]
    # (apps.rules.diff.document_changes); [{"change": "created"}] for the first version.
    changes = models.JSONField(_("changes"), default=list, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    restored_from = models.PositiveIntegerField(_("restored from version"), null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("saved by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("saved at"))

    class Meta:
        verbose_name = _("rule version")
        verbose_name_plural = _("rule versions")
        ordering = ("rule", "-number")
        constraints = [
            models.UniqueConstraint(fields=("rule", "number"), name="rules_ruleversion_number_unique"),
            models.CheckConstraint(condition=Q(number__gte=1), name="rules_ruleversion_number_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.rule.code} v{self.number}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("A rule version is never changed.")
        super().save(*args, **kwargs)


class BacktestRun(TimeStampedModel):
    """A back-test run in the background (``rules.backtest_run``): what was asked, how far it is, its answer."""

    class Status(models.TextChoices):
        QUEUED = "queued", pgettext_lazy("back-test status", "Queued")
        RUNNING = "running", pgettext_lazy("back-test status", "Running")
        DONE = "done", pgettext_lazy("back-test status", "Done")
        FAILED = "failed", pgettext_lazy("back-test status", "Failed")

    MAX_DAYS = 90

    rule = models.ForeignKey(
        ExceptionRule, verbose_name=_("rule"), on_delete=models.CASCADE, related_name="backtest_runs"
    )
    # {"condition": …, "params": …, "draft": bool}: what is back-tested, resolved when asked
    # (a draft, or the rule's saved condition and parameters).
    document = models.JSONField(_("requested condition"))
    days = models.PositiveSmallIntegerField(_("days"))
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    result = models.JSONField(_("result"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("back-test run")
        verbose_name_plural = _("back-test runs")
        ordering = ("-created_at", "-id")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["queued", "running", "done", "failed"]), name="rules_backtestrun_status_valid"
            ),
            models.CheckConstraint(condition=Q(progress__lte=100), name="rules_backtestrun_progress_range"),
            models.CheckConstraint(condition=Q(days__gte=1, days__lte=90), name="rules_backtestrun_days_range"),
            models.CheckConstraint(
                condition=~Q(status="done") | Q(result__isnull=False), name="rules_backtestrun_done_has_result"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rule.code} {self.days}d {self.status}"
