"""System checks: a malformed grading setting fails at start-up, not at the first detection."""

from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured


@register()
def check_high_value_amount(app_configs, **kwargs) -> list[Error]:
    from apps.exceptions.services import high_value_amount

    try:
        high_value_amount()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), id="exceptions.E001")]
    return []
