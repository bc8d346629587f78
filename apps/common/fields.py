"""Serializer fields that refuse wrong JSON types instead of coercing them."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


class StrictCharField(serializers.CharField):
    """A string field: a number, boolean, list or object is a wrong type, not a string."""

    default_error_messages = {"invalid": _("Not a valid string.")}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """An integer field that refuses booleans and strings."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictDictField(serializers.DictField):
    """A JSON object of any values."""

    child = serializers.JSONField()

    def __init__(self, **kwargs):
        kwargs.setdefault("child", serializers.JSONField())
        super().__init__(**kwargs)
