"""Template tags for the shared components (see ``apps.console.components``)."""

from django import template

from apps.console import components

register = template.Library()


@register.simple_tag
def severity_badge(exception):
    """``{% severity_badge exc %}``: the exception's severity as a coloured label."""
    return components.badge(kind=exception.severity, label=exception.get_severity_display())


@register.simple_tag
def status_badge(exception):
    """``{% status_badge exc %}``: the exception's status as a coloured label."""
    return components.badge(kind=exception.status, label=exception.get_status_display())


@register.simple_tag
def badge(kind, label):
    """``{% badge "high" label %}``: any coloured label."""
    return components.badge(kind=kind, label=label)


@register.simple_tag
def due(value, active=True, short=False):
    """``{% due exc.due_at exc.is_active short=True %}``: a deadline, marked when overdue."""
    return components.due(value, active=active, short=short)


@register.filter
def when(value):
    """``{{ value|when }}``: a time in the user's time zone."""
    return components.when(value)
