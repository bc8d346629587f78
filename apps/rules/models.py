"""Exception rules: a condition tree (data, never code) plus its parameters and grading defaults."""

from django.db import models
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
