from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExceptionsConfig(AppConfig):
    name = "apps.exceptions"
    label = "exceptions"
    verbose_name = _("Order exceptions")

    def ready(self) -> None:
        from apps.exceptions import checks  # noqa: F401 (registers the system checks)
