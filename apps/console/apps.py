from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConsoleConfig(AppConfig):
    """The screens: the business console over the admin, the shared base and components."""

    name = "apps.console"
    label = "console"
    verbose_name = _("Console")
