from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConfigBundleConfig(AppConfig):
    name = "apps.configbundle"
    label = "configbundle"
    verbose_name = _("Configuration bundle")
