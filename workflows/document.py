"""The workflow document (SPEC §9.1, §10.6): what the workflow designer saves and the configuration API carries.

``parse_workflow`` checks a document and returns a ``WorkflowSpec``; every problem is reported
with the path of the bad part (``steps.1.outcomes.0.to``), in the error shape of the form
documents (``DocumentError``), so the designer can show it at the step and the API can name it
in a 400. A ``WorkflowSpec`` is what the engine copies into a case when the case starts.

Steps run in the order written, starting with the first. Each outcome leads to a step of the
document, to ``back`` (the step that led here), or ends the case: ``resolve``, ``dismiss`` or
``escalate``. The parser fills in the defaults, so the engine reads them as written and
``spec.as_json()`` is the canonical document:

- a task without ``assign`` goes to the queue of the exception's own department;
- an approval without outcomes gets ``approve`` → ``resolve`` and ``reject`` → ``back``; on the
  first step, which has no step before it, ``reject`` → ``escalate``;
- an action or a wait without outcomes gets ``done`` → the next step, or ``resolve`` after the
  last one.

The actions ``apply_corrections`` and ``recheck`` end with the exception cleared or still open:
their outcomes may be ``cleared`` and ``still_open`` besides ``done``. The engine takes the
outcome named after the result, else ``done``; so such a step has ``done`` or both of the others.
Other actions and waits have the one outcome ``done``.

The ``by_field`` assignment reads one order field (``BY_FIELD_FIELDS``):

- ``channel``: the order's sales channel; the map's values are ``apps.orders.models.Channel`` values;
- ``customer_tag``: the customer's tags; the first map entry naming one of them wins;
- ``ship_province``: the province the order ships to, as written on the order.

Each map entry leads to a department code or, when no department has that code, a username.
The assignment's ``department``, if given, takes what no entry matches; otherwise the
exception's department does.

Durations (``"30m"``, ``"2h"``, ``"3d"``) are business time on the department's calendar; this
module reads them as ``timedelta`` amounts and the engine counts them on the calendar.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from django.contrib.auth.models import Group
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from apps.accounts.models import Department, Role, User
from apps.formdesigner.document import FORM_KEY_PATTERN, DocumentError, DocumentReader, FormKind, Text
from apps.formdesigner.selectors import published_form
from apps.orders.models import Channel
from apps.rules.models import Category, ExceptionRule

__all__ = [
    "ACTION_LABELS",
    "BACK",
    "BY_FIELD_FIELDS",
    "BY_FIELD_LABELS",
    "KIND_LABELS",
    "STRATEGY_LABELS",
    "TERMINALS",
    "TERMINAL_LABELS",
    "Action",
    "AssignSpec",
    "DocumentError",
    "OutcomeSpec",
    "StepKind",
    "StepSpec",
    "Strategy",
    "Text",
    "WorkflowSpec",
    "format_duration",
    "parse_duration",
    "parse_workflow",
]

TERMINALS = ("resolve", "dismiss", "escalate")
# Returns the case to the step that led to this one.
BACK = "back"
TARGET_WORDS = frozenset((*TERMINALS, BACK))

WORKFLOW_KEY_PATTERN = re.compile(r"[a-z][a-z0-9-]{0,63}")
KEY_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,39}")
# Five digits: 99999 days is far beyond any deadline, and keeps timedelta far from its limits.
DURATION_PATTERN = re.compile(r"([1-9][0-9]{0,4})([smhd])")
# Largest first: format_duration writes the largest unit that divides the duration.
DURATION_UNITS = {
    "d": timedelta(days=1),
    "h": timedelta(hours=1),
    "m": timedelta(minutes=1),
    "s": timedelta(seconds=1),
}

MAX_STEPS = 30
MAX_OUTCOMES = 20
MAX_MAP = 100
MAX_MAP_VALUE = 64
MAX_APPLIES = 100
MAX_NAME = 120
MAX_DESCRIPTION = 500
MAX_PRIORITY = 1000


class StepKind(StrEnum):
    TASK = "task"
    APPROVAL = "approval"
    ACTION = "action"
    WAIT = "wait"


KIND_LABELS = {
    StepKind.TASK: pgettext_lazy("workflow step kind", "Task"),
    StepKind.APPROVAL: pgettext_lazy("workflow step kind", "Approval"),
    StepKind.ACTION: pgettext_lazy("workflow step kind", "Automatic action"),
    StepKind.WAIT: pgettext_lazy("workflow step kind", "Wait"),
}


class Strategy(StrEnum):
    QUEUE = "queue"
    USER = "user"
    ROUND_ROBIN = "round_robin"
    LEAST_LOADED = "least_loaded"
    BY_FIELD = "by_field"
    LEAD = "lead"
    MANAGER = "manager"


STRATEGY_LABELS = {
    Strategy.QUEUE: pgettext_lazy("assignment strategy", "Department queue"),
    Strategy.USER: pgettext_lazy("assignment strategy", "A named user"),
    Strategy.ROUND_ROBIN: pgettext_lazy("assignment strategy", "Round robin within a department"),
    Strategy.LEAST_LOADED: pgettext_lazy("assignment strategy", "Fewest open tasks within a department"),
    Strategy.BY_FIELD: pgettext_lazy("assignment strategy", "By an order field"),
    Strategy.LEAD: pgettext_lazy("assignment strategy", "Department lead"),
    Strategy.MANAGER: pgettext_lazy("assignment strategy", "Manager"),
}


class Action(StrEnum):
    REPLENISHMENT_REQUEST = "replenishment_request"
    APPLY_CORRECTIONS = "apply_corrections"
    RECHECK = "recheck"


ACTION_LABELS = {
    Action.REPLENISHMENT_REQUEST: pgettext_lazy("workflow action", "Create a replenishment request"),
    Action.APPLY_CORRECTIONS: pgettext_lazy("workflow action", "Apply the corrections to the order and check it again"),
    Action.RECHECK: pgettext_lazy("workflow action", "Check the order again"),
}

TERMINAL_LABELS = {
    "resolve": pgettext_lazy("workflow outcome target", "Resolve"),
    "dismiss": pgettext_lazy("workflow outcome target", "Dismiss as not real"),
    "escalate": pgettext_lazy("workflow outcome target", "Escalate"),
    BACK: pgettext_lazy("workflow outcome target", "Back to the step before"),
}

BY_FIELD_FIELDS = ("channel", "customer_tag", "ship_province")
BY_FIELD_LABELS = {
    "channel": pgettext_lazy("order field to assign by", "Sales channel"),
    "customer_tag": pgettext_lazy("order field to assign by", "Customer tag"),
    "ship_province": pgettext_lazy("order field to assign by", "Province shipped to"),
}

DOCUMENT_KEYS = frozenset({"key", "name", "description", "priority", "applies_to", "steps"})
APPLIES_TO_KEYS = frozenset({"categories", "rules"})
OUTCOME_KEYS = frozenset({"key", "name", "to"})
STEP_KEYS = frozenset({"key", "kind", "name"})
KIND_KEYS = {
    StepKind.TASK: frozenset({"form", "deadline", "assign", "outcomes"}),
    StepKind.APPROVAL: frozenset({"form", "deadline", "assign", "outcomes"}),
    StepKind.ACTION: frozenset({"action", "outcomes"}),
    StepKind.WAIT: frozenset({"wait", "outcomes"}),
}
ANY_STEP_KEYS = STEP_KEYS.union(*KIND_KEYS.values())
ASSIGN_KEYS = frozenset({"strategy", "department", "user", "field", "map"})
# What each strategy reads besides ``strategy``; a department left out means the exception's.
STRATEGY_KEYS = {
    Strategy.QUEUE: frozenset({"department"}),
    Strategy.USER: frozenset({"user"}),
    Strategy.ROUND_ROBIN: frozenset({"department"}),
    Strategy.LEAST_LOADED: frozenset({"department"}),
    Strategy.BY_FIELD: frozenset({"field", "map", "department"}),
    Strategy.LEAD: frozenset({"department"}),
    Strategy.MANAGER: frozenset({"department"}),
}
# An approval is decided by a manager or a lead: a queue of staff cannot approve.
APPROVERS = frozenset({Strategy.LEAD, Strategy.MANAGER, Strategy.USER})
DONE = "done"
CLEARED = "cleared"
STILL_OPEN = "still_open"
ACTION_OUTCOMES = {
    Action.REPLENISHMENT_REQUEST: (DONE,),
    Action.APPLY_CORRECTIONS: (DONE, CLEARED, STILL_OPEN),
    Action.RECHECK: (DONE, CLEARED, STILL_OPEN),
}
WAIT_OUTCOMES = (DONE,)
DEFAULT_NAMES = {
    "approve": Text(zh="批准", en="Approve"),
    "reject": Text(zh="驳回", en="Reject"),
    DONE: Text(zh="完成", en="Done"),
}


# --- Durations ----------------------------------------------------------------------------------


def parse_duration(text: str) -> timedelta | None:
    """``"30m"``, ``"2h"``, ``"3d"`` or ``"45s"`` (a positive whole number of 1 to 5 digits and a unit);
    ``None`` if malformed. Deadlines count these in business time on the department's calendar
    (``apps.exceptions.calendars``): a day is 24 hours of working time."""
    if not isinstance(text, str):
        return None
    match = DURATION_PATTERN.fullmatch(text)
    if match is None:
        return None
    return int(match[1]) * DURATION_UNITS[match[2]]


def format_duration(delta: timedelta) -> str:
    """The duration in the largest unit that divides it (90 minutes is ``"90m"``, 48 hours ``"2d"``).

    Raises ``ValueError`` for a duration no document can hold: one that is not positive or not
    a whole number of minutes.
    """
    if delta > timedelta(0):
        for unit, size in DURATION_UNITS.items():
            count, rest = divmod(delta, size)
            if not rest:
                return f"{count}{unit}"
    raise ValueError(f"{delta!r} is not a positive whole number of seconds")


# --- The spec -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutcomeSpec:
    key: str
    name: Text
    to: str

    @property
    def is_terminal(self) -> bool:
        return self.to in TERMINALS

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "name": self.name.as_json(), "to": self.to}


@dataclass(frozen=True)
class AssignSpec:
    """Who gets a step: a strategy and what it reads; ``map`` pairs an order field's value with a target."""

    strategy: str
    department: str = ""
    user: str = ""
    field: str = ""
    map: tuple[tuple[str, str], ...] = ()

    def mapped(self, values: Collection[str]) -> str:
        """The target (department code or username) of the first map entry among ``values``; ``""`` for none."""
        for value, target in self.map:
            if value in values:
                return target
        return ""

    def as_json(self) -> dict[str, Any]:
        result: dict[str, Any] = {"strategy": str(self.strategy)}
        for name in ("department", "user", "field"):
            if value := getattr(self, name):
                result[name] = value
        if self.map:
            result["map"] = dict(self.map)
        return result


@dataclass(frozen=True)
class StepSpec:
    key: str
    kind: StepKind
    name: Text
    form: str = ""
    deadline: timedelta | None = None
    assign: AssignSpec | None = None
    outcomes: tuple[OutcomeSpec, ...] = ()
    action: str = ""
    wait: timedelta | None = None

    def outcome(self, key: str) -> OutcomeSpec | None:
        for outcome in self.outcomes:
            if outcome.key == key:
                return outcome
        return None

    def as_json(self) -> dict[str, Any]:
        result: dict[str, Any] = {"key": self.key, "kind": str(self.kind), "name": self.name.as_json()}
        if self.form:
            result["form"] = self.form
        if self.deadline is not None:
            result["deadline"] = format_duration(self.deadline)
        if self.assign is not None:
            result["assign"] = self.assign.as_json()
        if self.action:
            result["action"] = str(self.action)
        if self.wait is not None:
            result["wait"] = format_duration(self.wait)
        result["outcomes"] = [outcome.as_json() for outcome in self.outcomes]
        return result


@dataclass(frozen=True)
class WorkflowSpec:
    key: str
    name: Text
    priority: int
    categories: tuple[str, ...]
    rules: tuple[str, ...]
    steps: tuple[StepSpec, ...]
    description: Text = dataclasses.field(default_factory=Text)

    def step(self, key: str) -> StepSpec | None:
        for step in self.steps:
            if step.key == key:
                return step
        return None

    def applies(self, *, category: str, rule_code: str) -> bool:
        """Whether the workflow handles an exception of ``category`` raised by rule ``rule_code``.

        A workflow naming neither categories nor rules applies to every exception.
        """
        if not self.categories and not self.rules:
            return True
        return category in self.categories or rule_code in self.rules

    def as_json(self) -> dict[str, Any]:
        """The canonical document, defaults written out: ``parse_workflow(spec.as_json()) == spec``."""
        result: dict[str, Any] = {"key": self.key, "name": self.name.as_json()}
        if self.description.zh or self.description.en:
            result["description"] = self.description.as_json()
        result["priority"] = self.priority
        result["applies_to"] = {"categories": list(self.categories), "rules": list(self.rules)}
        result["steps"] = [step.as_json() for step in self.steps]
        return result


# --- Reading a document -------------------------------------------------------------------------


def _approver_message() -> str:
    return _("An approval needs a manager or a department lead to decide it.")


def _duration_message() -> str:
    return _("A duration is a whole number followed by m (minutes), h (hours) or d (days), such as 30m, 2h or 3d.")


class _References:
    """What a document names in the database, by path; checked together so that each kind is read once."""

    def __init__(self):
        self.departments: list[tuple[str, str]] = []
        self.users: list[tuple[str, str]] = []
        # (path of the assignment, username): an approval's user must be a manager.
        self.managers: list[tuple[str, str]] = []
        # A by_field map's targets: a department code or a username.
        self.targets: list[tuple[str, str]] = []
        self.rules: list[tuple[str, str]] = []
        self.forms: list[tuple[str, str]] = []


class _Reader(DocumentReader):
    """Collects problems by path while a document is read, and the references to check after."""

    both_languages_required = True

    def __init__(self):
        super().__init__()
        self.references = _References()


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class _Place:
    """Where a step stands in its document: what its outcomes may lead to and what follows it."""

    index: int
    key: str | None  # None while the step's key is wrong
    own: Any  # the key as written, for telling an outcome that leads to its own step
    following: str  # the next step's key, or resolve after the last step
    targets: frozenset[str]  # every step key written in the document

    @property
    def is_first(self) -> bool:
        return self.index == 0


def parse_workflow(raw: Any, *, key: str | None = None) -> WorkflowSpec:
    """Check a workflow document and return its ``WorkflowSpec``; raise ``DocumentError`` with every problem.

    ``key``, when given, is the stored workflow's: a document may repeat it but not change it.
    Reads the departments, users, rules and forms the document names, each kind in one go.
    """
    if not isinstance(raw, dict):
        raise DocumentError({"": [_("A workflow is an object with a key, a name and steps.")]})
    reader = _Reader()
    reader.refuse_unknown("", raw, DOCUMENT_KEYS, _("Not a property of a workflow."))
    workflow_key = _read_workflow_key(reader, raw.get("key", key), key)
    name = reader.text("name", raw.get("name"), required=True, limit=MAX_NAME)
    description = reader.text("description", raw.get("description"), required=False, limit=MAX_DESCRIPTION)
    priority = _read_priority(reader, raw.get("priority", 0))
    categories, rules = _read_applies_to(reader, raw.get("applies_to"))
    steps = _read_steps(reader, raw.get("steps"))
    _check_references(reader)
    if reader.errors:
        raise DocumentError(reader.errors)
    return WorkflowSpec(
        key=workflow_key,
        name=name,
        priority=priority,
        categories=categories,
        rules=rules,
        steps=steps,
        description=description,
    )


def _read_workflow_key(reader: _Reader, value: Any, fixed: str | None) -> str:
    if not isinstance(value, str) or not WORKFLOW_KEY_PATTERN.fullmatch(value):
        reader.add(
            "key",
            _(
                "A workflow key is 1 to 64 lower-case letters, digits and hyphens, starting with a letter "
                "(payment-handling)."
            ),
        )
        return ""
    if fixed is not None and value != fixed:
        reader.add("key", _("The workflow's key is %(key)s; it cannot be changed.") % {"key": fixed})
    return value


def _read_priority(reader: _Reader, value: Any) -> int:
    if not _whole(value) or not 0 <= value <= MAX_PRIORITY:
        reader.add(
            "priority",
            _("Priority is a whole number from 0 to %(max)d; of the workflows that apply, the highest wins.")
            % {"max": MAX_PRIORITY},
        )
        return 0
    return value


# --- What a workflow applies to -----------------------------------------------------------------


def _read_applies_to(reader: _Reader, raw: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if raw is None:
        return (), ()
    if not isinstance(raw, dict):
        reader.add("applies_to", _('Say what the workflow applies to: {"categories": […], "rules": […]}.'))
        return (), ()
    reader.refuse_unknown(
        "applies_to", raw, APPLIES_TO_KEYS, _("A workflow applies to categories and rules; not to this.")
    )
    categories = _read_codes(
        reader, "applies_to.categories", raw.get("categories"), _('Categories are a list, such as ["payment"].')
    )
    for path, category in categories:
        if category not in Category.values:
            reader.add(
                path,
                _("Not a category of exceptions: choose from %(categories)s.")
                % {"categories": ", ".join(Category.values)},
            )
    rules = _read_codes(
        reader,
        "applies_to.rules",
        raw.get("rules"),
        _('Rules are a list of rule codes, such as ["PAYMENT_STATUS_MISMATCH"].'),
    )
    reader.references.rules.extend(rules)
    return tuple(code for _path, code in categories), tuple(code for _path, code in rules)


def _read_codes(reader: _Reader, path: str, raw: Any, shape: str) -> list[tuple[str, str]]:
    """The codes of a list as (path, code), each well-formed and listed once."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        reader.add(path, shape)
        return []
    if len(raw) > MAX_APPLIES:
        reader.add(path, _("At most %(count)d entries.") % {"count": MAX_APPLIES})
        return []
    codes: list[tuple[str, str]] = []
    seen: set[str] = set()
    for index, code in enumerate(raw):
        item_path = f"{path}.{index}"
        if not isinstance(code, str) or not code.strip() or len(code) > 64 or "\x00" in code:
            reader.add(item_path, _("A code is text of 1 to 64 characters."))
        elif code in seen:
            reader.add(item_path, _("%(code)s is listed twice.") % {"code": code})
        else:
            seen.add(code)
            codes.append((item_path, code))
    return codes


# --- Steps --------------------------------------------------------------------------------------


def _read_steps(reader: _Reader, raw: Any) -> tuple[StepSpec, ...]:
    if not isinstance(raw, list) or not raw:
        reader.add("steps", _("A workflow needs a list of steps, at least one."))
        return ()
    if len(raw) > MAX_STEPS:
        reader.add("steps", _("A workflow has at most %(count)d steps.") % {"count": MAX_STEPS})
        return ()
    keys = _read_step_keys(reader, raw)
    # Every key as written: an outcome naming a step whose key is wrong is not reported twice.
    targets = frozenset(item["key"] for item in raw if isinstance(item, dict) and isinstance(item.get("key"), str))
    steps = []
    for index, item in enumerate(raw):
        following = "resolve" if index == len(raw) - 1 else (keys[index + 1] or "")
        own = item.get("key") if isinstance(item, dict) else None
        place = _Place(index=index, key=keys[index], own=own, following=following, targets=targets)
        steps.append(_read_step(reader, f"steps.{index}", item, place))
    if not reader.has_errors("steps"):
        _check_graph(reader, [step for step in steps if step is not None])
    return tuple(step for step in steps if step is not None)


def _read_step_keys(reader: _Reader, raw: list[Any]) -> list[str | None]:
    """Each step's key, or ``None`` where it is missing, malformed, reserved or taken by an earlier step."""
    keys: list[str | None] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(raw):
        key = item.get("key") if isinstance(item, dict) else None
        path = f"steps.{index}.key"
        if not isinstance(item, dict):
            key = None
        elif not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
            reader.add(
                path,
                _(
                    "A step key is 1 to 40 lower-case letters, digits and underscores, starting with a letter "
                    "(check_payment)."
                ),
            )
            key = None
        elif key in TARGET_WORDS:
            reader.add(path, _("resolve, dismiss, escalate and back are where outcomes lead; no step can be named so."))
            key = None
        elif key in seen:
            reader.add(path, _("Step %(number)d already has the key %(key)s.") % {"number": seen[key] + 1, "key": key})
            key = None
        else:
            seen[key] = index
        keys.append(key)
    return keys


def _read_step(reader: _Reader, path: str, raw: Any, place: _Place) -> StepSpec | None:
    if not isinstance(raw, dict):
        reader.add(path, _("A step is an object with a key, a kind, a name and outcomes."))
        return None
    try:
        kind = StepKind(raw.get("kind"))
    except ValueError:
        reader.add(f"{path}.kind", _("A step's kind is one of %(kinds)s.") % {"kinds": ", ".join(StepKind)})
        return None
    _refuse_unknown_step_keys(reader, path, raw, kind)
    name = reader.text(f"{path}.name", raw.get("name"), required=True, limit=MAX_NAME)
    details = KIND_READERS[kind](reader, path, raw, place)
    if place.key is None:
        return None
    return StepSpec(key=place.key, kind=kind, name=name, **details)


def _refuse_unknown_step_keys(reader: _Reader, path: str, raw: dict, kind: StepKind) -> None:
    allowed = STEP_KEYS | KIND_KEYS[kind]
    for name in sorted(str(key) for key in raw if key not in allowed):
        if name in ANY_STEP_KEYS:
            message = _("Not used by this kind of step (%(kind)s).") % {"kind": KIND_LABELS[kind]}
        else:
            message = _("Not a property of a step.")
        reader.add(f"{path}.{name}", message)


def _read_task(reader: _Reader, path: str, raw: dict, place: _Place) -> dict[str, Any]:
    assign = _read_assign(reader, f"{path}.assign", raw.get("assign"), StepKind.TASK)
    outcomes = _read_outcomes(reader, path, raw.get("outcomes"), place, StepKind.TASK)
    if raw.get("outcomes") in (None, []):
        reader.add(
            f"{path}.outcomes", _("A task needs at least one outcome: what the person chooses when the step is done.")
        )
    return {
        "form": _read_form(reader, f"{path}.form", raw.get("form")),
        "deadline": _read_duration(reader, f"{path}.deadline", raw.get("deadline")),
        "assign": assign,
        "outcomes": outcomes,
    }


def _read_approval(reader: _Reader, path: str, raw: dict, place: _Place) -> dict[str, Any]:
    # Nothing comes before the first step, so a rejection there goes up instead of back.
    rejected_to = "escalate" if place.is_first else BACK
    defaults = (_default_outcome("approve", "resolve"), _default_outcome("reject", rejected_to))
    return {
        "form": _read_form(reader, f"{path}.form", raw.get("form")),
        "deadline": _read_duration(reader, f"{path}.deadline", raw.get("deadline")),
        "assign": _read_assign(reader, f"{path}.assign", raw.get("assign"), StepKind.APPROVAL),
        "outcomes": _read_outcomes(reader, path, raw.get("outcomes"), place, StepKind.APPROVAL, defaults=defaults),
    }


def _read_action(reader: _Reader, path: str, raw: dict, place: _Place) -> dict[str, Any]:
    try:
        action = Action(raw.get("action"))
    except ValueError:
        reader.add(
            f"{path}.action", _("Choose the action this step runs: %(actions)s.") % {"actions": ", ".join(Action)}
        )
        action = None
    allowed = ACTION_OUTCOMES[action] if action is not None else None
    outcomes = _read_outcomes(
        reader,
        path,
        raw.get("outcomes"),
        place,
        StepKind.ACTION,
        defaults=(_default_outcome(DONE, place.following),),
        allowed=allowed,
    )
    if not reader.has_errors(f"{path}.outcomes") and not _covers_results(outcomes):
        reader.add(
            f"{path}.outcomes",
            _("Give a %(done)s outcome, or both %(cleared)s and %(still_open)s.")
            % {"done": DONE, "cleared": CLEARED, "still_open": STILL_OPEN},
        )
    return {"action": action or "", "outcomes": outcomes}


def _covers_results(outcomes: tuple[OutcomeSpec, ...]) -> bool:
    """Whether every result of an action has an outcome: ``done``, or both ``cleared`` and ``still_open``."""
    keys = {outcome.key for outcome in outcomes}
    return DONE in keys or {CLEARED, STILL_OPEN} <= keys


def _read_wait(reader: _Reader, path: str, raw: dict, place: _Place) -> dict[str, Any]:
    wait = _read_duration(reader, f"{path}.wait", raw.get("wait"))
    if wait is None and not reader.has_errors(f"{path}.wait"):
        reader.add(f"{path}.wait", _("A wait step needs how long to wait, such as 2h."))
    outcomes = _read_outcomes(
        reader,
        path,
        raw.get("outcomes"),
        place,
        StepKind.WAIT,
        defaults=(_default_outcome(DONE, place.following),),
        allowed=WAIT_OUTCOMES,
    )
    return {"wait": wait, "outcomes": outcomes}


KIND_READERS = {
    StepKind.TASK: _read_task,
    StepKind.APPROVAL: _read_approval,
    StepKind.ACTION: _read_action,
    StepKind.WAIT: _read_wait,
}


def _read_form(reader: _Reader, path: str, value: Any) -> str:
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or not FORM_KEY_PATTERN.fullmatch(value):
        reader.add(path, _("A form is given by its key, such as payment-check."))
        return ""
    reader.references.forms.append((path, value))
    return value


def _read_duration(reader: _Reader, path: str, value: Any) -> timedelta | None:
    if value is None or value == "":
        return None
    delta = parse_duration(value)
    if delta is None:
        reader.add(path, _duration_message())
    return delta


# --- Outcomes -----------------------------------------------------------------------------------


def _default_outcome(key: str, to: str) -> OutcomeSpec:
    return OutcomeSpec(key=key, name=DEFAULT_NAMES[key], to=to)


def _read_outcomes(
    reader: _Reader,
    path: str,
    raw: Any,
    place: _Place,
    kind: StepKind,
    *,
    defaults: tuple[OutcomeSpec, ...] = (),
    allowed: tuple[str, ...] | None = None,
) -> tuple[OutcomeSpec, ...]:
    """A step's outcomes; ``defaults`` when there are none (a task's absence is reported by its reader)."""
    path = f"{path}.outcomes"
    if raw is None or raw == []:
        return defaults
    if not isinstance(raw, list):
        reader.add(path, _("Outcomes are a list."))
        return ()
    if len(raw) > MAX_OUTCOMES:
        reader.add(path, _("A step has at most %(count)d outcomes.") % {"count": MAX_OUTCOMES})
        return ()
    outcomes: list[OutcomeSpec] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(raw):
        outcome = _read_outcome(reader, f"{path}.{index}", item, place, kind)
        if outcome is None:
            continue
        key_path = f"{path}.{index}.key"
        if outcome.key in seen:
            reader.add(
                key_path,
                _("Outcome %(number)d already has the key %(key)s.")
                % {"number": seen[outcome.key] + 1, "key": outcome.key},
            )
        elif allowed is not None and outcome.key not in allowed:
            reader.add(key_path, _("This step's outcomes can only be %(keys)s.") % {"keys": ", ".join(allowed)})
        else:
            seen[outcome.key] = index
            outcomes.append(outcome)
    return tuple(outcomes)


def _read_outcome(reader: _Reader, path: str, raw: Any, place: _Place, kind: StepKind) -> OutcomeSpec | None:
    if not isinstance(raw, dict):
        reader.add(path, _("An outcome is an object with a key, a name and where it leads (to)."))
        return None
    reader.refuse_unknown(path, raw, OUTCOME_KEYS, _("Not a property of an outcome."))
    key = raw.get("key")
    if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
        reader.add(
            f"{path}.key",
            _(
                "An outcome key is 1 to 40 lower-case letters, digits and underscores, starting with a letter "
                "(not_found)."
            ),
        )
        key = None
    name = reader.text(f"{path}.name", raw.get("name"), required=True, limit=MAX_NAME)
    to = _read_target(reader, f"{path}.to", raw.get("to"), place, kind)
    if key is None or to is None:
        return None
    return OutcomeSpec(key=key, name=name, to=to)


def _read_target(reader: _Reader, path: str, to: Any, place: _Place, kind: StepKind) -> str | None:
    if not isinstance(to, str) or not to:
        reader.add(path, _("Say where this outcome leads: a step's key, or resolve, dismiss, escalate or back."))
        return None
    if to == BACK and place.is_first:
        reader.add(path, _("The first step has no step before it to go back to."))
        return None
    if to in TARGET_WORDS:
        return to
    if to not in place.targets:
        reader.add(path, _("This outcome leads to a step that does not exist."))
        return None
    # A person may try a task again; an approval or an automatic step would only repeat itself.
    if to == place.own and kind is not StepKind.TASK:
        reader.add(path, _("Only a task may lead to itself (to try again)."))
        return None
    return to


# --- Assignment ---------------------------------------------------------------------------------


def _read_assign(reader: _Reader, path: str, raw: Any, kind: StepKind) -> AssignSpec | None:
    if raw is None:
        if kind is StepKind.APPROVAL:
            reader.add(path, _approver_message())
            return None
        return AssignSpec(strategy=Strategy.QUEUE)
    if not isinstance(raw, dict):
        reader.add(
            path,
            _('An assignment names its strategy, such as {"strategy": "queue", "department": "finance"}.'),
        )
        return None
    try:
        strategy = Strategy(raw.get("strategy"))
    except ValueError:
        reader.add(
            f"{path}.strategy",
            _("Choose how the step is assigned: %(strategies)s.") % {"strategies": ", ".join(Strategy)},
        )
        return None
    _refuse_unknown_assign_keys(reader, path, raw, strategy)
    used = STRATEGY_KEYS[strategy]
    department = _read_department(reader, f"{path}.department", raw.get("department")) if "department" in used else ""
    user = _read_user(reader, f"{path}.user", raw.get("user")) if strategy is Strategy.USER else ""
    field, mapping = _read_map(reader, path, raw) if strategy is Strategy.BY_FIELD else ("", ())
    if kind is StepKind.APPROVAL:
        _check_approver(reader, path, strategy, user)
    return AssignSpec(strategy=strategy, department=department, user=user, field=field, map=mapping)


def _refuse_unknown_assign_keys(reader: _Reader, path: str, raw: dict, strategy: Strategy) -> None:
    allowed = STRATEGY_KEYS[strategy] | {"strategy"}
    for name in sorted(str(key) for key in raw if key not in allowed):
        if name in ASSIGN_KEYS:
            message = _("Not used when assigning by %(strategy)s.") % {"strategy": STRATEGY_LABELS[strategy]}
        else:
            message = _("Not a property of an assignment.")
        reader.add(f"{path}.{name}", message)


def _check_approver(reader: _Reader, path: str, strategy: Strategy, user: str) -> None:
    if strategy not in APPROVERS:
        reader.add(path, _approver_message())
    elif strategy is Strategy.USER and user:
        reader.references.managers.append((path, user))


def _read_department(reader: _Reader, path: str, value: Any) -> str:
    if value is None or value == "":
        return ""
    if not isinstance(value, str):
        reader.add(path, _("A department is given by its code, such as finance."))
        return ""
    reader.references.departments.append((path, value))
    return value


def _read_user(reader: _Reader, path: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        reader.add(path, _("Name the user who gets this step (their username)."))
        return ""
    reader.references.users.append((path, value))
    return value


def _read_map(reader: _Reader, path: str, raw: dict) -> tuple[str, tuple[tuple[str, str], ...]]:
    field = raw.get("field")
    if field not in BY_FIELD_FIELDS:
        reader.add(
            f"{path}.field",
            _("Choose the order field to assign by: %(fields)s.") % {"fields": ", ".join(BY_FIELD_FIELDS)},
        )
        field = ""
    mapping = raw.get("map")
    if not isinstance(mapping, dict) or not mapping:
        reader.add(
            f"{path}.map",
            _('Map each value of the field to a department or a user, such as {"tmall": "customer_service"}.'),
        )
        return field, ()
    if len(mapping) > MAX_MAP:
        reader.add(f"{path}.map", _("At most %(count)d entries.") % {"count": MAX_MAP})
        return field, ()
    entries = []
    for value, target in mapping.items():
        if _read_map_entry(reader, f"{path}.map.{value}", field, value, target):
            entries.append((value, target))
    return field, tuple(entries)


def _read_map_entry(reader: _Reader, path: str, field: str, value: Any, target: Any) -> bool:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_MAP_VALUE or "\x00" in value:
        reader.add(path, _("A value is text of 1 to %(count)d characters.") % {"count": MAX_MAP_VALUE})
        return False
    if field == "channel" and value not in Channel.values:
        reader.add(path, _("Not a sales channel: choose from %(channels)s.") % {"channels": ", ".join(Channel.values)})
        return False
    if not isinstance(target, str) or not target:
        reader.add(path, _("Give the code of the department or the username of the user this value goes to."))
        return False
    reader.references.targets.append((path, target))
    return True


# --- The steps as a graph -----------------------------------------------------------------------


def _check_graph(reader: _Reader, steps: list[StepSpec]) -> None:
    """Every step can be reached from the first, and from every step a path leads to an end."""
    reached = _reachable(steps)
    ending = _can_end(steps)
    for index, step in enumerate(steps):
        if step.key not in reached:
            reader.add(f"steps.{index}", _("No outcome leads to this step; it can never run."))
        elif step.key not in ending:
            reader.add(
                f"steps.{index}",
                _("No path from this step reaches resolve, dismiss or escalate; a case here could never end."),
            )


def _successors(steps: list[StepSpec]) -> dict[str, set[str]]:
    """The steps each step may lead to; ``back`` may lead to any step with an outcome leading here."""
    keys = {step.key for step in steps}
    forward = {step.key: {outcome.to for outcome in step.outcomes if outcome.to in keys} for step in steps}
    result = {}
    for step in steps:
        result[step.key] = set(forward[step.key])
        if any(outcome.to == BACK for outcome in step.outcomes):
            result[step.key] |= {earlier for earlier, targets in forward.items() if step.key in targets}
    return result


def _reachable(steps: list[StepSpec]) -> set[str]:
    forward = {step.key: {outcome.to for outcome in step.outcomes} for step in steps}
    reached, pending = set(), [steps[0].key]
    while pending:
        key = pending.pop()
        if key not in reached:
            reached.add(key)
            pending.extend(target for target in forward[key] if target in forward)
    return reached


def _can_end(steps: list[StepSpec]) -> set[str]:
    """The steps from which some path of outcomes reaches resolve, dismiss or escalate."""
    successors = _successors(steps)
    ending = {step.key for step in steps if any(outcome.is_terminal for outcome in step.outcomes)}
    grown = True
    while grown:
        more = {key for key, targets in successors.items() if key not in ending and targets & ending}
        ending |= more
        grown = bool(more)
    return ending


# --- What the document names in the database ----------------------------------------------------


def _check_references(reader: _Reader) -> None:
    refs = reader.references
    codes = {code for _path, code in refs.departments} | {target for _path, target in refs.targets}
    departments = _active_departments(codes)
    users = _active_users({name for _path, name in [*refs.users, *refs.managers, *refs.targets]})
    for path, code in refs.departments:
        if code not in departments:
            reader.add(path, _("There is no active department %(code)s.") % {"code": code})
    for path, username in refs.users:
        if username not in users:
            reader.add(path, _("There is no active user %(username)s.") % {"username": username})
    for path, username in refs.managers:
        if username in users and not users[username]:
            reader.add(path, _approver_message())
    for path, target in refs.targets:
        if target not in departments and target not in users:
            reader.add(
                path, _("%(target)s is neither an active department's code nor a user's username.") % {"target": target}
            )
    _check_rules(reader, refs.rules)
    _check_forms(reader, refs.forms)


def _active_departments(codes: set[str]) -> frozenset[str]:
    if not codes:
        return frozenset()
    return frozenset(Department.objects.filter(code__in=codes, is_active=True).values_list("code", flat=True))


def _active_users(usernames: set[str]) -> dict[str, bool]:
    """Each active user among ``usernames``, with whether they have the manager role."""
    if not usernames:
        return {}
    is_manager = Exists(Group.objects.filter(user=OuterRef("pk"), name=Role.MANAGER))
    rows = User.objects.filter(username__in=usernames, is_active=True).annotate(is_manager=is_manager)
    return dict(rows.values_list("username", "is_manager"))


def _check_rules(reader: _Reader, rules: list[tuple[str, str]]) -> None:
    if not rules:
        return
    known = set(ExceptionRule.objects.filter(code__in=[code for _path, code in rules]).values_list("code", flat=True))
    for path, code in rules:
        if code not in known:
            reader.add(path, _("There is no rule %(code)s.") % {"code": code})


def _check_forms(reader: _Reader, forms: list[tuple[str, str]]) -> None:
    found = {key: _published(key) for key in {key for _path, key in forms}}
    for path, key in forms:
        form = found[key]
        if form is None:
            reader.add(path, _("No published form has the key %(key)s; publish the form first.") % {"key": key})
        elif form.spec.kind != FormKind.STEP:
            reader.add(path, _("Form %(key)s is not a handling step form.") % {"key": key})


def _published(key: str):
    try:
        return published_form(key=key)
    except ObjectDoesNotExist:
        return None
