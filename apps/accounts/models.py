import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from apps.common.i18n import localized
from apps.common.models import TimeStampedModel


def validate_time_zone(value: str) -> None:
    if not value:
        return
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(_("%(zone)s is not a known time zone."), params={"zone": value}) from exc


class Role(models.TextChoices):
    """Roles are auth groups of these names; their permissions live in ``roles.py``."""

    ADMIN = "admin", _("Administrator")
    STAFF = "staff", _("Staff")
    MANAGER = "manager", _("Manager")


class Department(TimeStampedModel):
    """An organisational unit that exceptions are routed to (仓储/采购, 财务, 客服, 物流, 管理层)."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=64)
    name_en = models.CharField(_("English name"), max_length=64, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    # The person a task falls back to when nobody else in the department is available.
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("lead"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="led_departments",
    )
    # A refund or compensation above this amount needs a manager's approval (None: every one does).
    approval_limit = models.DecimalField(
        _("approval limit"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        default=500,
        help_text=_("Refunds and compensation above this amount need a manager's approval. Empty: all of them do."),
    )

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        """The name in the page's language."""
        return localized(self.name, self.name_en)


class User(AbstractUser):
    """A person or an integration account; belongs to at most one department."""

    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="members",
    )
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    # Pages show times in this zone; empty means the site's TIME_ZONE.
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        blank=True,
        validators=[validate_time_zone],
        help_text=_("An IANA time zone such as Asia/Shanghai; empty means the site's time zone."),
    )
    # Set by the user or their department's lead; assignment skips people who are away.
    away = models.BooleanField(
        _("away"), default=False, help_text=_("Away users receive no new tasks until they are back.")
    )
    away_note = models.CharField(_("away note"), max_length=200, blank=True)

    class Meta(AbstractUser.Meta):
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def has_role(self, role: str) -> bool:
        return self.groups.filter(name=role).exists()


class Weekday(models.IntegerChoices):
    """Days as ``date.weekday()`` numbers them: Monday is 0."""

    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class Leave(TimeStampedModel):
    """A dated absence (annual leave, sick leave, a business trip); both days are included."""

    user = models.ForeignKey(User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="leaves")
    starts_on = models.DateField(_("first day"))
    ends_on = models.DateField(_("last day"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        User,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("leave")
        verbose_name_plural = _("leaves")
        ordering = ["-starts_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=F("starts_on")),
                name="accounts_leave_ends_on_after_starts_on",
                violation_error_message=_("The last day cannot be before the first day."),
            ),
        ]
        indexes = [
            models.Index(fields=["user", "starts_on", "ends_on"], name="acc_leave_user_dates_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.starts_on}–{self.ends_on}"


class ShiftWindow(TimeStampedModel):
    """When a department works on one weekday, in the site's time zone.

    A window whose end is earlier than its start runs past midnight (22:00–06:00 is the night
    shift) and belongs to the weekday it starts on. A department without windows is always on
    shift.
    """

    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.CASCADE, related_name="shifts"
    )
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    starts_at = models.TimeField(_("starts at"))
    ends_at = models.TimeField(_("ends at"), help_text=_("Earlier than the start: the shift ends the next day."))

    class Meta:
        verbose_name = _("shift window")
        verbose_name_plural = _("shift windows")
        ordering = ["department", "weekday", "starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(weekday__gte=0, weekday__lte=6),
                name="accounts_shiftwindow_weekday_valid",
                violation_error_message=_("The weekday is 0 (Monday) to 6 (Sunday)."),
            ),
            models.CheckConstraint(
                condition=~Q(ends_at=F("starts_at")),
                name="accounts_shiftwindow_not_empty",
                violation_error_message=_("A shift cannot end when it starts."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.department} {self.get_weekday_display()} {self.starts_at:%H:%M}–{self.ends_at:%H:%M}"


class AssignmentCursor(models.Model):
    """Who a department's round-robin gave the last task to, per scope (a workflow step, say)."""

    department = models.ForeignKey(Department, verbose_name=_("department"), on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(_("scope"), max_length=200, blank=True)
    last_user = models.ForeignKey(
        User, verbose_name=_("last assigned"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("assignment cursor")
        verbose_name_plural = _("assignment cursors")
        constraints = [
            models.UniqueConstraint(
                fields=["department", "scope"], name="accounts_assignmentcursor_department_scope_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.department} {self.scope}"
