import zoneinfo

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
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

    class Meta(AbstractUser.Meta):
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def has_role(self, role: str) -> bool:
        return self.groups.filter(name=role).exists()
