from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FormDesignerConfig(AppConfig):
    name = "apps.formdesigner"
    label = "formdesigner"
    verbose_name = _("Form designer")
