"""One form definition, four outputs: the Django form, the DRF validation, the JSON Schema and the
import / export columns, all built here from a ``FormSpec``.

Whether a value is accepted is decided once, by ``FieldSpec.check`` and ``FormSpec.check_data``:
the serializer field calls them on the JSON it receives, the Django form on what its inputs
parse to. The JSON Schema states the same rules declaratively; the test suite holds the three
to the same good and bad values, type by type.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext, pgettext_lazy
from rest_framework import serializers

from apps.formdesigner.document import (
    CHOICE_TYPES,
    DATE_PATTERN,
    DATETIME_PATTERN,
    EMAIL_PATTERN,
    PHONE_PATTERN,
    STRING_TYPES,
    URL_PATTERN,
    ConditionOp,
    DocumentError,
    FieldSpec,
    FieldType,
    FormSpec,
    ValueProblem,
)

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

# --- JSON Schema ------------------------------------------------------------------------------

_EMPTIES = [{"type": "null"}, {"const": ""}, {"const": []}]
_SHAPE_PATTERNS = {
    FieldType.EMAIL: EMAIL_PATTERN,
    FieldType.PHONE: PHONE_PATTERN,
    FieldType.URL: URL_PATTERN,
    FieldType.DATE: DATE_PATTERN,
    FieldType.DATETIME: DATETIME_PATTERN,
}


def _value_schema(spec: FieldSpec) -> dict[str, Any]:
    """The schema of a value that is there (not null, not empty) for this field."""
    kind = spec.type
    if kind is FieldType.BOOLEAN:
        return {"type": "boolean"}
    if kind is FieldType.INTEGER:
        return {"type": "integer", "minimum": spec.number_min, "maximum": spec.number_max}
    if kind is FieldType.CHOICE:
        return {"type": "string", "enum": list(spec.choice_values)}
    if kind is FieldType.MULTICHOICE:
        return {
            "type": "array",
            "items": {"type": "string", "enum": list(spec.choice_values)},
            "uniqueItems": True,
            "minItems": 1,
        }
    schema: dict[str, Any] = {"type": "string"}
    if kind in (FieldType.DECIMAL, FieldType.MONEY):
        # JSON Schema bounds only numbers, and these are decimal strings (money in the API is
        # never a float): the bounds travel as x-minimum / x-maximum, decimal strings too.
        schema["pattern"] = spec.decimal_pattern
        if spec.number_min is not None:
            schema["x-minimum"] = str(spec.number_min)
        if spec.number_max is not None:
            schema["x-maximum"] = str(spec.number_max)
        return schema
    if kind is FieldType.DATE:
        return {**schema, "format": "date", "pattern": DATE_PATTERN}
    if kind is FieldType.DATETIME:
        return {**schema, "format": "date-time", "pattern": DATETIME_PATTERN}
    if kind is FieldType.EMAIL:
        schema["format"] = "email"
    if kind is FieldType.URL:
        schema["format"] = "uri"
    schema["minLength"] = max(1, spec.min_length or 0)
    schema["maxLength"] = spec.length_limit
    # PostgreSQL's jsonb cannot hold a NUL character.
    schema["not"] = {"pattern": "\\u0000"}
    if kind in _SHAPE_PATTERNS:
        schema["pattern"] = _SHAPE_PATTERNS[kind]
    elif spec.pattern:
        schema["pattern"] = spec.pattern
    return schema


def _optional_schema(spec: FieldSpec) -> dict[str, Any]:
    alternatives: list[dict[str, Any]] = [{"type": "null"}]
    if spec.type in STRING_TYPES:
        alternatives.append({"const": ""})
    if spec.type is FieldType.MULTICHOICE:
        alternatives.append({"const": []})
    return {"anyOf": [*alternatives, _value_schema(spec)]}


def _annotations(spec: FieldSpec) -> dict[str, Any]:
    notes: dict[str, Any] = {"title": str(spec.label)}
    if str(spec.help):
        notes["description"] = str(spec.help)
    if spec.default is not None:
        notes["default"] = spec.default
    if spec.type in CHOICE_TYPES:
        notes["x-choices"] = [{"value": c.value, "label": str(c.label)} for c in spec.choices]
    notes["x-type"] = str(spec.type)
    return notes


def _condition_schema(spec: FieldSpec) -> dict[str, Any]:
    condition = spec.visible_when
    assert condition is not None
    target = condition.field
    if condition.op is ConditionOp.EQ:
        test: dict[str, Any] = {"const": condition.value}
    elif condition.op is ConditionOp.IN:
        test = {"enum": list(condition.value)}
    elif condition.op is ConditionOp.NE:
        test = {"not": {"anyOf": [*_EMPTIES, {"const": condition.value}]}}
    else:
        test = {"not": {"anyOf": _EMPTIES}}
    return {"properties": {target: test}, "required": [target]}


def json_schema(spec: FormSpec, *, schema_id: str | None = None) -> dict[str, Any]:
    """The JSON Schema (2020-12) of the form's data; titles in the active language."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    conditional: list[dict[str, Any]] = []
    for field in spec.fields:
        if field.required and field.visible_when is None:
            properties[field.key] = {**_annotations(field), **_value_schema(field)}
            required.append(field.key)
            continue
        properties[field.key] = {**_annotations(field), **_optional_schema(field)}
        if field.required:
            conditional.append(
                {
                    "if": _condition_schema(field),
                    "then": {"required": [field.key], "properties": {field.key: _value_schema(field)}},
                }
            )
    schema: dict[str, Any] = {"$schema": JSON_SCHEMA_DIALECT}
    if schema_id:
        schema["$id"] = schema_id
    schema.update(
        {
            "title": str(spec.name),
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": False,
        }
    )
    if conditional:
        schema["allOf"] = conditional
    return schema


# --- DRF validation ---------------------------------------------------------------------------


class FormDataField(serializers.Field):
    """A JSON object validated against a published form; errors keyed by the form's field keys.

    ``archived`` names fields removed from the form: values stored under them stay readable
    but a write can no longer set them.
    """

    default_error_messages = {"invalid": gettext_lazy("Send an object of field values.")}

    def __init__(self, *, spec: FormSpec, archived: frozenset[str] = frozenset(), **kwargs: Any):
        super().__init__(**kwargs)
        self.spec = spec
        self.archived = archived

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            self.fail("invalid")
        try:
            return self.spec.check_data(data, archived=self.archived)
        except DocumentError as error:
            raise serializers.ValidationError(error.errors) from None

    def to_representation(self, value: Any) -> Any:
        return value


# --- The Django form --------------------------------------------------------------------------


class SpecFieldMixin:
    """A Django form field whose input parses to the JSON value ``spec.check`` judges."""

    spec: FieldSpec

    def setup(self, spec: FieldSpec) -> None:
        self.spec = spec
        self.og_key = spec.key
        self.og_condition = json.dumps(spec.visible_when.as_json()) if spec.visible_when else ""
        self.og_required = spec.required

    def json_value(self, value: Any) -> Any:
        return value

    def clean(self, value: Any) -> Any:
        value = self.json_value(self.to_python(value))
        try:
            return self.spec.check(value)
        except ValueProblem as problem:
            raise forms.ValidationError(str(problem)) from None


class TextSpecField(SpecFieldMixin, forms.CharField):
    """Text as typed: not stripped, so the form judges exactly the value the API would be sent."""

    def __init__(self, **kwargs: Any):
        kwargs["strip"] = False
        super().__init__(**kwargs)


class IntegerSpecField(TextSpecField):
    def json_value(self, value: Any) -> Any:
        if not value:
            return None
        if not re.fullmatch(r"-?[0-9]+", value):
            return value  # refused by check as not a whole number
        return int(value)


class NumberTextSpecField(TextSpecField):
    """Decimals, money and dates: the input's text is the value (inputs hold no spaces to strip)."""


class DateTimeSpecField(TextSpecField):
    """A ``datetime-local`` input, read in the user's time zone, stored with its offset."""

    def json_value(self, value: Any) -> Any:
        text = value or ""
        if not text:
            return None
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return text
        if timezone.is_aware(moment):
            return text  # sent with its offset, as the API would be: judged as written
        moment = timezone.make_aware(moment, timezone.get_current_timezone())
        return moment.isoformat(timespec="seconds")


class ChoiceSpecField(SpecFieldMixin, forms.ChoiceField):
    def valid_value(self, value: Any) -> bool:
        return True  # check says which values are options, in the same words as the API


class MultiChoiceSpecField(SpecFieldMixin, forms.MultipleChoiceField):
    def valid_value(self, value: Any) -> bool:
        return True


class BooleanSpecField(SpecFieldMixin, forms.ChoiceField):
    def valid_value(self, value: Any) -> bool:
        return True

    def json_value(self, value: Any) -> Any:
        return {"true": True, "false": False}.get(value, None if value in ("", None) else value)


def _widget_attrs(spec: FieldSpec) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    if spec.length_limit:
        attrs["maxlength"] = spec.length_limit
    if spec.type in (FieldType.INTEGER, FieldType.DECIMAL, FieldType.MONEY):
        if spec.number_min is not None and abs(spec.number_min) < 10**15:
            attrs["min"] = spec.number_min
        if spec.number_max is not None and abs(spec.number_max) < 10**15:
            attrs["max"] = spec.number_max
        attrs["step"] = "1" if spec.type is FieldType.INTEGER else str(Decimal(1).scaleb(-spec.places))
    return attrs


def initial_value(spec: FieldSpec, value: Any) -> Any:
    """A stored JSON value as the input shows it."""
    if value is None:
        return None
    if spec.type is FieldType.BOOLEAN:
        return "true" if value is True else "false" if value is False else value
    if spec.type is FieldType.DATETIME and isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M:%S")
    return value


def django_field(spec: FieldSpec) -> forms.Field:
    help_text = spec.help if (spec.help.zh or spec.help.en) else ""
    common: dict[str, Any] = {"required": False, "label": spec.label, "help_text": help_text}
    attrs = _widget_attrs(spec)
    kind = spec.type
    if kind is FieldType.TEXTAREA:
        field: forms.Field = TextSpecField(widget=forms.Textarea(attrs={"rows": 3, **attrs}), **common)
    elif kind in (FieldType.TEXT, FieldType.REGEX, FieldType.EMAIL, FieldType.PHONE, FieldType.URL):
        widget = {
            FieldType.EMAIL: forms.EmailInput,
            FieldType.URL: forms.URLInput,
        }.get(kind, forms.TextInput)
        if kind is FieldType.PHONE:
            attrs["type"] = "tel"
        field = TextSpecField(widget=widget(attrs=attrs), **common)
    elif kind is FieldType.INTEGER:
        field = IntegerSpecField(widget=forms.NumberInput(attrs=attrs), **common)
    elif kind in (FieldType.DECIMAL, FieldType.MONEY):
        field = NumberTextSpecField(widget=forms.NumberInput(attrs={**attrs, "inputmode": "decimal"}), **common)
    elif kind is FieldType.DATE:
        field = NumberTextSpecField(widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"), **common)
    elif kind is FieldType.DATETIME:
        field = DateTimeSpecField(widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"}), **common)
    elif kind is FieldType.CHOICE:
        choices = [("", "—"), *((c.value, c.label) for c in spec.choices)]
        field = ChoiceSpecField(choices=choices, **common)
    elif kind is FieldType.MULTICHOICE:
        field = MultiChoiceSpecField(
            choices=[(c.value, c.label) for c in spec.choices], widget=forms.CheckboxSelectMultiple, **common
        )
    else:
        choices = [("true", pgettext_lazy("answer", "Yes")), ("false", pgettext_lazy("answer", "No"))]
        if not spec.required:
            choices.insert(0, ("", "—"))
        field = BooleanSpecField(choices=choices, widget=forms.RadioSelect, **common)
    field.setup(spec)
    # Marks the label and the input as required; the check itself stays in the form's clean
    # (a field shown under a condition is required only while it is shown).
    field.required = spec.required and spec.visible_when is None
    if spec.default is not None:
        field.initial = initial_value(spec, spec.default)
    return field


class SpecForm(forms.Form):
    """A form built from a ``FormSpec``: ``data_value()`` is what it stores, checked as the API checks.

    Fields shown under a condition are required only while it holds; the values of fields the
    person could not see (their condition does not hold) are left out of ``data_value()``.
    """

    spec: FormSpec
    template_name = "formdesigner/form.html"

    def __init__(self, *args: Any, stored: dict[str, Any] | None = None, **kwargs: Any):
        if stored:
            kwargs.setdefault(
                "initial",
                {
                    spec.key: initial_value(spec, stored.get(spec.key))
                    for spec in self.spec.fields
                    if spec.key in stored
                },
            )
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        given = {key: value for key, value in cleaned.items() if value is not None}
        for spec in self.spec.fields:
            if spec.key in self.errors:
                continue
            if spec.required and spec.key not in given and self.spec.visible(spec, given):
                self.add_error(spec.key, _("This field is required."))
        return cleaned

    def data_value(self) -> dict[str, Any]:
        given = {key: value for key, value in self.cleaned_data.items() if value is not None}
        return {key: value for key, value in given.items() if self.spec.visible(self.spec.field(key), given)}

    def rows(self) -> list[dict[str, Any]]:
        """The fields with what the template needs for the visibility condition."""
        return [
            {"field": self[spec.key], "key": spec.key, "condition": self.fields[spec.key].og_condition, "spec": spec}
            for spec in self.spec.fields
        ]


def django_form_class(spec: FormSpec) -> type[SpecForm]:
    """The Django form of ``spec`` for screens; labels and help in the page's language at render time."""
    attrs: dict[str, Any] = {"spec": spec}
    for field in spec.fields:
        attrs[field.key] = django_field(field)
    return type(f"{spec.key.title().replace('-', '')}Form", (SpecForm,), attrs)


# --- Import / export columns ------------------------------------------------------------------

TRUE_WORDS = frozenset({"true", "yes", "y", "1", "是", "对", "有"})
FALSE_WORDS = frozenset({"false", "no", "n", "0", "否", "不", "无", "没有"})
LIST_SEPARATORS = (";", "；", ",", "，", "、")


@dataclass(frozen=True)
class DataColumn:
    """A file column that carries one field of the order form's data: ``data.<key>``."""

    spec: FieldSpec

    @property
    def name(self) -> str:
        return f"data.{self.spec.key}"

    @property
    def label(self) -> str:
        return str(self.spec.label)

    def example(self) -> str:
        return column_example(self.spec)

    def format(self) -> str:
        return column_format(self.spec)

    def parse(self, cell: Any) -> Any:
        return cell_to_value(self.spec, cell)

    def render(self, value: Any) -> str:
        return value_to_cell(self.spec, value)


def data_columns(spec: FormSpec) -> list[DataColumn]:
    return [DataColumn(field) for field in spec.fields]


def cell_to_value(spec: FieldSpec, cell: Any) -> Any:
    """A spreadsheet cell as the JSON value the API would carry (what check then judges)."""
    if cell is None:
        return None
    kind = spec.type
    if isinstance(cell, str):
        text = cell.strip()
        if not text:
            return None
    else:
        text = None
    if kind is FieldType.BOOLEAN:
        if isinstance(cell, bool):
            return cell
        word = (text if text is not None else str(cell)).lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        return word
    if kind is FieldType.INTEGER:
        if isinstance(cell, (int, float)) and not isinstance(cell, bool):
            return int(cell) if float(cell).is_integer() else str(cell)
        try:
            return int(text or "")
        except ValueError:
            return text
    if kind in (FieldType.DECIMAL, FieldType.MONEY):
        if isinstance(cell, (int, float, Decimal)) and not isinstance(cell, bool):
            try:
                return format(Decimal(str(cell)), "f")
            except InvalidOperation:
                return str(cell)
        return text
    if kind is FieldType.DATE:
        if isinstance(cell, datetime):
            return cell.date().isoformat()
        if isinstance(cell, date):
            return cell.isoformat()
        return text
    if kind is FieldType.DATETIME:
        moment = cell if isinstance(cell, datetime) else None
        if moment is None and text is not None:
            try:
                moment = datetime.fromisoformat(text)
            except ValueError:
                return text
        if moment is None:
            return str(cell)
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment, timezone.get_default_timezone())
        return moment.isoformat(timespec="seconds")
    if kind is FieldType.MULTICHOICE:
        raw = text if text is not None else str(cell)
        for separator in LIST_SEPARATORS[1:]:
            raw = raw.replace(separator, LIST_SEPARATORS[0])
        return [part.strip() for part in raw.split(LIST_SEPARATORS[0]) if part.strip()]
    if text is None:
        # A number typed into a text column (a phone in XLSX) keeps its digits.
        if isinstance(cell, float) and cell.is_integer():
            return str(int(cell))
        return str(cell)
    return text


def value_to_cell(spec: FieldSpec, value: Any) -> str:
    """A stored value as an export cell that imports back as the same value."""
    if value is None:
        return ""
    if spec.type is FieldType.BOOLEAN and isinstance(value, bool):
        return "yes" if value else "no"
    if spec.type is FieldType.MULTICHOICE and isinstance(value, list):
        return "; ".join(str(item) for item in value)
    return str(value)


def column_example(spec: FieldSpec) -> str:
    """A cell the template's example row carries: one the field accepts, where one is easy to give."""
    if spec.default is not None:
        return value_to_cell(spec, spec.default)
    kind = spec.type
    if kind in (FieldType.CHOICE, FieldType.MULTICHOICE):
        return spec.choices[0].value if spec.choices else ""
    if kind is FieldType.INTEGER:
        return str(max(spec.number_min, min(1, spec.number_max)))
    if kind in (FieldType.DECIMAL, FieldType.MONEY):
        low = spec.number_min if spec.number_min is not None else Decimal(0)
        sample = max(low, Decimal(1))
        if spec.number_max is not None:
            sample = min(sample, spec.number_max)
        return format(sample.quantize(Decimal(1).scaleb(-spec.places)), "f")
    fixed = {
        FieldType.DATE: "2026-11-24",
        FieldType.DATETIME: "2026-11-24 10:00:00",
        FieldType.BOOLEAN: "yes",
        FieldType.EMAIL: "name@example.com",
        FieldType.PHONE: "13800138000",
        FieldType.URL: "https://example.com/",
    }
    if kind in fixed:
        return fixed[kind]
    # Text: the field's own name, if it fits the field.
    try:
        return spec.check(str(spec.label)) or ""
    except ValueProblem:
        return ""


def column_format(spec: FieldSpec) -> str:
    """How to write a cell of this field, in the page's language."""
    kind = spec.type
    if kind is FieldType.BOOLEAN:
        return _("yes or no (是 / 否, true / false, 1 / 0).")
    if kind is FieldType.INTEGER:
        return _("A whole number from %(min)s to %(max)s.") % {"min": spec.number_min, "max": spec.number_max}
    if kind in (FieldType.DECIMAL, FieldType.MONEY):
        sentence = _("A number with at most %(places)d decimals, such as 129.50.") % {"places": spec.places}
        if spec.number_min is not None and spec.number_max is not None:
            sentence += " " + _("From %(min)s to %(max)s.") % {"min": spec.number_min, "max": spec.number_max}
        return sentence
    if kind is FieldType.DATE:
        return _("A date as YYYY-MM-DD; in XLSX a date cell works too.")
    if kind is FieldType.DATETIME:
        return _("Date and time as YYYY-MM-DD HH:MM:SS, read in the site's time zone, or with a UTC offset.")
    if kind is FieldType.CHOICE:
        return _("One of the values listed: write the value, not its name.")
    if kind is FieldType.MULTICHOICE:
        return _("Values from the list, separated by semicolons: a; b.")
    if kind is FieldType.EMAIL:
        return _("An e-mail address.")
    if kind is FieldType.PHONE:
        return _("A mobile number, a landline with its area code, or + and the country code.")
    if kind is FieldType.URL:
        return _("A web address starting with http:// or https://.")
    return _("Text, up to %(count)d characters.") % {"count": spec.length_limit}


# --- Reading stored values --------------------------------------------------------------------


def display_value(spec: FieldSpec, value: Any) -> str:
    """A stored value as a person reads it: option names, yes / no, times in the user's zone."""
    if value is None or value == "" or value == []:
        return "—"
    kind = spec.type
    if kind is FieldType.BOOLEAN and isinstance(value, bool):
        return pgettext("answer", "Yes") if value else pgettext("answer", "No")
    if kind is FieldType.CHOICE:
        return spec.choice_label(value)
    if kind is FieldType.MULTICHOICE and isinstance(value, list):
        return ", ".join(spec.choice_label(item) for item in value)
    if kind is FieldType.DATETIME and isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")
    return str(value)
