"""One definition, three judges: the Django form, the DRF validation and the JSON Schema give the
same answer for the same value, type by type.

The table gives values with the answer they must get; hypothesis then throws arbitrary JSON at
each type and checks only that the three agree. The form is asked whenever a browser could send
the value (its inputs produce strings, whole numbers, yes / no and lists of options).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema.exceptions import ValidationError as SchemaError
from rest_framework import serializers

from apps.formdesigner.build import FormDataField, django_form_class, json_schema
from apps.formdesigner.document import FieldType, FormSpec, parse_document

NOT_ASKED = object()


def _decimal_bound(check):
    def keyword(validator, bound, instance, schema):
        if not validator.is_type(instance, "string"):
            return
        try:
            number = Decimal(instance)
        except InvalidOperation:
            return  # the pattern refuses it
        if number.is_finite() and not check(number, Decimal(bound)):
            yield SchemaError(f"{instance} is out of bounds ({bound})")

    return keyword


# The schema's x-minimum / x-maximum bound decimal strings (JSON Schema bounds only numbers).
SchemaValidator = validators.extend(
    Draft202012Validator,
    {
        "x-minimum": _decimal_bound(lambda number, bound: number >= bound),
        "x-maximum": _decimal_bound(lambda number, bound: number <= bound),
    },
)


def text(zh: str, en: str) -> dict[str, str]:
    return {"zh-hans": zh, "en": en}


OPTIONS = [
    {"value": "company", "label": text("企业", "Company")},
    {"value": "personal", "label": text("个人", "Personal")},
]

FIELDS: dict[str, dict[str, Any]] = {
    "text": {"type": "text", "min_length": 2, "max_length": 10},
    "textarea": {"type": "textarea", "max_length": 20},
    "integer": {"type": "integer", "min": -5, "max": 100},
    "decimal": {"type": "decimal", "decimal_places": 3, "min": "-1.5", "max": "1000"},
    "money": {"type": "money", "max": "500.00"},
    "date": {"type": "date"},
    "datetime": {"type": "datetime"},
    "choice": {"type": "choice", "choices": OPTIONS},
    "multichoice": {"type": "multichoice", "choices": OPTIONS},
    "boolean": {"type": "boolean"},
    "email": {"type": "email"},
    "phone": {"type": "phone"},
    "url": {"type": "url"},
    "regex": {"type": "regex", "pattern": "^[A-Z]{2}-[0-9]{4}$"},
}


def spec_of(name: str, *, required: bool = False) -> FormSpec:
    field = {"key": "value", "label": text("值", "Value"), "required": required, **FIELDS[name]}
    return parse_document({"key": "probe", "kind": "custom", "name": text("探针", "Probe"), "fields": [field]})


class Judges:
    """The three outputs of one spec, each answering "accepted?" for a data object."""

    def __init__(self, spec: FormSpec):
        self.spec = spec
        self.serializer = FormDataField(spec=spec)
        self.schema = SchemaValidator(json_schema(spec), format_checker=FormatChecker())
        self.form_class = django_form_class(spec)

    def by_serializer(self, data: dict[str, Any]) -> bool:
        try:
            self.serializer.run_validation(data)
        except serializers.ValidationError:
            return False
        return True

    def by_schema(self, data: dict[str, Any]) -> bool:
        return self.schema.is_valid(data)

    def by_form(self, data: dict[str, Any]) -> Any:
        posted = {}
        for key, value in data.items():
            field = self.spec.field(key)
            shown = form_input(field.type, value)
            if shown is NOT_ASKED:
                return NOT_ASKED
            if shown is not None:
                posted[key] = shown
        from django.http import QueryDict

        query = QueryDict(mutable=True)
        for key, value in posted.items():
            if isinstance(value, list):
                query.setlist(key, value)
            else:
                query[key] = value
        return self.form_class(data=query).is_valid()

    def answers(self, data: dict[str, Any]) -> tuple[bool, bool, Any]:
        return self.by_serializer(data), self.by_schema(data), self.by_form(data)


def form_input(kind: FieldType, value: Any) -> Any:
    """What a browser posts for ``value``, or NOT_ASKED when no input of this type can send it."""
    if value is None:
        return None
    if kind is FieldType.BOOLEAN:
        return ("true" if value else "false") if isinstance(value, bool) else NOT_ASKED
    if kind is FieldType.INTEGER:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else NOT_ASKED
    if kind is FieldType.MULTICHOICE:
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return value
        return NOT_ASKED
    if not isinstance(value, str):
        return NOT_ASKED
    # A datetime-local input has no offset: the form reads it in the user's time zone, which
    # the API (told no zone) cannot. An input sends text with its offset as the API would.
    if kind is FieldType.DATETIME and "T" in value and not value.endswith("Z") and value[-6:-5] not in "+-":
        return NOT_ASKED
    return value


GOOD, BAD = True, False
TABLE: list[tuple[str, Any, bool]] = [
    ("text", "ab", GOOD),
    ("text", "a" * 10, GOOD),
    ("text", "a", BAD),
    ("text", "a" * 11, BAD),
    ("text", "", GOOD),  # no value, optional
    ("text", 12, BAD),
    ("text", "a\x00b", BAD),
    ("textarea", "第一行\n第二行", GOOD),
    ("textarea", "x" * 21, BAD),
    ("integer", 0, GOOD),
    ("integer", -5, GOOD),
    ("integer", 100, GOOD),
    ("integer", 101, BAD),
    ("integer", -6, BAD),
    ("integer", "7", BAD),
    ("integer", True, BAD),
    ("integer", 2.5, BAD),
    ("integer", 3.0, GOOD),
    ("decimal", "1.125", GOOD),
    ("decimal", "-1.5", GOOD),
    ("decimal", "-1.6", BAD),
    ("decimal", "1000", GOOD),
    ("decimal", "1000.001", BAD),
    ("decimal", "1.1234", BAD),
    ("decimal", "1e3", BAD),
    ("decimal", 1.5, BAD),
    ("decimal", "١٢", BAD),
    ("money", "129.50", GOOD),
    ("money", "0", GOOD),
    ("money", "500.00", GOOD),
    ("money", "500.01", BAD),
    ("money", "-1.00", BAD),
    ("money", "1.005", BAD),
    ("money", "12.50\n", BAD),
    ("date", "2026-11-24", GOOD),
    ("date", "2026-02-30", BAD),
    ("date", "1999-12-31", BAD),
    ("date", "20261124", BAD),
    ("date", "2026-11-24T10:00:00+08:00", BAD),
    ("datetime", "2026-11-24T10:00:00+08:00", GOOD),
    ("datetime", "2026-11-24T02:00:00Z", GOOD),
    ("datetime", "2026-11-24T10:00:00.123+08:00", GOOD),
    ("datetime", "2026-11-24T10:00+08:00", BAD),
    ("datetime", "2026-11-24 10:00:00+08:00", BAD),
    ("datetime", "2026-02-30T10:00:00+08:00", BAD),
    ("datetime", "2026-11-24T10:00:00", BAD),
    ("choice", "company", GOOD),
    ("choice", "charity", BAD),
    ("choice", ["company"], BAD),
    ("multichoice", ["company", "personal"], GOOD),
    ("multichoice", [], GOOD),
    ("multichoice", ["company", "company"], BAD),
    ("multichoice", ["charity"], BAD),
    ("multichoice", "company", BAD),
    ("boolean", True, GOOD),
    ("boolean", False, GOOD),
    ("boolean", "true", BAD),
    ("boolean", 1, BAD),
    ("email", "zs@example.com", GOOD),
    ("email", "张三@例子.cn", BAD),
    ("email", "zs@example", BAD),
    ("email", "z s@example.com", BAD),
    ("phone", "13800138000", GOOD),
    ("phone", "0571-88886666", GOOD),
    ("phone", "+8613800138000", GOOD),
    ("phone", "12345", BAD),
    ("phone", "138 0013 8000", BAD),
    ("url", "https://example.com/a?b=1", GOOD),
    ("url", "ftp://example.com/", BAD),
    ("url", "https://", BAD),
    ("regex", "AB-1234", GOOD),
    ("regex", "ab-1234", BAD),
    ("regex", "AB-12345", BAD),
]


@pytest.mark.parametrize(("kind", "value", "expected"), TABLE, ids=[f"{k}-{v!r}" for k, v, _e in TABLE])
def test_form_serializer_and_schema_give_the_answer_the_table_gives(kind, value, expected):
    judges = Judges(spec_of(kind))
    by_serializer, by_schema, by_form = judges.answers({"value": value})
    assert by_serializer is expected
    assert by_schema is expected
    assert by_form in (expected, NOT_ASKED)


@pytest.mark.parametrize("kind", list(FIELDS))
def test_a_required_field_refuses_no_value_everywhere(kind):
    judges = Judges(spec_of(kind, required=True))
    for data in ({}, {"value": None}, {"value": ""}, {"value": []}):
        answers = judges.answers(data)
        assert answers[0] is False and answers[1] is False, (data, answers)
        assert answers[2] in (False, NOT_ASKED), (data, answers)


def test_a_key_that_is_no_field_is_refused_everywhere():
    judges = Judges(spec_of("text"))
    assert judges.by_serializer({"other": "x"}) is False
    assert judges.by_schema({"other": "x"}) is False


def _json_values(kind: str):
    specific = {
        "integer": st.integers(min_value=-10, max_value=110),
        "decimal": st.from_regex(r"\A-?[0-9]{1,5}(\.[0-9]{1,4})?\Z"),
        "money": st.from_regex(r"\A-?[0-9]{1,4}(\.[0-9]{1,3})?\Z"),
        "date": st.dates().map(lambda day: day.isoformat()),
        "datetime": st.datetimes(timezones=st.timezones()).map(lambda moment: moment.isoformat()),
        "choice": st.sampled_from(["company", "personal", "charity", ""]),
        "multichoice": st.lists(st.sampled_from(["company", "personal", "charity"]), max_size=3),
        "email": st.emails() | st.from_regex(r"\A[a-z@. ]{1,12}\Z"),
        "phone": st.from_regex(r"\A\+?[0-9 -]{4,16}\Z"),
        "url": st.from_regex(r"\A(https?|ftp)://[a-z.:/0-9?#]{0,16}\Z"),
        "regex": st.from_regex(r"\A[A-Za-z]{1,3}-?[0-9]{3,5}\Z"),
        "text": st.text(max_size=12),
        "textarea": st.text(max_size=24),
    }.get(kind, st.nothing())
    anything = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=8),
        st.lists(st.text(max_size=3), max_size=2),
    )
    return specific | anything


@pytest.mark.parametrize("kind", list(FIELDS))
def test_for_any_value_the_three_agree(kind):
    judges = Judges(spec_of(kind))

    @settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(_json_values(kind))
    def agree(value):
        by_serializer, by_schema, by_form = judges.answers({"value": value})
        assert by_serializer == by_schema, value
        assert by_form in (by_serializer, NOT_ASKED), value

    agree()


CONDITIONS = [
    ({"op": "eq", "value": True}, [{}, {"found": True}, {"found": False}]),
    ({"op": "ne", "value": True}, [{}, {"found": True}, {"found": False}]),
    ({"op": "in", "value": [True]}, [{}, {"found": True}, {"found": False}]),
    ({"op": "filled"}, [{}, {"found": True}, {"found": False}]),
]


@pytest.mark.parametrize(("condition", "cases"), CONDITIONS, ids=[c["op"] for c, _cases in CONDITIONS])
@pytest.mark.parametrize("reference", [None, "R-1"])
def test_a_conditional_required_field_is_required_exactly_when_shown(condition, cases, reference):
    spec = parse_document(
        {
            "key": "check",
            "kind": "step",
            "name": text("核查", "Check"),
            "fields": [
                {"key": "found", "type": "boolean", "label": text("找到", "Found")},
                {
                    "key": "reference",
                    "type": "text",
                    "label": text("参考号", "Reference"),
                    "required": True,
                    "visible_when": {"field": "found", **condition},
                },
            ],
        }
    )
    judges = Judges(spec)
    for data in cases:
        if reference is not None:
            data = {**data, "reference": reference}
        expected = reference is not None or not spec.visible(spec.field("reference"), data)
        assert judges.answers(data) == (expected, expected, expected), (condition, data)
