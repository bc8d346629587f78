"""Serializer and filter fields that refuse what the database cannot store, instead of coercing it.

Each input field holds one of the API's documented limits (README "Using the API"):

- times: ISO 8601 with a UTC offset, from ``EARLIEST_TIME`` up to (not including) ``END_OF_TIME``;
- money: a plain decimal string (``"129.50"``: no exponent, sign, spaces, ``NaN`` or ``Infinity``);
- currencies: one of ``CURRENCIES``;
- integers: within what the column stores (32-bit by default);
- free JSON: no NUL characters, which PostgreSQL's ``jsonb`` cannot hold.

Over the API a serializer is given the request in its context, and the JSON rules apply in
full. Admin forms and file imports validate with the same serializers without a request: there
a time without an offset is read in ``TIME_ZONE`` and money may be a spreadsheet number.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from django_filters import IsoDateTimeFilter
from rest_framework import serializers

# The times the platform accepts, in UTC. Orders, payments and events outside it are typing
# mistakes or placeholders (0001-01-01, 9999-12-31); storing them broke date filters and scans.
EARLIEST_TIME = datetime(2000, 1, 1, tzinfo=UTC)
END_OF_TIME = datetime(2101, 1, 1, tzinfo=UTC)
LATEST_TIME = END_OF_TIME - timedelta(seconds=1)
EARLIEST_DATE = EARLIEST_TIME.date()
LATEST_DATE = LATEST_TIME.date()

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
# BigAutoField ids.
ID_MAX = 2**63 - 1

# ISO 4217 codes the platform takes orders, payments and prices in.
CURRENCIES = (
    "CNY",
    "HKD",
    "MOP",
    "TWD",
    "USD",
    "EUR",
    "GBP",
    "JPY",
    "KRW",
    "SGD",
    "MYR",
    "THB",
    "VND",
    "IDR",
    "PHP",
    "INR",
    "AUD",
    "NZD",
    "CAD",
    "CHF",
    "SEK",
    "NOK",
    "DKK",
    "RUB",
    "AED",
    "SAR",
)

# ASCII digits only: \d and Decimal() also read other scripts' digits (١٢٣).
_PLAIN_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


def is_api_input(field: serializers.Field) -> bool:
    """Whether ``field`` validates a JSON body of the API (the request is in the serializer's context)."""
    return field.context.get("request") is not None


def time_in_range(value: datetime) -> bool:
    """Whether an aware ``value`` lies in the accepted range (an overflow converting it lies outside)."""
    try:
        return EARLIEST_TIME <= value.astimezone(UTC) < END_OF_TIME
    except OverflowError:
        return False


def _range_params() -> dict[str, str]:
    return {"earliest": "2000-01-01T00:00:00Z", "latest": "2100-12-31T23:59:59Z"}


def decimal_max(*, max_digits: int, decimal_places: int) -> Decimal:
    """The largest value a ``DecimalField(max_digits, decimal_places)`` column stores: 9999999999.99 for 12, 2."""
    return Decimal(10) ** (max_digits - decimal_places) - Decimal(1).scaleb(-decimal_places)


# --- Text, integers, JSON -----------------------------------------------------------------------


class StrictCharField(serializers.CharField):
    """A string field: a number, boolean, list or object is a wrong type, not a string."""

    default_error_messages = {"invalid": _("Not a valid string.")}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """An integer field that refuses booleans and strings, within a 32-bit column's range unless told.

    A value the column cannot hold would otherwise reach the database and fail there (an
    ``OverflowError`` on SQLite, an out-of-range error on PostgreSQL).
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", INT32_MIN)
        kwargs.setdefault("max_value", INT32_MAX)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            self.fail("invalid")
        return super().to_internal_value(data)


def _has_nul(value: Any) -> bool:
    """Whether a JSON value holds a NUL character in a string or key, walked without recursion."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


class JSONValueField(serializers.JSONField):
    """Any JSON value PostgreSQL's ``jsonb`` can store: no NUL character in a string or key."""

    default_error_messages = {"nul": _("Text may not contain the NUL character (\\u0000).")}

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if _has_nul(value):
            self.fail("nul")
        return value


class StrictDictField(serializers.DictField):
    """A JSON object of any values (``null`` too) that the database can store."""

    def __init__(self, **kwargs):
        kwargs.setdefault("child", JSONValueField(allow_null=True))
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        # The child checks the values; the keys are this field's.
        if isinstance(data, dict) and any("\x00" in str(key) for key in data):
            raise serializers.ValidationError(JSONValueField.default_error_messages["nul"])
        return super().to_internal_value(data)


# --- Money and currencies -----------------------------------------------------------------------


class MoneyField(serializers.DecimalField):
    """Money as a plain decimal string: ``"129.50"``, digits with at most ``decimal_places`` decimals.

    An exponent (``"1e5"``), grouping (``"1,000"``), a sign other than a leading minus, spaces,
    ``NaN`` and ``Infinity`` are refused, and so is a JSON number over the API (it may already
    have lost digits as a float). Admin forms and spreadsheet imports may pass numbers.
    """

    default_error_messages = {
        "format": _('Write money as a plain decimal string such as "129.50": digits and an optional point.'),
        "type": _('Send money as a decimal string such as "129.50", not as a JSON number.'),
    }

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, (int, float)) and is_api_input(self):
            self.fail("type")
        if isinstance(data, str):
            text = data
        elif isinstance(data, (int, float, Decimal)):
            # A float from a spreadsheet reads as its shortest repr: 129.5, not 129.500000000000001.
            text = str(data)
        else:
            self.fail("invalid")
        if len(text) > self.MAX_STRING_LENGTH:
            self.fail("max_string_length")
        if not _PLAIN_DECIMAL.fullmatch(text):
            try:
                Decimal(text)
            except (InvalidOperation, ValueError):
                self.fail("invalid")
            # Decimal() reads it ("1e5", "NaN", " 1", "+1"), but it is not plain money.
            self.fail("format")
        return super().to_internal_value(text)


class CurrencyField(serializers.ChoiceField):
    """One of the ISO 4217 codes in ``CURRENCIES``, upper-case."""

    default_error_messages = {
        "invalid_choice": _("%(input)s is not a currency the platform accepts: use an ISO 4217 code such as CNY.")
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("default", "CNY")
        super().__init__(choices=CURRENCIES, **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str) or data not in self.choice_strings_to_values:
            raise serializers.ValidationError(
                self.error_messages["invalid_choice"] % {"input": str(data)[:16]}, code="invalid_choice"
            )
        return data


# --- Times --------------------------------------------------------------------------------------


class StrictDateTimeField(serializers.DateTimeField):
    """An ISO 8601 time with a UTC offset, between 2000-01-01T00:00:00Z and 2100-12-31T23:59:59Z.

    Over the API a time without an offset is refused: which zone it meant is a guess. Without
    a request (admin forms, file imports) it is read in ``TIME_ZONE``, as Django reads forms.
    """

    default_error_messages = {
        "naive": _("Add a UTC offset such as +08:00 or Z."),
        "range": _("Give a time from %(earliest)s to %(latest)s."),
    }

    def to_internal_value(self, value):
        if isinstance(value, str) and is_api_input(self):
            try:
                parsed = parse_datetime(value)
            except ValueError:
                parsed = None  # the parent says what is wrong with the format
            if parsed is not None and timezone.is_naive(parsed):
                self.fail("naive")
        try:
            result = super().to_internal_value(value)
        except serializers.ValidationError as exc:
            if "overflow" in exc.get_codes():
                self._fail_range()
            raise
        except OverflowError:
            # DRF's check of a naive time made aware at the calendar's ends (0001-01-01 in +08:00).
            self._fail_range()
        if not time_in_range(result):
            self._fail_range()
        return result

    def _fail_range(self):
        raise serializers.ValidationError(self.error_messages["range"] % _range_params(), code="range")


class StrictDateField(serializers.DateField):
    """An ISO 8601 date between 2000-01-01 and 2100-12-31 (the range of ``StrictDateTimeField``)."""

    default_error_messages = {"range": _("Give a date from %(earliest)s to %(latest)s.")}

    def to_internal_value(self, value):
        result = super().to_internal_value(value)
        if not EARLIEST_DATE <= result <= LATEST_DATE:
            params = {"earliest": EARLIEST_DATE.isoformat(), "latest": LATEST_DATE.isoformat()}
            raise serializers.ValidationError(self.error_messages["range"] % params, code="range")
        return result


class Rfc3339DateTimeField(serializers.DateTimeField):
    """Output: RFC 3339 in the site's time zone, or in UTC where that zone's offset is not whole minutes.

    Before 1901 Asia/Shanghai is on local mean time, ``+08:05:43``, which RFC 3339 cannot
    write; and a time at the end of the calendar may not convert at all. Both come out in UTC.
    """

    def to_representation(self, value):
        if not value or isinstance(value, str):
            return value
        if timezone.is_naive(value):
            value = timezone.make_aware(value, UTC)
        try:
            local = timezone.localtime(value)
            offset = local.utcoffset()
        except OverflowError:
            local, offset = value.astimezone(UTC), timedelta(0)
        if offset is None or offset % timedelta(minutes=1):
            local = value.astimezone(UTC)
        text = local.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text


class DecimalOutputField(serializers.DecimalField):
    """Output: a decimal string with exactly ``decimal_places`` decimals (``"129.50"``), as the schema says."""

    def __init__(self, **kwargs):
        kwargs["coerce_to_string"] = True
        super().__init__(**kwargs)


class OutputModelSerializer(serializers.ModelSerializer):
    """A model serializer for API answers: RFC 3339 times, decimals with all their places."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: Rfc3339DateTimeField,
        models.DecimalField: DecimalOutputField,
    }


# --- Filters (query strings) --------------------------------------------------------------------


class StrictIsoDateTimeFormField(forms.Field):
    """A query-string time: ISO 8601 with a UTC offset, in the range of ``StrictDateTimeField``."""

    default_error_messages = {
        "invalid": _(
            "Enter a time such as 2026-11-24T10:00:00+08:00 (in a query string, URL-encode the + of the offset)."
        ),
        "naive": StrictDateTimeField.default_error_messages["naive"],
        "range": StrictDateTimeField.default_error_messages["range"],
    }

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, datetime):
            parsed = value
        else:
            try:
                parsed = parse_datetime(str(value).strip())
            except ValueError:
                parsed = None
        if parsed is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        if timezone.is_naive(parsed):
            raise forms.ValidationError(self.error_messages["naive"], code="naive")
        if not time_in_range(parsed):
            raise forms.ValidationError(self.error_messages["range"], code="range", params=_range_params())
        return parsed


class StrictIsoDateTimeFilter(IsoDateTimeFilter):
    """``IsoDateTimeFilter`` that refuses times without an offset and outside the accepted range."""

    field_class = StrictIsoDateTimeFormField
