"""Order exceptions (one per rule and order while active), their audit trail and the grading table.

The lifecycle is SPEC §3: ``open → assigned → in_progress → resolved → closed``, with
``escalated`` (waiting on a manager), ``dismissed`` (not a real exception) and
``auto_resolved`` (the condition cleared). The database enforces "at most one active
exception per (rule, order)" with a partial unique index, so concurrent detectors can't
create two.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from apps.common.i18n import localized
from apps.common.models import TimeStampedModel
from apps.orders.models import MONEY, Channel
from apps.rules.models import Category, Severity


class Handling(models.TextChoices):
    """How an exception is handled; set by the grading table."""

    AUTO_REPLENISHMENT = "auto_replenishment", _("Automatic replenishment request")
    MANUAL_CHECK = "manual_check", _("Manual check")
    CUSTOMER_CALLBACK = "customer_callback", _("Customer call-back")
    CARRIER_LIAISON = "carrier_liaison", _("Carrier liaison")
    PRICE_REVIEW = "price_review", _("Price review")
    ORDER_RESYNC = "order_resync", _("Order re-sync from the channel")
    PROCESS_FOLLOW_UP = "process_follow_up", _("Process follow-up")
    TRIAGE = "triage", _("Triage")


class NotifyChannel(models.TextChoices):
    """Channels a new exception is announced on (the notifications app delivers them)."""

    IN_APP = "in_app", pgettext_lazy("notification channel", "In-app")
    EMAIL = "email", pgettext_lazy("notification channel", "E-mail")
    SMS = "sms", pgettext_lazy("notification channel", "SMS")
    WECOM = "wecom", pgettext_lazy("notification channel", "WeCom robot")
    DINGTALK = "dingtalk", pgettext_lazy("notification channel", "DingTalk robot")
    FEISHU = "feishu", pgettext_lazy("notification channel", "Feishu bot")


def validate_notify_channels(value) -> None:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError(_("Give a list of channel codes."), code="invalid")
    unknown = sorted(set(value) - set(NotifyChannel.values))
    if unknown:
        raise ValidationError(
            _("Unknown notification channels: %(channels)s."),
            code="unknown_channel",
            params={"channels": ", ".join(unknown)},
        )


class ExceptionStatus(models.TextChoices):
    """The lifecycle of SPEC §3."""

    OPEN = "open", pgettext_lazy("exception status", "Open")
    ASSIGNED = "assigned", pgettext_lazy("exception status", "Assigned")
    IN_PROGRESS = "in_progress", pgettext_lazy("exception status", "In progress")
    ESCALATED = "escalated", pgettext_lazy("exception status", "Escalated")
    RESOLVED = "resolved", pgettext_lazy("exception status", "Resolved")
    CLOSED = "closed", pgettext_lazy("exception status", "Closed")
    DISMISSED = "dismissed", pgettext_lazy("exception status", "Dismissed")
    AUTO_RESOLVED = "auto_resolved", pgettext_lazy("exception status", "Auto-resolved")


class RootCause(models.TextChoices):
    """Why an exception happened, recorded when it is resolved (SPEC §9.6)."""

    PROCESS = "process", pgettext_lazy("root cause", "Process")
    PERSON = "person", pgettext_lazy("root cause", "Person")
    SYSTEM = "system", pgettext_lazy("root cause", "System")
    PARTNER = "partner", pgettext_lazy("root cause", "Partner")
    CUSTOMER = "customer", pgettext_lazy("root cause", "Customer")
    OTHER = "other", pgettext_lazy("root cause", "Other")


# Someone still has to act on these; a re-detection adds to the active one.
ACTIVE_STATUSES = (
    ExceptionStatus.OPEN,
    ExceptionStatus.ASSIGNED,
    ExceptionStatus.IN_PROGRESS,
    ExceptionStatus.ESCALATED,
)
# A detection within the recurrence window after one of these ends is a recurrence.
ENDED_STATUSES = (
    ExceptionStatus.RESOLVED,
    ExceptionStatus.CLOSED,
    ExceptionStatus.DISMISSED,
    ExceptionStatus.AUTO_RESOLVED,
)


class PauseReason(models.TextChoices):
    """Why the clock of an exception is paused (SPEC §9.4): someone outside is being waited for."""

    CUSTOMER = "customer", pgettext_lazy("pause reason", "Waiting for the customer")
    CARRIER = "carrier", pgettext_lazy("pause reason", "Waiting for the carrier")
    FINANCE = "finance", pgettext_lazy("pause reason", "Waiting for finance")
    OTHER = "other", pgettext_lazy("pause reason", "Other")


class OrderException(TimeStampedModel):
    """One detected exception of one rule on one order (or, for MISSING_ORDER, on a channel's order key)."""

    Status = ExceptionStatus

    ACTIVE = ACTIVE_STATUSES
    ENDED = ENDED_STATUSES

    rule = models.ForeignKey(
        "rules.ExceptionRule", verbose_name=_("rule"), on_delete=models.PROTECT, related_name="exceptions"
    )
    # PROTECT, not CASCADE: exceptions are the history that reports and rule tuning learn from,
    # and the audit trail hangs off them. An order with exceptions is not deleted.
    order = models.ForeignKey(
        "orders.Order",
        verbose_name=_("order"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="exceptions",
    )
    # Copied from the order; the only key of a MISSING_ORDER exception, which has no order.
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    external_id = models.CharField(_("external ID"), max_length=64)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN)
    severity = models.CharField(_("severity"), max_length=8, choices=Severity.choices)
    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    department = models.ForeignKey(
        "accounts.Department",
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="exceptions",
    )
    handling = models.CharField(_("handling"), max_length=32, choices=Handling.choices, blank=True)
    notify_channels = models.JSONField(_("notification channels"), default=list, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_exceptions",
    )
    summary = models.CharField(_("summary"), max_length=255)
    detected_at = models.DateTimeField(_("detected at"))
    last_detected_at = models.DateTimeField(_("last detected at"))
    first_response_due_at = models.DateTimeField(_("first response due at"), null=True, blank=True)
    due_at = models.DateTimeField(_("resolution due at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    occurrences = models.PositiveIntegerField(_("occurrences"), default=1)
    is_recurrence = models.BooleanField(_("recurrence"), default=False)
    recurrence_of = models.ForeignKey(
        "self",
        verbose_name=_("recurrence of"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="recurrences",
    )
    details = models.JSONField(_("details"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    root_cause = models.CharField(_("root cause"), max_length=16, choices=RootCause.choices, blank=True)
    # The SLA clock (apps/exceptions/sla.py writes these): the first claim or step completion,
    # each deadline's breach (recorded apart), and a pause while someone outside is waited for.
    first_responded_at = models.DateTimeField(_("first response at"), null=True, blank=True)
    first_response_breached_at = models.DateTimeField(_("first response breached at"), null=True, blank=True)
    resolution_breached_at = models.DateTimeField(_("resolution breached at"), null=True, blank=True)
    paused_at = models.DateTimeField(_("paused since"), null=True, blank=True)
    pause_reason = models.CharField(_("pause reason"), max_length=16, choices=PauseReason.choices, blank=True)

    class Meta:
        verbose_name = _("order exception")
        verbose_name_plural = _("order exceptions")
        permissions = [("grant_waiver", _("Can grant a waiver of a high or urgent exception"))]
        ordering = ["-detected_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "order"],
                condition=Q(status__in=ACTIVE_STATUSES) & Q(order__isnull=False),
                name="exceptions_orderexception_one_active_per_rule_order",
                violation_error_message=_("This rule already has an active exception on this order."),
            ),
            models.UniqueConstraint(
                fields=["rule", "channel", "external_id"],
                condition=Q(status__in=ACTIVE_STATUSES) & Q(order__isnull=True),
                name="exceptions_orderexception_one_active_per_rule_key",
                violation_error_message=_("This rule already has an active exception on this channel's order."),
            ),
            models.CheckConstraint(
                condition=Q(status__in=ExceptionStatus.values),
                name="exceptions_orderexception_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(severity__in=Severity.values),
                name="exceptions_orderexception_severity_valid",
            ),
            models.CheckConstraint(
                condition=Q(occurrences__gte=1), name="exceptions_orderexception_occurrences_positive"
            ),
            models.CheckConstraint(
                condition=Q(root_cause="") | Q(root_cause__in=RootCause.values),
                name="exceptions_orderexception_root_cause_valid",
            ),
            # Without an order, the channel's order key is what the exception is about.
            models.CheckConstraint(
                condition=Q(order__isnull=False) | (~Q(channel="") & ~Q(external_id="")),
                name="exceptions_orderexception_order_or_key",
            ),
            models.CheckConstraint(
                condition=~Q(
                    status__in=[ExceptionStatus.RESOLVED, ExceptionStatus.AUTO_RESOLVED, ExceptionStatus.CLOSED]
                )
                | Q(resolved_at__isnull=False),
                name="exceptions_orderexception_resolved_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=[ExceptionStatus.CLOSED, ExceptionStatus.DISMISSED])
                | Q(closed_at__isnull=False),
                name="exceptions_orderexception_closed_has_time",
            ),
            models.CheckConstraint(
                condition=Q(is_recurrence=False, recurrence_of__isnull=True)
                | Q(is_recurrence=True, recurrence_of__isnull=False),
                name="exceptions_orderexception_recurrence_consistent",
            ),
            models.CheckConstraint(
                condition=Q(last_detected_at__gte=F("detected_at")),
                name="exceptions_orderexception_last_detected_after_first",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "detected_at"], name="exc_exc_status_detected_idx"),
            models.Index(fields=["severity", "detected_at"], name="exc_exc_severity_detected_idx"),
            models.Index(fields=["department", "detected_at"], name="exc_exc_dept_detected_idx"),
            models.Index(fields=["assignee", "status"], name="exc_exc_assignee_status_idx"),
            models.Index(fields=["rule", "status"], name="exc_exc_rule_status_idx"),
            models.Index(fields=["order", "rule"], name="exc_exc_order_rule_idx"),
            models.Index(fields=["detected_at"], name="exc_exc_detected_idx"),
            models.Index(fields=["channel", "external_id"], name="exc_exc_channel_ext_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.rule.code} {self.channel}:{self.external_id}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE


class ExceptionEvent(models.Model):
    """Append-only audit trail of an exception: what happened, when, and who did it (null: the system)."""

    class Kind(models.TextChoices):
        DETECTED = "detected", pgettext_lazy("exception event", "Detected")
        # Detected again with evidence that differs from the stored one (data: the new details and
        # the occurrence it made); a re-detection with the same evidence records nothing.
        REDETECTED = "redetected", pgettext_lazy("exception event", "Detected again")
        AUTO_RESOLVED = "auto_resolved", pgettext_lazy("exception event", "Auto-resolved")
        # Handling (apps/exceptions/lifecycle.py); data holds the reason, note or people involved.
        ASSIGNED = "assigned", pgettext_lazy("exception event", "Assigned")
        CLAIMED = "claimed", pgettext_lazy("exception event", "Claimed")
        STARTED = "started", pgettext_lazy("exception event", "Work started")
        HANDED_BACK = "handed_back", pgettext_lazy("exception event", "Handed back")
        ESCALATED = "escalated", pgettext_lazy("exception event", "Escalated")
        RESOLVED = "resolved", pgettext_lazy("exception event", "Resolved")
        DISMISSED = "dismissed", pgettext_lazy("exception event", "Dismissed as not real")
        CLOSED = "closed", pgettext_lazy("exception event", "Closed")
        REOPENED = "reopened", pgettext_lazy("exception event", "Reopened")
        # The handling engine placed it with the department or person of its current step
        # (data: step, department, assignee, and the notice when nobody was available).
        ROUTED = "routed", pgettext_lazy("exception event", "Routed")
        STEP_OVERDUE = "step_overdue", pgettext_lazy("exception event", "Step overdue")
        CASE_ENDED = "case_ended", pgettext_lazy("exception event", "Handling ended")
        # The SLA clock and its escalation ladder (apps/exceptions/sla.py, workflows/escalation.py).
        PAUSED = "paused", pgettext_lazy("exception event", "Clock paused")
        RESUMED = "resumed", pgettext_lazy("exception event", "Clock resumed")
        FIRST_RESPONSE_BREACHED = (
            "first_response_breached",
            pgettext_lazy("exception event", "First response deadline missed"),
        )
        RESOLUTION_BREACHED = "resolution_breached", pgettext_lazy("exception event", "Resolution deadline missed")
        REMINDED = "reminded", pgettext_lazy("exception event", "Reminder sent")
        LEAD_NOTIFIED = "lead_notified", pgettext_lazy("exception event", "Lead notified")
        # A manager's decision on an approval (data: decision, reason, proposal).
        APPROVAL_DECIDED = "approval_decided", pgettext_lazy("exception event", "Manager decided")
        SEVERITY_RAISED = "severity_raised", pgettext_lazy("exception event", "Severity raised")

    exception = models.ForeignKey(
        OrderException, verbose_name=_("exception"), on_delete=models.CASCADE, related_name="events"
    )
    at = models.DateTimeField(_("at"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    data = models.JSONField(_("data"), default=dict, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        verbose_name = _("exception event")
        verbose_name_plural = _("exception events")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["exception", "at"], name="exc_event_exception_at_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} @ {self.at:%Y-%m-%d %H:%M}"


class GradingRule(TimeStampedModel):
    """One row of the grading decision table: the first active row (by position) that matches wins.

    Every match field is optional (empty matches anything). Amounts are inclusive bounds on
    the order's ``total_amount``; the time window is local time (``TIME_ZONE``) and may wrap
    past midnight (22:00–06:00).
    """

    position = models.PositiveIntegerField(_("position"), default=100, help_text=_("Lower positions are tried first."))
    name = models.CharField(_("name"), max_length=128, blank=True)
    name_en = models.CharField(_("English name"), max_length=128, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    category = models.CharField(_("category"), max_length=16, choices=Category.choices, blank=True)
    rule = models.ForeignKey(
        "rules.ExceptionRule",
        verbose_name=_("rule"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="grading_rules",
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, blank=True)
    min_amount = models.DecimalField(_("minimum order amount"), null=True, blank=True, **MONEY)
    max_amount = models.DecimalField(_("maximum order amount"), null=True, blank=True, **MONEY)
    customer_tag = models.CharField(_("customer tag"), max_length=32, blank=True)
    time_from = models.TimeField(_("from (time of day)"), null=True, blank=True)
    time_to = models.TimeField(_("until (time of day)"), null=True, blank=True)

    severity = models.CharField(
        _("severity"),
        max_length=8,
        choices=Severity.choices,
        blank=True,
        help_text=_("Empty: the rule's default severity."),
    )
    department = models.ForeignKey(
        "accounts.Department", verbose_name=_("department"), on_delete=models.PROTECT, related_name="grading_rules"
    )
    handling = models.CharField(_("handling"), max_length=32, choices=Handling.choices)
    first_response_minutes = models.PositiveIntegerField(_("first response (minutes)"))
    resolution_minutes = models.PositiveIntegerField(
        _("resolution (minutes)"),
        null=True,
        blank=True,
        help_text=_("Empty: four times the first response time."),
    )
    notify_channels = models.JSONField(
        _("notification channels"), default=list, blank=True, validators=[validate_notify_channels]
    )

    class Meta:
        verbose_name = _("grading rule")
        verbose_name_plural = _("grading rules")
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(first_response_minutes__gt=0),
                name="exceptions_gradingrule_first_response_positive",
                violation_error_message=_("The first response time must be at least one minute."),
            ),
            models.CheckConstraint(
                condition=Q(resolution_minutes__isnull=True) | Q(resolution_minutes__gte=F("first_response_minutes")),
                name="exceptions_gradingrule_resolution_after_first_response",
                violation_error_message=_("The resolution time must not be shorter than the first response time."),
            ),
            models.CheckConstraint(
                condition=(Q(min_amount__isnull=True) | Q(min_amount__gte=0))
                & (Q(max_amount__isnull=True) | Q(max_amount__gte=0)),
                name="exceptions_gradingrule_amounts_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(min_amount__isnull=True) | Q(max_amount__isnull=True) | Q(min_amount__lte=F("max_amount")),
                name="exceptions_gradingrule_amount_range",
                violation_error_message=_("The maximum amount must not be below the minimum amount."),
            ),
            models.CheckConstraint(
                condition=Q(time_from__isnull=True, time_to__isnull=True)
                | Q(time_from__isnull=False, time_to__isnull=False),
                name="exceptions_gradingrule_time_window_whole",
                violation_error_message=_("Give both ends of the time window, or neither."),
            ),
            models.CheckConstraint(
                condition=Q(severity__in=["", *Severity.values]),
                name="exceptions_gradingrule_severity_valid",
            ),
        ]
        indexes = [models.Index(fields=["is_active", "position"], name="exc_grading_active_pos_idx")]

    def __str__(self) -> str:
        return self.display_name or f"#{self.position}"

    @property
    def display_name(self) -> str:
        """The name in the page's language."""
        return localized(self.name, self.name_en)

    def clean(self) -> None:
        errors = {}
        if self.min_amount is not None and self.max_amount is not None and self.min_amount > self.max_amount:
            errors["max_amount"] = _("The maximum amount must not be below the minimum amount.")
        if (self.time_from is None) != (self.time_to is None):
            errors["time_to" if self.time_to is None else "time_from"] = _(
                "Give both ends of the time window, or neither."
            )
        if self.time_from is not None and self.time_from == self.time_to:
            errors["time_to"] = _("The time window must not be empty.")
        if self.first_response_minutes is not None and self.first_response_minutes <= 0:
            errors["first_response_minutes"] = _("The first response time must be at least one minute.")
        if (
            self.resolution_minutes is not None
            and self.first_response_minutes is not None
            and self.resolution_minutes < self.first_response_minutes
        ):
            errors["resolution_minutes"] = _("The resolution time must not be shorter than the first response time.")
        if errors:
            raise ValidationError(errors)


class GradingRuleVersion(models.Model):
    """A grading row as one save or removal left it: its document, who, when, and what changed.

    Keyed by the row's id, not a foreign key: the history of a removed row stays, and the row
    can be restored from it. Written only by ``apps.exceptions.grading``; never changed.
    """

    class Action(models.TextChoices):
        CREATED = "created", pgettext_lazy("grading row change", "Created")
        CHANGED = "changed", pgettext_lazy("grading row change", "Changed")
        DELETED = "deleted", pgettext_lazy("grading row change", "Removed")
        RESTORED = "restored", pgettext_lazy("grading row change", "Restored")

    row_id = models.PositiveBigIntegerField(_("grading row"))
    number = models.PositiveIntegerField(_("version"))
    action = models.CharField(_("action"), max_length=8, choices=Action.choices)
    # The row as the configuration API answers it (without its id); for a removal, as it was.
    document = models.JSONField(_("document"), encoder=DjangoJSONEncoder)
    # [{"attribute": "first_response_minutes", "old": 30, "new": 20}, ...] (grading.row_changes).
    changes = models.JSONField(_("changes"), default=list, blank=True, encoder=DjangoJSONEncoder)
    note = models.CharField(_("note"), max_length=500, blank=True)
    restored_from = models.PositiveIntegerField(_("restored from version"), null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("grading row version")
        verbose_name_plural = _("grading row versions")
        ordering = ("row_id", "-number")
        constraints = [
            models.UniqueConstraint(fields=("row_id", "number"), name="exceptions_gradingruleversion_number_unique"),
            models.CheckConstraint(condition=Q(number__gte=1), name="exceptions_gradingruleversion_number_positive"),
            models.CheckConstraint(
                condition=Q(action__in=["created", "changed", "deleted", "restored"]),
                name="exceptions_gradingruleversion_action_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.row_id} v{self.number}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("A grading row version is never changed.")
        super().save(*args, **kwargs)


class HandlingRequest(models.Model):
    """The outbox of handling: one row per time an exception becomes active (detected or reopened).

    Written in the detecting (or reopening) transaction, so it commits or fails with the
    exception. After commit a Celery task starts the case; a beat sweep starts any that a dead
    worker or lost message missed. The case points at its request with a unique key, so a
    request starts at most one case (``workflows.models.HandlingCase.request``).
    """

    class Reason(models.TextChoices):
        DETECTED = "detected", pgettext_lazy("handling request", "Detected")
        REOPENED = "reopened", pgettext_lazy("handling request", "Reopened")

    exception = models.ForeignKey(
        OrderException, verbose_name=_("exception"), on_delete=models.CASCADE, related_name="handling_requests"
    )
    reason = models.CharField(_("reason"), max_length=16, choices=Reason.choices, default=Reason.DETECTED)
    requested_at = models.DateTimeField(_("requested at"))
    # Set once the request was dealt with: a case started, or none was needed (no workflow
    # applies, or the exception had ended before its turn came).
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)

    class Meta:
        verbose_name = _("handling request")
        verbose_name_plural = _("handling requests")
        ordering = ["requested_at", "id"]
        indexes = [
            models.Index(
                fields=["requested_at"], condition=Q(handled_at__isnull=True), name="exc_handling_request_open_idx"
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} → {self.exception_id}"


# --- Business calendars and the escalation ladder (SPEC §9.4, §9.5, §10.6) ------------------


class DayKind(models.TextChoices):
    HOLIDAY = "holiday", pgettext_lazy("calendar day", "Holiday")
    MAKE_UP = "make_up", pgettext_lazy("calendar day", "Make-up working day")


class OfficialDay(models.Model):
    """A public holiday or make-up working day (调休) of the State Council's calendar.

    Loaded from the ``chinese-calendar`` package (``source=package``); an admin adds a year the
    package does not have yet (``source=admin``). Loading again never overwrites an admin's row.
    """

    class Source(models.TextChoices):
        PACKAGE = "package", _("chinese-calendar package")
        ADMIN = "admin", _("Entered by an admin")

    date = models.DateField(_("date"), unique=True)
    kind = models.CharField(_("kind"), max_length=8, choices=DayKind.choices)
    name = models.CharField(_("name"), max_length=64, blank=True)
    source = models.CharField(_("source"), max_length=8, choices=Source.choices, default=Source.ADMIN)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("official holiday or make-up day")
        verbose_name_plural = _("official holidays and make-up days")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.get_kind_display()}"


def default_week() -> dict[str, list[list[str]]]:
    shift = [["09:00", "12:00"], ["13:30", "18:00"]]
    return {"mon": shift, "tue": shift, "wed": shift, "thu": shift, "fri": shift, "sat": [], "sun": []}


class BusinessCalendar(TimeStampedModel):
    """The working time of a department (``department`` empty: the company default), SPEC §10.6.

    ``week`` maps ``mon`` … ``sun`` to the day's shifts (``[["09:00", "12:00"], ["13:30", "18:00"]]``);
    a make-up working day keeps ``make_up_day_hours`` (empty: Monday's). The company's own
    holidays and make-up days are its ``days``; ``official_calendar`` adds the State Council's.
    """

    department = models.OneToOneField(
        "accounts.Department",
        verbose_name=_("department"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="calendar",
    )
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")
    always_open = models.BooleanField(_("24×7"), default=False, help_text=_("Every hour of every day is working time."))
    official_calendar = models.BooleanField(
        _("official holidays"),
        default=True,
        help_text=_("Apply the State Council's public holidays and make-up working days."),
    )
    week = models.JSONField(_("working hours"), default=default_week)
    make_up_day_hours = models.JSONField(_("hours of a make-up working day"), default=list, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")
        ordering = ["department__code"]
        constraints = [
            models.UniqueConstraint(
                Coalesce("department", Value(0)),
                name="exceptions_calendar_one_company_default",
                violation_error_message=_("There is one company calendar."),
            )
        ]

    def __str__(self) -> str:
        return str(self.department) if self.department_id else str(_("Company calendar"))


class CalendarDay(models.Model):
    """A company holiday or make-up working day of one calendar (on top of the official ones)."""

    calendar = models.ForeignKey(
        BusinessCalendar, verbose_name=_("calendar"), on_delete=models.CASCADE, related_name="days"
    )
    date = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=8, choices=DayKind.choices)
    name = models.CharField(_("name"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("company holiday or make-up day")
        verbose_name_plural = _("company holidays and make-up days")
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(
                fields=["calendar", "date"],
                name="exceptions_calendarday_once",
                violation_error_message=_("This date is in the calendar already."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.get_kind_display()}"


class EscalationLadder(TimeStampedModel):
    """The escalation ladder of one severity: its levels fire in order of their moment."""

    severity = models.CharField(_("severity"), max_length=8, choices=Severity.choices, unique=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("escalation ladder")
        verbose_name_plural = _("escalation ladders")
        ordering = ["severity"]

    def __str__(self) -> str:
        return str(Severity(self.severity).label) if self.severity in Severity.values else self.severity


class EscalationLevel(models.Model):
    """One rung: when (a share of a deadline, its breach, or the breach plus a period) and what."""

    class Clock(models.TextChoices):
        RESOLUTION = "resolution", pgettext_lazy("sla clock", "Resolution deadline")
        FIRST_RESPONSE = "first_response", pgettext_lazy("sla clock", "First response deadline")

    class Trigger(models.TextChoices):
        SHARE = "share", pgettext_lazy("ladder trigger", "A share of the deadline")
        BREACH = "breach", pgettext_lazy("ladder trigger", "At the breach")
        AFTER_BREACH = "after_breach", pgettext_lazy("ladder trigger", "A period after the breach")

    class Action(models.TextChoices):
        REMIND = "remind", pgettext_lazy("ladder action", "Remind the assignee")
        NOTIFY_LEAD = "notify_lead", pgettext_lazy("ladder action", "Notify the lead and mark escalated")
        APPROVAL = "approval", pgettext_lazy("ladder action", "Open a manager approval")
        REASSIGN_LEAD = "reassign_lead", pgettext_lazy("ladder action", "Reassign to the lead")

    ladder = models.ForeignKey(
        EscalationLadder, verbose_name=_("ladder"), on_delete=models.CASCADE, related_name="levels"
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    clock = models.CharField(_("deadline"), max_length=16, choices=Clock.choices, default=Clock.RESOLUTION)
    trigger = models.CharField(_("when"), max_length=16, choices=Trigger.choices)
    share_percent = models.PositiveSmallIntegerField(
        _("share (%)"), null=True, blank=True, help_text=_("For a share: how much of the deadline has passed.")
    )
    after = models.CharField(
        _("period after the breach"),
        max_length=8,
        blank=True,
        help_text=_("For a period after the breach, in business time: 30m, 2h, 1d (s for seconds)."),
    )
    action = models.CharField(_("action"), max_length=16, choices=Action.choices)

    class Meta:
        verbose_name = _("escalation level")
        verbose_name_plural = _("escalation levels")
        ordering = ["ladder", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(trigger="share") | Q(share_percent__gte=1, share_percent__lte=99),
                name="exceptions_escalationlevel_share_range",
                violation_error_message=_("A share is between 1 and 99 %."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ladder} #{self.position}"


class TimerFiring(models.Model):
    """One firing of an SLA timer: when it was due, when it fired, and so its lag (SPEC §9.5).

    ``timer_task_id`` is the viewflow timer task that fired; it is unique, so a timer is acted on once
    even when two dispatchers meet it.
    """

    timer_task_id = models.BigIntegerField(_("timer task"), unique=True)
    exception = models.ForeignKey(
        OrderException, verbose_name=_("exception"), on_delete=models.CASCADE, related_name="timer_firings"
    )
    due_at = models.DateTimeField(_("due at"))
    fired_at = models.DateTimeField(_("fired at"))
    lag_ms = models.IntegerField(_("lag (ms)"))
    actions = models.JSONField(_("actions"), default=list, blank=True)

    class Meta:
        verbose_name = _("timer firing")
        verbose_name_plural = _("timer firings")
        ordering = ["-fired_at"]
        indexes = [models.Index(fields=["fired_at"], name="exc_timerfiring_fired_idx")]

    def __str__(self) -> str:
        return f"{self.timer_task_id} +{self.lag_ms} ms"


class Heartbeat(models.Model):
    """The last time a periodic job ran (``timers``: the beat-driven timer dispatcher)."""

    name = models.CharField(_("name"), max_length=32, unique=True)
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("heartbeat")
        verbose_name_plural = _("heartbeats")

    def __str__(self) -> str:
        return f"{self.name} @ {self.at:%H:%M:%S}"
