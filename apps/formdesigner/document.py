"""The form document (SPEC §10.6): what the designer saves and the configuration API carries.

``parse_document`` checks a document and returns a ``FormSpec``; every problem is reported
with the path of the bad part (``fields.2.key``), so the designer can show it at the field
and the API can name it in a 400. A ``FormSpec`` is what ``build`` turns into the Django
form, the DRF validation, the JSON Schema and the import columns.

Values in a form's data are JSON: text types are strings, ``integer`` an integer, ``decimal``
and ``money`` decimal strings (``"129.50"``, as money is everywhere in the API), ``date``
``"2026-11-24"``, ``datetime`` RFC 3339 with seconds and an offset, ``boolean`` true/false,
``choice`` one value, ``multichoice`` a list of values. ``null``, ``""`` and ``[]`` mean "no
value". The checks of one value live here, in ``FieldSpec.check``; the outputs call it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from apps.common.documents import LANGUAGES
from apps.common.i18n import localized

KEY_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,39}")
FORM_KEY_PATTERN = re.compile(r"[a-z][a-z0-9-]{0,63}")
MAX_FIELDS = 100
MAX_CHOICES = 200
MAX_LABEL = 120
MAX_HELP = 500
MAX_PATTERN = 200
# A group holding a repetition, itself repeated: (a+)+, (\w*)*, (x{2,})+ — the shape behind
# catastrophic backtracking. Patterns are data from admins and run on every write.
NESTED_REPEAT = re.compile(r"\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)\s*[+*{]")
TEXT_MAX = {"text": 255, "textarea": 4000, "regex": 255, "email": 254, "phone": 32, "url": 2000}
# JSON numbers past 2**53 lose digits in JavaScript; no form needs them.
INTEGER_LIMIT = 2**53 - 1
MONEY_MAX = Decimal("9999999999.99")
DECIMAL_DIGITS = 15

# The shapes of typed text, shared by the serializer, the Django form and the JSON Schema.
# ASCII digits only: \d also reads other scripts' digits.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
EMAIL_PATTERN = rf"^[^@\s]{{1,64}}@{_LABEL}(?:\.{_LABEL})+(?!\n)$"
# A mainland mobile (13800138000), a landline with its area code (0571-88886666), or any
# number in E.164 (+8613800138000).
PHONE_PATTERN = r"^(?:1[3-9][0-9]{9}|0[1-9][0-9]{1,2}-?[0-9]{7,8}|\+[1-9][0-9]{6,14})(?!\n)$"
URL_PATTERN = r"^https?://[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?(?:[/?#][^\s]*)?(?!\n)$"
DATE_PATTERN = r"^(?:20[0-9]{2}|2100)-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])(?!\n)$"
DATETIME_PATTERN = (
    r"^(?:20[0-9]{2}|2100)-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])(?!\n)$"
)


class FieldType(StrEnum):
    TEXT = "text"
    TEXTAREA = "textarea"
    INTEGER = "integer"
    DECIMAL = "decimal"
    MONEY = "money"
    DATE = "date"
    DATETIME = "datetime"
    CHOICE = "choice"
    MULTICHOICE = "multichoice"
    BOOLEAN = "boolean"
    EMAIL = "email"
    PHONE = "phone"
    URL = "url"
    REGEX = "regex"


TYPE_LABELS = {
    FieldType.TEXT: pgettext_lazy("form field type", "Text"),
    FieldType.TEXTAREA: pgettext_lazy("form field type", "Long text"),
    FieldType.INTEGER: pgettext_lazy("form field type", "Whole number"),
    FieldType.DECIMAL: pgettext_lazy("form field type", "Decimal number"),
    FieldType.MONEY: pgettext_lazy("form field type", "Money"),
    FieldType.DATE: pgettext_lazy("form field type", "Date"),
    FieldType.DATETIME: pgettext_lazy("form field type", "Date and time"),
    FieldType.CHOICE: pgettext_lazy("form field type", "Single choice"),
    FieldType.MULTICHOICE: pgettext_lazy("form field type", "Multiple choice"),
    FieldType.BOOLEAN: pgettext_lazy("form field type", "Yes / no"),
    FieldType.EMAIL: pgettext_lazy("form field type", "E-mail"),
    FieldType.PHONE: pgettext_lazy("form field type", "Phone"),
    FieldType.URL: pgettext_lazy("form field type", "Web address"),
    FieldType.REGEX: pgettext_lazy("form field type", "Text with a pattern"),
}

STRING_TYPES = frozenset(
    {
        FieldType.TEXT,
        FieldType.TEXTAREA,
        FieldType.REGEX,
        FieldType.EMAIL,
        FieldType.PHONE,
        FieldType.URL,
        FieldType.DECIMAL,
        FieldType.MONEY,
        FieldType.DATE,
        FieldType.DATETIME,
        FieldType.CHOICE,
    }
)
LENGTH_TYPES = frozenset({FieldType.TEXT, FieldType.TEXTAREA, FieldType.REGEX})
NUMBER_TYPES = frozenset({FieldType.INTEGER, FieldType.DECIMAL, FieldType.MONEY})
CHOICE_TYPES = frozenset({FieldType.CHOICE, FieldType.MULTICHOICE})
SHAPES = {
    FieldType.EMAIL: re.compile(EMAIL_PATTERN),
    FieldType.PHONE: re.compile(PHONE_PATTERN),
    FieldType.URL: re.compile(URL_PATTERN),
    FieldType.DATE: re.compile(DATE_PATTERN),
    FieldType.DATETIME: re.compile(DATETIME_PATTERN),
}


class FormKind(StrEnum):
    ORDER = "order"
    STEP = "step"
    CUSTOM = "custom"


KIND_LABELS = {
    FormKind.ORDER: pgettext_lazy("form kind", "Order form"),
    FormKind.STEP: pgettext_lazy("form kind", "Handling step form"),
    FormKind.CUSTOM: pgettext_lazy("form kind", "Other form"),
}


class ConditionOp(StrEnum):
    EQ = "eq"
    NE = "ne"
    IN = "in"
    FILLED = "filled"


OP_LABELS = {
    ConditionOp.EQ: pgettext_lazy("visibility condition", "is"),
    ConditionOp.NE: pgettext_lazy("visibility condition", "is filled in and is not"),
    ConditionOp.IN: pgettext_lazy("visibility condition", "is one of"),
    ConditionOp.FILLED: pgettext_lazy("visibility condition", "is filled in"),
}

# Every key a field may carry, so that a typo ("requird") is a clear error, not ignored.
FIELD_KEYS = frozenset(
    {
        "key",
        "type",
        "label",
        "help",
        "required",
        "default",
        "min",
        "max",
        "min_length",
        "max_length",
        "pattern",
        "decimal_places",
        "choices",
        "visible_when",
    }
)
DOCUMENT_KEYS = frozenset({"key", "kind", "name", "fields"})


def is_empty(value: Any) -> bool:
    """Whether ``value`` means "no value": null, an empty string or an empty list."""
    return value is None or value == "" or value == []


class ValueProblem(Exception):
    """A value a field does not accept; the message says why, in the active language."""


class DocumentError(Exception):
    """A form document with problems: ``errors`` maps each bad part's path to its messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{path}: {' '.join(messages)}" for path, messages in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class Text:
    """A name, label or help text in both languages; ``str()`` gives the page's language."""

    zh: str = ""
    en: str = ""

    def __str__(self) -> str:
        return localized(self.zh or self.en, self.en or self.zh)

    def as_json(self) -> dict[str, str]:
        return {"zh-hans": self.zh, "en": self.en}


@dataclass(frozen=True)
class Choice:
    value: str
    label: Text


@dataclass(frozen=True)
class Condition:
    field: str
    op: ConditionOp
    value: Any = None

    def holds(self, data: dict[str, Any]) -> bool:
        """Whether the condition holds for ``data`` as given (a value is read as sent)."""
        value = data.get(self.field)
        if self.op is ConditionOp.FILLED:
            return not is_empty(value)
        if self.op is ConditionOp.EQ:
            return _same(value, self.value)
        if self.op is ConditionOp.NE:
            return not is_empty(value) and not _same(value, self.value)
        return any(_same(value, option) for option in self.value)

    def as_json(self) -> dict[str, Any]:
        result: dict[str, Any] = {"field": self.field, "op": str(self.op)}
        if self.op is not ConditionOp.FILLED:
            result["value"] = self.value
        return result


def _same(a: Any, b: Any) -> bool:
    # JSON equality, as JSON Schema's const compares: true is not 1 (Python says True == 1),
    # but 1 is 1.0.
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b


@dataclass(frozen=True)
class FieldSpec:
    key: str
    type: FieldType
    label: Text
    help: Text = Text()
    required: bool = False
    default: Any = None
    min: Any = None
    max: Any = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    decimal_places: int | None = None
    choices: tuple[Choice, ...] = ()
    visible_when: Condition | None = None

    # --- Limits as they apply, defaults filled in ---------------------------------------------

    @property
    def length_limit(self) -> int | None:
        if self.type in TEXT_MAX:
            return min(self.max_length or TEXT_MAX[self.type], TEXT_MAX[self.type])
        return None

    @property
    def places(self) -> int:
        if self.type is FieldType.MONEY:
            return 2
        return 2 if self.decimal_places is None else self.decimal_places

    @property
    def number_min(self) -> Decimal | int | None:
        if self.type is FieldType.INTEGER:
            return -INTEGER_LIMIT if self.min is None else self.min
        if self.type is FieldType.MONEY:
            return Decimal(0) if self.min is None else Decimal(str(self.min))
        if self.type is FieldType.DECIMAL:
            return None if self.min is None else Decimal(str(self.min))
        return None

    @property
    def number_max(self) -> Decimal | int | None:
        if self.type is FieldType.INTEGER:
            return INTEGER_LIMIT if self.max is None else self.max
        if self.type is FieldType.MONEY:
            return MONEY_MAX if self.max is None else Decimal(str(self.max))
        if self.type is FieldType.DECIMAL:
            return None if self.max is None else Decimal(str(self.max))
        return None

    @property
    def decimal_pattern(self) -> str:
        """The shape of a decimal string of this field: digits, at most ``places`` decimals."""
        sign = "" if self.type is FieldType.MONEY else "-?"
        fraction = rf"(?:\.[0-9]{{1,{self.places}}})?" if self.places else ""
        return rf"^{sign}[0-9]{{1,{DECIMAL_DIGITS}}}{fraction}(?!\n)$"

    @property
    def choice_values(self) -> tuple[str, ...]:
        return tuple(choice.value for choice in self.choices)

    def choice_label(self, value: Any) -> str:
        for choice in self.choices:
            if choice.value == value:
                return str(choice.label)
        return str(value)

    # --- One value ----------------------------------------------------------------------------

    def check(self, value: Any) -> Any:
        """Return ``value`` as stored if this field accepts it (a no-value as ``None``); else raise ``ValueProblem``."""
        if value is None or (value == "" and self.type in STRING_TYPES):
            return None
        if value == [] and self.type is FieldType.MULTICHOICE:
            return None
        kind = self.type
        if kind is FieldType.BOOLEAN:
            if not isinstance(value, bool):
                raise ValueProblem(_("Answer yes or no (true or false)."))
            return value
        if kind is FieldType.INTEGER:
            # JSON does not tell 5 from 5.0 (JSON Schema counts both as integers).
            if isinstance(value, float) and value.is_integer() and abs(value) <= INTEGER_LIMIT:
                value = int(value)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueProblem(_("Enter a whole number."))
            self._check_bounds(value)
            return value
        if kind is FieldType.MULTICHOICE:
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                raise ValueProblem(_("Choose from the options given (a list of their values)."))
            unknown = [item for item in value if item not in self.choice_values]
            if unknown:
                raise ValueProblem(_("Not an option: %(values)s.") % {"values": ", ".join(unknown)})
            if len(set(value)) != len(value):
                raise ValueProblem(_("An option is chosen twice."))
            return value
        if not isinstance(value, str):
            raise ValueProblem(self._wrong_type())
        if "\x00" in value:
            raise ValueProblem(_("Text may not contain the NUL character (\\u0000)."))
        if kind is FieldType.CHOICE:
            if value not in self.choice_values:
                raise ValueProblem(_("Not an option: %(values)s.") % {"values": value})
            return value
        if kind in (FieldType.DECIMAL, FieldType.MONEY):
            if not re.search(self.decimal_pattern, value):
                raise ValueProblem(self._decimal_shape())
            self._check_bounds(Decimal(value))
            return value
        if kind is FieldType.DATE:
            if not SHAPES[kind].search(value) or not _real_date(value):
                raise ValueProblem(_("Enter a date as YYYY-MM-DD, from 2000-01-01 to 2100-12-31."))
            return value
        if kind is FieldType.DATETIME:
            if not SHAPES[kind].search(value) or not _real_datetime(value):
                raise ValueProblem(
                    _("Enter a date and time with seconds and a UTC offset, such as 2026-11-24T10:00:00+08:00.")
                )
            return value
        limit = self.length_limit
        if limit is not None and len(value) > limit:
            raise ValueProblem(_("At most %(count)d characters.") % {"count": limit})
        if self.min_length and len(value) < self.min_length:
            raise ValueProblem(_("At least %(count)d characters.") % {"count": self.min_length})
        if kind in SHAPES and not SHAPES[kind].search(value):
            raise ValueProblem(
                {
                    FieldType.EMAIL: _("Enter an e-mail address, such as name@example.com."),
                    FieldType.PHONE: _(
                        "Enter a mobile number (13800138000), a landline with its area code (0571-88886666) or "
                        "a number starting with + and the country code."
                    ),
                    FieldType.URL: _("Enter a web address starting with http:// or https://."),
                }[kind]
            )
        if self.pattern and not re.search(self.pattern, value):
            raise ValueProblem(_("Does not have the required form."))
        return value

    def _check_bounds(self, number: Decimal | int) -> None:
        low, high = self.number_min, self.number_max
        if low is not None and number < low:
            raise ValueProblem(_("At least %(min)s.") % {"min": low})
        if high is not None and number > high:
            raise ValueProblem(_("At most %(max)s.") % {"max": high})

    def _wrong_type(self) -> str:
        if self.type in CHOICE_TYPES:
            return _("Choose from the options given.")
        return _("Enter text.")

    def _decimal_shape(self) -> str:
        if self.places == 0:
            return _('Enter a whole number as text, such as "12".')
        return _('Enter a number as text with at most %(places)d decimals, such as "129.50".') % {"places": self.places}

    def as_json(self) -> dict[str, Any]:
        """The field as the document holds it; keys without a value are left out."""
        result: dict[str, Any] = {"key": self.key, "type": str(self.type), "label": self.label.as_json()}
        if self.help.zh or self.help.en:
            result["help"] = self.help.as_json()
        if self.required:
            result["required"] = True
        for name in ("default", "min", "max", "min_length", "max_length", "pattern", "decimal_places"):
            if (value := getattr(self, name)) is not None:
                result[name] = value
        if self.choices:
            result["choices"] = [{"value": c.value, "label": c.label.as_json()} for c in self.choices]
        if self.visible_when is not None:
            result["visible_when"] = self.visible_when.as_json()
        return result


def _real_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _real_datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class FormSpec:
    key: str
    kind: FormKind
    name: Text
    fields: tuple[FieldSpec, ...] = field(default_factory=tuple)

    def field(self, key: str) -> FieldSpec | None:
        for spec in self.fields:
            if spec.key == key:
                return spec
        return None

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(spec.key for spec in self.fields)

    def visible(self, spec: FieldSpec, data: dict[str, Any]) -> bool:
        return spec.visible_when is None or spec.visible_when.holds(data)

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": str(self.kind),
            "name": self.name.as_json(),
            "fields": [spec.as_json() for spec in self.fields],
        }

    def check_data(self, data: Any, *, archived: frozenset[str] = frozenset()) -> dict[str, Any]:
        """Validate a whole ``data`` object; return it as stored or raise ``DocumentError`` keyed by field.

        A field shown only under a condition is required only while the condition holds;
        a value sent for it is checked either way. A key that is no field is refused, and so
        is an ``archived`` one (a field removed from the form: stored values stay readable).
        """
        if not isinstance(data, dict):
            raise DocumentError({"": [_("Send an object of field values.")]})
        errors: dict[str, list[str]] = {}
        result: dict[str, Any] = {}
        for key in data:
            if self.field(key) is None:
                if key in archived:
                    errors[key] = [_("This field was removed from the form; it can no longer be set.")]
                else:
                    errors[key] = [_("Not a field of this form.")]
        for spec in self.fields:
            value = data.get(spec.key)
            try:
                checked = spec.check(value)
            except ValueProblem as problem:
                errors[spec.key] = [str(problem)]
                continue
            if checked is None:
                if spec.required and self.visible(spec, data):
                    errors[spec.key] = [_("This field is required.")]
                continue
            result[spec.key] = checked
        if errors:
            raise DocumentError(errors)
        return result


# --- Reading a document -----------------------------------------------------------------------


class DocumentReader:
    """Collects problems by path while a document is read (the form's here, a workflow's in ``workflows.document``).

    ``both_languages_required``: a required text needs both languages (a workflow's names);
    otherwise one of them will do (a form's labels).
    """

    both_languages_required = False

    def __init__(self):
        self.errors: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(str(message))

    def has_errors(self, prefix: str) -> bool:
        return any(path == prefix or path.startswith(prefix + ".") for path in self.errors)

    def refuse_unknown(self, path: str, raw: dict, allowed: frozenset[str], message: str) -> None:
        """Report each key of ``raw`` that is not ``allowed``: a typo ("requird") is an error, not ignored."""
        for name in sorted(str(key) for key in raw if key not in allowed):
            self.add(f"{path}.{name}" if path else name, message)

    def text(self, path: str, value: Any, *, required: bool, limit: int) -> Text:
        """A name, label or help text in both languages, each at most ``limit`` characters."""
        if value is None and not required:
            return Text()
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            self.add(path, _('Give the text in Chinese and English: {"zh-hans": "…", "en": "…"}.'))
            return Text()
        if unknown := sorted(str(key) for key in value if key not in LANGUAGES):
            self.add(path, _("Languages are zh-hans and en, not %(keys)s.") % {"keys": ", ".join(unknown)})
        zh, en = value.get("zh-hans", "").strip(), value.get("en", "").strip()
        if "\x00" in zh or "\x00" in en:
            self.add(path, _("Text may not contain the NUL character (\\u0000)."))
            return Text()
        if required and not self.both_languages_required and not (zh or en):
            self.add(path, _("Give a name in at least one language."))
        missing = {"zh-hans": _("Give the Chinese text."), "en": _("Give the English text.")}
        for language, text in (("zh-hans", zh), ("en", en)):
            if required and self.both_languages_required and not text:
                self.add(f"{path}.{language}", missing[language])
            if len(text) > limit:
                self.add(f"{path}.{language}", _("At most %(count)d characters.") % {"count": limit})
        return Text(zh=zh, en=en)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: Any) -> Decimal | None:
    """A limit as written in a document: a JSON number or a decimal string."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _read_field(reader: DocumentReader, path: str, raw: Any) -> FieldSpec | None:
    if not isinstance(raw, dict):
        reader.add(path, _("A field is an object with a key, a type and a label."))
        return None
    reader.refuse_unknown(path, raw, FIELD_KEYS, _("Not a property of a field."))
    key = raw.get("key")
    if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
        reader.add(
            f"{path}.key",
            _("A key is 1 to 40 lower-case letters, digits and underscores, starting with a letter (invoice_title)."),
        )
        key = None
    try:
        kind = FieldType(raw.get("type"))
    except ValueError:
        reader.add(f"{path}.type", _("Not a field type: choose one of %(types)s.") % {"types": ", ".join(FieldType)})
        return None
    label = reader.text(f"{path}.label", raw.get("label"), required=True, limit=MAX_LABEL)
    help_text = reader.text(f"{path}.help", raw.get("help"), required=False, limit=MAX_HELP)
    required = raw.get("required", False)
    if not isinstance(required, bool):
        reader.add(f"{path}.required", _("Required is true or false."))
        required = False
    values: dict[str, Any] = {}

    def only_for(name: str, allowed: frozenset[FieldType] | set[FieldType], message: str) -> bool:
        if raw.get(name) is None:
            return False
        if kind not in allowed:
            reader.add(f"{path}.{name}", message)
            return False
        return True

    if only_for("decimal_places", {FieldType.DECIMAL}, _("Only a decimal number has a number of decimals.")):
        places = raw["decimal_places"]
        if not _whole(places) or not 0 <= places <= 6:
            reader.add(f"{path}.decimal_places", _("Decimals are a whole number from 0 to 6."))
        else:
            values["decimal_places"] = places
    for name in ("min", "max"):
        if only_for(name, NUMBER_TYPES, _("Only numbers and money have a smallest and largest value.")):
            limit = raw[name]
            if kind is FieldType.INTEGER:
                if not _whole(limit) or abs(limit) > INTEGER_LIMIT:
                    reader.add(f"{path}.{name}", _("A whole number."))
                    continue
                values[name] = limit
            else:
                number = _number(limit)
                if number is None or abs(number) > MONEY_MAX:
                    reader.add(f"{path}.{name}", _('A number, such as 0 or "99.50".'))
                    continue
                values[name] = str(number)
    if "min" in values and "max" in values and Decimal(str(values["min"])) > Decimal(str(values["max"])):
        reader.add(f"{path}.min", _("The smallest value is larger than the largest."))
    for name in ("min_length", "max_length"):
        if only_for(name, LENGTH_TYPES, _("Only text fields have a length limit.")):
            length = raw[name]
            if not _whole(length) or not 0 <= length <= TEXT_MAX[kind]:
                reader.add(f"{path}.{name}", _("A whole number from 0 to %(max)d.") % {"max": TEXT_MAX[kind]})
            else:
                values[name] = length
    if (
        values.get("min_length")
        and values.get("max_length") is not None
        and values["min_length"] > values["max_length"]
    ):
        reader.add(f"{path}.min_length", _("The shortest length is longer than the longest."))
    if only_for("pattern", LENGTH_TYPES, _("Only text fields have a pattern.")):
        pattern = raw["pattern"]
        if not isinstance(pattern, str) or not pattern or len(pattern) > MAX_PATTERN or "\x00" in pattern:
            reader.add(
                f"{path}.pattern",
                _("A pattern is a regular expression of 1 to %(max)d characters.") % {"max": MAX_PATTERN},
            )
        else:
            try:
                re.compile(pattern)
            except re.error as error:
                reader.add(f"{path}.pattern", _("Not a valid regular expression: %(error)s.") % {"error": error})
            else:
                if NESTED_REPEAT.search(pattern):
                    reader.add(
                        f"{path}.pattern",
                        _(
                            "A repeated group that itself repeats, such as (a+)+, can take minutes to check "
                            "on one value; write it without the outer repetition."
                        ),
                    )
                else:
                    values["pattern"] = pattern
    if kind is FieldType.REGEX and "pattern" not in values and f"{path}.pattern" not in reader.errors:
        reader.add(f"{path}.pattern", _("Text with a pattern needs the pattern."))
    choices: list[Choice] = []
    if kind in CHOICE_TYPES:
        raw_choices = raw.get("choices")
        if not isinstance(raw_choices, list) or not raw_choices:
            reader.add(f"{path}.choices", _("A choice field needs at least one option."))
        elif len(raw_choices) > MAX_CHOICES:
            reader.add(f"{path}.choices", _("At most %(count)d options.") % {"count": MAX_CHOICES})
        else:
            seen: set[str] = set()
            for index, option in enumerate(raw_choices):
                option_path = f"{path}.choices.{index}"
                if not isinstance(option, dict) or set(option) - {"value", "label"}:
                    reader.add(option_path, _("An option is an object with a value and a label."))
                    continue
                value = option.get("value")
                if not isinstance(value, str) or not value.strip() or len(value) > 64 or "\x00" in value:
                    reader.add(f"{option_path}.value", _("An option's value is text of 1 to 64 characters."))
                    continue
                if value in seen:
                    reader.add(f"{option_path}.value", _("Two options have the value %(value)s.") % {"value": value})
                    continue
                seen.add(value)
                choices.append(
                    Choice(
                        value, reader.text(f"{option_path}.label", option.get("label"), required=True, limit=MAX_LABEL)
                    )
                )
    elif raw.get("choices") is not None:
        reader.add(f"{path}.choices", _("Only choice fields have options."))
    spec = FieldSpec(
        key=key or "",
        type=kind,
        label=label,
        help=help_text,
        required=required,
        choices=tuple(choices),
        **values,
    )
    if raw.get("default") is not None:
        try:
            default = spec.check(raw["default"])
        except ValueProblem as problem:
            reader.add(
                f"{path}.default", _("The default is not a value of this field: %(problem)s") % {"problem": problem}
            )
        else:
            spec = _replace(spec, default=default)
    return spec if key else None


def _replace(spec: FieldSpec, **changes: Any) -> FieldSpec:
    return replace(spec, **changes)


def _read_condition(
    reader: DocumentReader, path: str, raw: Any, specs: dict[str, FieldSpec], own: str
) -> Condition | None:
    if not isinstance(raw, dict) or set(raw) - {"field", "op", "value"}:
        reader.add(path, _("A condition names a field, a comparison and, unless it is “filled in”, a value."))
        return None
    target = raw.get("field")
    if target == own:
        reader.add(f"{path}.field", _("A field cannot depend on itself."))
        return None
    if not isinstance(target, str) or target not in specs:
        reader.add(f"{path}.field", _("There is no field %(key)s in this form.") % {"key": target})
        return None
    try:
        op = ConditionOp(raw.get("op", ConditionOp.FILLED))
    except ValueError:
        reader.add(f"{path}.op", _("A comparison is one of %(ops)s.") % {"ops": ", ".join(ConditionOp)})
        return None
    if op is ConditionOp.FILLED:
        return Condition(target, op)
    other = specs[target]
    options = raw.get("value")
    if op is ConditionOp.IN:
        if not isinstance(options, list) or not options:
            reader.add(f"{path}.value", _("Give the list of values that show the field."))
            return None
    else:
        options = [options]
    for option in options:
        try:
            checked = other.check(option)
        except ValueProblem as problem:
            reader.add(
                f"{path}.value", _("Not a value of %(field)s: %(problem)s") % {"field": target, "problem": problem}
            )
            return None
        if checked is None:
            reader.add(
                f"{path}.value", _("Compare with a value; to test that a field is filled in, use “is filled in”.")
            )
            return None
        if other.type is FieldType.MULTICHOICE:
            reader.add(f"{path}.op", _("A multiple choice field can only be tested for being filled in."))
            return None
    return Condition(target, op, raw["value"])


def parse_document(raw: Any, *, key: str | None = None, kind: str | None = None) -> FormSpec:
    """Check a form document and return its ``FormSpec``; raise ``DocumentError`` with every problem.

    ``key`` and ``kind``, when given, are the stored form's: a document may repeat them but not
    change them.
    """
    reader = DocumentReader()
    if not isinstance(raw, dict):
        raise DocumentError({"": [_("A form is an object with a key, a kind, a name and fields.")]})
    reader.refuse_unknown("", raw, DOCUMENT_KEYS, _("Not a property of a form."))
    form_key = raw.get("key", key)
    if not isinstance(form_key, str) or not FORM_KEY_PATTERN.fullmatch(form_key):
        reader.add("key", _("A form key is 1 to 64 lower-case letters, digits and hyphens, starting with a letter."))
    elif key is not None and form_key != key:
        reader.add("key", _("The form's key is %(key)s; it cannot be changed.") % {"key": key})
    try:
        form_kind = FormKind(raw.get("kind", kind))
    except ValueError:
        reader.add("kind", _("A form's kind is one of %(kinds)s.") % {"kinds": ", ".join(FormKind)})
        form_kind = FormKind.CUSTOM
    if kind is not None and form_kind != kind:
        reader.add("kind", _("The form's kind is %(kind)s; it cannot be changed.") % {"kind": kind})
    name = reader.text("name", raw.get("name"), required=True, limit=MAX_LABEL)
    raw_fields = raw.get("fields", [])
    specs: list[FieldSpec | None] = []
    if not isinstance(raw_fields, list):
        reader.add("fields", _("Fields are a list."))
        raw_fields = []
    elif len(raw_fields) > MAX_FIELDS:
        reader.add("fields", _("A form has at most %(count)d fields.") % {"count": MAX_FIELDS})
        raw_fields = []
    seen: dict[str, int] = {}
    for index, item in enumerate(raw_fields):
        spec = _read_field(reader, f"fields.{index}", item)
        if spec is not None and spec.key in seen:
            reader.add(
                f"fields.{index}.key",
                _("Field %(number)d already has the key %(key)s.") % {"number": seen[spec.key] + 1, "key": spec.key},
            )
            spec = None
        if spec is not None:
            seen[spec.key] = index
        specs.append(spec)
    by_key = {spec.key: spec for spec in specs if spec is not None}
    final: list[FieldSpec] = []
    for index, (item, spec) in enumerate(zip(raw_fields, specs, strict=True)):
        if spec is None:
            continue
        if isinstance(item, dict) and item.get("visible_when") is not None:
            condition = _read_condition(reader, f"fields.{index}.visible_when", item["visible_when"], by_key, spec.key)
            spec = _replace(spec, visible_when=condition)
        final.append(spec)
    _check_cycles(reader, final, raw_fields)
    if reader.errors:
        raise DocumentError(reader.errors)
    return FormSpec(key=form_key, kind=form_kind, name=name, fields=tuple(final))


def _check_cycles(reader: DocumentReader, specs: list[FieldSpec], raw_fields: list[Any]) -> None:
    depends = {spec.key: spec.visible_when.field for spec in specs if spec.visible_when is not None}
    index_of = {
        item["key"]: index
        for index, item in enumerate(raw_fields)
        if isinstance(item, dict) and isinstance(item.get("key"), str)
    }
    for start in depends:
        seen = {start}
        current = depends.get(start)
        while current is not None:
            if current in seen:
                reader.add(
                    f"fields.{index_of[start]}.visible_when.field",
                    _("The conditions go round in a circle: each field waits for the other to be shown."),
                )
                break
            seen.add(current)
            current = depends.get(current)


def empty_document(*, key: str, kind: str, name_zh: str, name_en: str) -> dict[str, Any]:
    return {"key": key, "kind": kind, "name": {"zh-hans": name_zh, "en": name_en}, "fields": []}


def convert_value(value: Any, spec: FieldSpec) -> Any:
    """A stored value carried over to ``spec``'s type, or ``ValueProblem`` if it cannot be.

    Numbers become text and text that spells a number becomes one; yes / no words become
    booleans; a single option becomes a one-item list of options.
    """
    try:
        return spec.check(value)
    except ValueProblem:
        pass
    candidates: list[Any] = []
    kind = spec.type
    if kind in STRING_TYPES and kind not in (FieldType.DECIMAL, FieldType.MONEY):
        if isinstance(value, bool):
            candidates.append("true" if value else "false")
        elif isinstance(value, (int, float)):
            candidates.append(str(value))
        elif isinstance(value, list) and all(isinstance(item, str) for item in value):
            candidates.append("; ".join(value))
        if kind is FieldType.DATE and isinstance(value, str):
            candidates.append(value[:10])
    if kind is FieldType.INTEGER and isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            number = None
        if number is not None and number.is_finite() and number == number.to_integral_value():
            candidates.append(int(number))
    if kind in (FieldType.DECIMAL, FieldType.MONEY):
        if isinstance(value, int) and not isinstance(value, bool):
            candidates.append(str(value))
        elif isinstance(value, float):
            candidates.append(format(Decimal(str(value)), "f"))
        elif isinstance(value, str):
            candidates.append(value.strip())
    if kind is FieldType.BOOLEAN and isinstance(value, str):
        word = value.strip().lower()
        if word in ("true", "yes", "1", "是"):
            candidates.append(True)
        elif word in ("false", "no", "0", "否"):
            candidates.append(False)
    if kind is FieldType.MULTICHOICE and isinstance(value, str):
        candidates.append([value])
    if kind is FieldType.CHOICE and isinstance(value, list) and len(value) == 1:
        candidates.append(value[0])
    for candidate in candidates:
        try:
            return spec.check(candidate)
        except ValueProblem:
            continue
    raise ValueProblem(_("Cannot be read as %(type)s.") % {"type": TYPE_LABELS[kind]})
