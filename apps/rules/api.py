"""REST API v1 for exception rules (SPEC §10.5, the rules rows): the configuration API of the rule builder.

A rule is its document (``apps.rules.diff.rule_document``): ``code``, ``name`` in both languages,
``description``, ``category``, ``severity``, ``condition`` (the JSON tree of SPEC §4), ``params``
and ``is_active``. The rule language (``apps.rules.language.rule_check``, through the services) is
the condition's one validator, so the API refuses exactly what the console refuses: a bad
condition is a 400 ``invalid_rule`` whose ``fields`` names the bad node by its path
(``condition.all.1.field``, ``params.window``).

Every save writes the rule's next version (who, when, what changed, a note); ``versions/`` lists
them and ``restore/`` makes an old one current again, as a new version. ``test/`` counts the
orders a condition matches now; ``backtest/`` replays it over the last days (synchronously, or
with ``?async=1`` on a worker, read back at ``/api/v1/backtests/{id}/``).
"""

from __future__ import annotations

from typing import Any

from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import exceptions, generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import RoleModelPermissions
from apps.common.documents import MAX_NOTE, nul_path
from apps.common.documents_api import DefinitionChangePermissions, enum_field
from apps.common.fields import (
    ID_MAX,
    DecimalOutputField,
    JSONValueField,
    Rfc3339DateTimeField,
    StrictCharField,
    StrictIntegerField,
)
from apps.common.schema import error_response
from apps.orders.models import MONEY, Channel, Order
from apps.rules import backtest, selectors, services
from apps.rules.catalogue import rule_builder_catalogue
from apps.rules.diff import change_rows
from apps.rules.models import BacktestRun, Category, ExceptionRule, RuleVersion, Severity
from apps.rules.sentence import condition_sentence

CODE_PATTERN = r"^[A-Z][A-Z0-9_]{0,63}$"
MAX_NAME = ExceptionRule._meta.get_field("name").max_length
MAX_DESCRIPTION = 2000

SourceField = enum_field(list(ExceptionRule.Source.values))
BacktestStatusField = enum_field(list(BacktestRun.Status.values))


def _text(name: str, *, doc: str, required: bool) -> type[serializers.Serializer]:
    # The language keys ("zh-hans") are no Python names, so the class is built from a dict.
    field = (
        (lambda: StrictCharField(max_length=MAX_NAME, required=False, allow_blank=True))
        if not required
        else serializers.CharField
    )
    attrs: dict[str, Any] = {"zh-hans": field(), "en": field(), "__doc__": doc, "__module__": __name__}
    return type(name, (serializers.Serializer,), attrs)


RuleNameInput = _text("RuleNameInput", doc="The rule's name in Chinese and English; at least one.", required=False)
RuleName = _text("RuleName", doc="The rule's name in Chinese and English.", required=True)


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": True,
        "example": {
            "all": [
                {"field": "status", "op": "in", "value": ["paid", "reviewed"]},
                {"field": "paid_total", "op": "lt", "value": {"field": "total_amount"}},
            ]
        },
    }
)
class ConditionField(JSONValueField):
    """A condition tree; its shape is checked by the rule language, which names the bad node."""


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": True,
        "example": {"window": "30m"},
    }
)
class ParamsField(JSONValueField):
    """The rule's parameters."""


_CONDITION_HELP = gettext_lazy(
    "A condition tree (SPEC §4): {all: [...]}, {any: [...]}, {not: ...}, {field, op, value} or "
    "{lines|shipments|shipment_lines|payments: any|all, where: ...}."
)
_PARAMS_HELP = gettext_lazy('The rule\'s parameters, named in the condition as {"param": name}.')


# --- Inputs ---------------------------------------------------------------------------------------


class RuleInput(serializers.Serializer):
    """A rule's document; on a change (PATCH) every part may be left out and keeps its value."""

    code = serializers.RegexField(
        CODE_PATTERN, help_text=gettext_lazy("Upper-case letters, digits and _, such as BIG_TMALL_ORDER.")
    )
    name = RuleNameInput()
    description = StrictCharField(max_length=MAX_DESCRIPTION, required=False, allow_blank=True)
    category = serializers.ChoiceField(choices=Category.choices)
    severity = serializers.ChoiceField(choices=Severity.choices, help_text=gettext_lazy("The default severity."))
    condition = ConditionField(help_text=_CONDITION_HELP)
    params = ParamsField(required=False, help_text=_PARAMS_HELP)
    is_active = serializers.BooleanField(required=False)
    note = StrictCharField(
        max_length=MAX_NOTE,
        required=False,
        allow_blank=True,
        help_text=gettext_lazy("What this change is for, kept with the version."),
    )

    def validate_name(self, value: dict[str, str]) -> dict[str, str]:
        if self.partial:
            return value
        if not (value.get("zh-hans") or value.get("en")):
            raise serializers.ValidationError(_("A rule needs a name in at least one language."))
        return value


class RulePatchInput(RuleInput):
    """A change of a rule: the parts given replace the stored ones; the code cannot change."""

    code = serializers.RegexField(
        CODE_PATTERN, required=False, help_text=gettext_lazy("The rule's code, if given: it cannot change.")
    )


class RuleRestoreInput(serializers.Serializer):
    version = StrictIntegerField(min_value=1, help_text=gettext_lazy("The version to make current again."))
    note = StrictCharField(max_length=MAX_NOTE, required=False, allow_blank=True)


class RuleTestInput(serializers.Serializer):
    """A draft to try; what is left out is the rule's saved condition or parameters."""

    condition = ConditionField(required=False, help_text=_CONDITION_HELP)
    params = ParamsField(required=False, help_text=_PARAMS_HELP)


class RuleBacktestInput(RuleTestInput):
    days = StrictIntegerField(
        min_value=1, max_value=BacktestRun.MAX_DAYS, help_text=gettext_lazy("The last N days, today included.")
    )


# --- Outputs --------------------------------------------------------------------------------------


class RuleDocumentOutput(serializers.Serializer):
    code = serializers.CharField()
    name = RuleName()
    description = serializers.CharField(allow_blank=True)
    category = serializers.ChoiceField(choices=Category.choices)
    severity = serializers.ChoiceField(choices=Severity.choices)
    condition = ConditionField()
    params = ParamsField()
    is_active = serializers.BooleanField()


class RuleOutput(serializers.Serializer):
    """A rule: its document, and what the system keeps about it."""

    code = serializers.CharField()
    name = serializers.SerializerMethodField()
    description = serializers.CharField(allow_blank=True)
    category = serializers.ChoiceField(choices=Category.choices)
    severity = serializers.ChoiceField(source="default_severity", choices=Severity.choices)
    source = SourceField(
        help_text=gettext_lazy("condition (detected on orders) or reconciliation (raised by reconciliations).")
    )
    condition = ConditionField()
    params = ParamsField()
    is_active = serializers.BooleanField()
    is_builtin = serializers.BooleanField()
    is_time_based = serializers.BooleanField(
        help_text=gettext_lazy("The outcome changes with the clock alone: the periodic scan re-runs it.")
    )
    sentence = serializers.SerializerMethodField(
        help_text=gettext_lazy("The condition in words, in the request's language.")
    )
    version = serializers.SerializerMethodField(help_text=gettext_lazy("The current version's number."))
    last_error = serializers.CharField(allow_blank=True, help_text=gettext_lazy("The last run-time failure, if any."))
    last_error_at = Rfc3339DateTimeField(allow_null=True)
    updated_at = Rfc3339DateTimeField()

    @extend_schema_field(RuleName)
    def get_name(self, rule: ExceptionRule) -> dict[str, str]:
        return {"zh-hans": rule.name, "en": rule.name_en}

    def get_sentence(self, rule: ExceptionRule) -> str:
        return condition_sentence(rule.condition, rule.params)

    @extend_schema_field({"type": "integer", "nullable": True})
    def get_version(self, rule: ExceptionRule) -> int | None:
        return self.context.get("versions", {}).get(rule.pk)


class ChangeRowOutput(serializers.Serializer):
    what = serializers.CharField()
    old = serializers.CharField(allow_blank=True)
    new = serializers.CharField(allow_blank=True)


class RuleVersionOutput(serializers.Serializer):
    """A version: the rule as a save left it, who saved it and when, and what changed, raw and in words."""

    version = serializers.IntegerField(source="number")
    saved_at = Rfc3339DateTimeField(source="created_at")
    saved_by = serializers.CharField(
        source="actor.username",
        allow_null=True,
        help_text=gettext_lazy("The username of who saved it; null: the system."),
    )
    note = serializers.CharField(allow_blank=True)
    restored_from = serializers.IntegerField(allow_null=True)
    document = RuleDocumentOutput()
    changes = serializers.ListField(
        child=serializers.DictField(),
        help_text=gettext_lazy('What changed from the version before: {"change", "attribute", "old", "new"} each.'),
    )
    described = serializers.SerializerMethodField(help_text=gettext_lazy("The changes in words."))

    @extend_schema_field(ChangeRowOutput(many=True))
    def get_described(self, version: RuleVersion) -> list[dict[str, str]]:
        return [vars(row) for row in change_rows(version.changes)]


class OrderSampleOutput(serializers.Serializer):
    id = serializers.IntegerField()
    external_id = serializers.CharField()
    channel = serializers.ChoiceField(choices=Channel.choices)
    status = serializers.ChoiceField(choices=Order.Status.choices)
    placed_at = Rfc3339DateTimeField()
    total_amount = DecimalOutputField(**MONEY)
    currency = serializers.CharField()


class RuleTestOutput(serializers.Serializer):
    count = serializers.IntegerField(help_text=gettext_lazy("Current orders the condition matches now."))
    sample = OrderSampleOutput(many=True, help_text=gettext_lazy("The newest of them (up to 10)."))


class BacktestDayOutput(serializers.Serializer):
    date = serializers.DateField()
    count = serializers.IntegerField(
        help_text=gettext_lazy("Orders placed that day the condition would raise an exception on (each once).")
    )
    dismissed = serializers.IntegerField(
        help_text=gettext_lazy("How many of them have an exception of this rule dismissed as not real.")
    )
    current = serializers.IntegerField(
        required=False, help_text=gettext_lazy("With a draft: the count of the rule as saved, for the difference.")
    )


class BacktestResultOutput(serializers.Serializer):
    """The back-test of the last N days, every day listed, oldest first."""

    # "from" is a keyword: the field is named in the class's fields below.
    to = serializers.DateField(help_text=gettext_lazy("The last day (today), in time_zone."))
    time_zone = serializers.CharField(help_text=gettext_lazy("The zone days are counted in (TIME_ZONE)."))
    evaluated_at = serializers.CharField(
        help_text=gettext_lazy("The moment the data and the clock were read (ISO 8601).")
    )
    total = serializers.IntegerField()
    dismissed = serializers.IntegerField()
    current_total = serializers.IntegerField(required=False)
    days = BacktestDayOutput(many=True)

    def get_fields(self):
        fields = super().get_fields()
        return {"from": serializers.DateField(help_text=gettext_lazy("The first day, in time_zone.")), **fields}


class BacktestRunOutput(serializers.Serializer):
    id = serializers.IntegerField()
    rule = serializers.CharField(source="rule.code")
    days = serializers.IntegerField()
    draft = serializers.BooleanField(
        source="document.draft", default=False, help_text=gettext_lazy("A draft condition, not the saved one.")
    )
    status = BacktestStatusField(help_text=gettext_lazy("queued, running, done or failed."))
    progress = serializers.IntegerField(help_text=gettext_lazy("Percent done, 0 to 100."))
    result = BacktestResultOutput(allow_null=True, help_text=gettext_lazy("The answer, once done."))
    error = serializers.CharField(allow_blank=True, help_text=gettext_lazy("Why it failed, if it did."))
    requested_by = serializers.CharField(source="actor.username", allow_null=True)
    created_at = Rfc3339DateTimeField()
    started_at = Rfc3339DateTimeField(allow_null=True)
    finished_at = Rfc3339DateTimeField(allow_null=True)


# --- The field catalogue ------------------------------------------------------------------------

TextOutput = _text("RuleBuilderText", doc="A text in Chinese and English.", required=True)


class CatalogueOperatorOutput(serializers.Serializer):
    op = serializers.CharField()
    label = TextOutput()
    value = serializers.CharField(
        help_text=gettext_lazy(
            "What the operator takes: none, one (a value, a field or a parameter), list, pair (between) or duration."
        )
    )


class CatalogueChoiceOutput(serializers.Serializer):
    value = serializers.CharField()
    label = TextOutput()


class CatalogueFieldOutput(serializers.Serializer):
    name = serializers.CharField(
        help_text=gettext_lazy("The name a condition uses, such as paid_total or data.invoice_title.")
    )
    label = TextOutput()
    description = TextOutput()
    type = serializers.CharField(
        help_text=gettext_lazy("string, enum, set, decimal, integer, datetime, date, boolean or age.")
    )
    unit = serializers.CharField(allow_blank=True)
    nullable = serializers.BooleanField()
    operators = serializers.ListField(child=serializers.CharField())
    choices = CatalogueChoiceOutput(many=True)


class CatalogueGroupOutput(serializers.Serializer):
    key = serializers.CharField()
    label = TextOutput()
    collection = serializers.CharField(
        allow_null=True,
        help_text=gettext_lazy(
            'The collection its fields are quantified over ({"lines": "any", "where": ...}); null for order fields.'
        ),
    )
    fields = CatalogueFieldOutput(many=True)


class CatalogueOutput(serializers.Serializer):
    groups = CatalogueGroupOutput(many=True)
    operators = CatalogueOperatorOutput(many=True)


# --- Views ----------------------------------------------------------------------------------------


def _rule_or_404(code: str) -> ExceptionRule:
    # A path that cannot be a code names no rule (and PostgreSQL refuses a NUL in a query).
    if len(code) <= 64 and "\x00" not in code:
        try:
            return selectors.rule_get(code=code)
        except ExceptionRule.DoesNotExist:
            pass
    raise exceptions.NotFound(_("No rule has this code."))


def _detail(rule: ExceptionRule) -> dict[str, Any]:
    versions = selectors.rule_version_numbers(rule_ids=[rule.pk])
    return RuleOutput(rule, context={"versions": versions}).data


def _body(request, serializer_class: type[serializers.Serializer], **kwargs: Any) -> dict[str, Any]:
    if isinstance(request.data, dict) and (path := nul_path(request.data)) is not None:
        raise serializers.ValidationError({path or "non_field_errors": [JSONValueField.default_error_messages["nul"]]})
    serializer = serializer_class(data=request.data, context={"request": request}, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _model_values(values: dict[str, Any], rule: ExceptionRule | None) -> dict[str, Any]:
    """The input's parts as the rule's model fields (``name`` in both languages, ``severity``)."""
    changes: dict[str, Any] = {}
    if "name" in values:
        zh = values["name"].get("zh-hans", rule.name if rule is not None else "")
        en = values["name"].get("en", rule.name_en if rule is not None else "")
        if not (zh or en):
            raise serializers.ValidationError({"name": [_("A rule needs a name in at least one language.")]})
        changes["name"], changes["name_en"] = zh or en, en
    for name, field in (
        ("description", "description"),
        ("category", "category"),
        ("severity", "default_severity"),
        ("condition", "condition"),
        ("params", "params"),
        ("is_active", "is_active"),
    ):
        if name in values:
            changes[field] = values[name]
    return changes


_CODE = OpenApiParameter("code", str, OpenApiParameter.PATH, description=gettext_lazy("The rule's code."))
_RULE_REFUSED = gettext_lazy(
    "A condition or parameters the rule language refuses are `invalid_rule`: `fields` names the bad node by its "
    "path, such as condition.all.1.field, condition.any.0.value or params.window."
)


class RuleListCreateApi(generics.ListAPIView):
    """The exception rules, by code; or create one (a condition rule, saved as its version 1)."""

    queryset = ExceptionRule.objects.none()
    serializer_class = RuleOutput

    def get_queryset(self):
        return selectors.rule_list()

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        versions = selectors.rule_version_numbers(rule_ids=[rule.pk for rule in page])
        return self.get_paginated_response(RuleOutput(page, many=True, context={"versions": versions}).data)

    @extend_schema(
        request=RuleInput,
        responses={201: RuleOutput},
        description=format_lazy(
            "{} {}", _RULE_REFUSED, gettext_lazy("Another rule with the code is `code_taken` (field code).")
        ),
    )
    def post(self, request):
        values = _body(request, RuleInput)
        note = values.pop("note", "")
        code = values.pop("code")
        values.setdefault("params", {})
        rule = services.rule_create(code=code, actor=request.user, note=note, **_model_values(values, None))
        return Response(_detail(rule), status=status.HTTP_201_CREATED)


class RuleDetailApi(APIView):
    """Read a rule, or change parts of it (a new version when anything changes)."""

    queryset = ExceptionRule.objects.none()

    @extend_schema(parameters=[_CODE], responses=RuleOutput)
    def get(self, request, code: str):
        return Response(_detail(_rule_or_404(code)))

    @extend_schema(
        parameters=[_CODE],
        request=RulePatchInput,
        responses=RuleOutput,
        description=format_lazy(
            "{} {}",
            gettext_lazy(
                "The parts given replace the stored ones; a code other than the path's is refused (field code)."
            ),
            _RULE_REFUSED,
        ),
    )
    def patch(self, request, code: str):
        rule = _rule_or_404(code)
        values = _body(request, RulePatchInput, partial=True)
        if values.pop("code", rule.code) != rule.code:
            raise serializers.ValidationError({"code": [_("A rule's code cannot change.")]})
        note = values.pop("note", "")
        services.rule_update(rule=rule, actor=request.user, note=note, **_model_values(values, rule))
        return Response(_detail(_rule_or_404(rule.code)))


class RuleVersionListApi(generics.ListAPIView):
    """The rule's versions, the newest first: each with its document and what changed, raw and in words."""

    queryset = RuleVersion.objects.none()
    serializer_class = RuleVersionOutput

    def get_queryset(self):
        return selectors.rule_versions(rule=_rule_or_404(self.kwargs["code"]))

    @extend_schema(parameters=[_CODE])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class RuleRestoreApi(APIView):
    """Make an earlier version current again, as the rule's next version (none when it already is)."""

    queryset = ExceptionRule.objects.none()
    permission_classes = [DefinitionChangePermissions]

    @extend_schema(
        parameters=[_CODE],
        request=RuleRestoreInput,
        responses=RuleOutput,
        description=gettext_lazy(
            "A version the rule does not have is `no_such_version` (field version); an old condition that no "
            "longer checks (a field it names is gone) is `invalid_rule`."
        ),
    )
    def post(self, request, code: str):
        rule = _rule_or_404(code)
        values = _body(request, RuleRestoreInput)
        services.rule_restore(
            code=rule.code, version=values["version"], actor=request.user, note=values.get("note", "")
        )
        return Response(_detail(_rule_or_404(rule.code)))


class RuleBuilderPermissions(RoleModelPermissions):
    """Testing and back-testing belong to editing a rule: their POST needs the change permission."""

    perms_map = {**RoleModelPermissions.perms_map, "POST": ["%(app_label)s.change_%(model_name)s"]}


def _draft(rule: ExceptionRule, values: dict[str, Any]) -> tuple[Any, Any]:
    condition = values.get("condition", rule.condition)
    params = values.get("params", rule.params or {})
    return condition, params


_NO_CONDITION = gettext_lazy(
    "A rule raised by reconciliations (MISSING_ORDER) has no condition: `no_condition`. A condition the "
    "database cannot run on the stored orders is `not_evaluated`."
)


class RuleTestApi(APIView):
    """How many current orders the rule (or a draft of it) matches now, with the newest ten."""

    queryset = ExceptionRule.objects.none()
    permission_classes = [RuleBuilderPermissions]

    @extend_schema(
        parameters=[_CODE],
        request=RuleTestInput,
        responses=RuleTestOutput,
        description=format_lazy("{} {}", _RULE_REFUSED, _NO_CONDITION),
    )
    def post(self, request, code: str):
        rule = _rule_or_404(code)
        condition, params = _draft(rule, _body(request, RuleTestInput))
        services.backtest_check(rule=rule, condition=condition, params=params)
        return Response(RuleTestOutput(backtest.rule_test(condition=condition, params=params)).data)


_ASYNC = OpenApiParameter(
    "async",
    OpenApiTypes.BOOL,
    OpenApiParameter.QUERY,
    required=False,
    description=gettext_lazy("1: run on a worker; answer 202 with the run's id, read at /api/v1/backtests/{id}/."),
)


class RuleBacktestApi(APIView):
    """Replay the rule (or a draft of it) over the orders placed in the last N days, per day."""

    queryset = ExceptionRule.objects.none()
    permission_classes = [RuleBuilderPermissions]

    @extend_schema(
        parameters=[_CODE, _ASYNC],
        request=RuleBacktestInput,
        responses={
            200: BacktestResultOutput,
            202: inline_serializer(name="BacktestQueued", fields={"run": serializers.IntegerField()}),
        },
        description=format_lazy(
            "{} {} {}",
            gettext_lazy(
                "Per day of placed_at in TIME_ZONE, the orders the condition holds for now (data and clock as they "
                "are now), and how many of them had an exception of this rule dismissed as not real; with a draft, "
                "also the saved rule's count (current)."
            ),
            _RULE_REFUSED,
            _NO_CONDITION,
        ),
    )
    def post(self, request, code: str):
        rule = _rule_or_404(code)
        values = _body(request, RuleBacktestInput)
        condition, params = _draft(rule, values)
        if request.query_params.get("async") in ("1", "true", "True"):
            run = services.backtest_run_start(
                rule=rule,
                days=values["days"],
                condition=values.get("condition"),
                params=values.get("params"),
                actor=request.user,
            )
            return Response({"run": run.pk}, status=status.HTTP_202_ACCEPTED)
        services.backtest_check(rule=rule, condition=condition, params=params, days=values["days"])
        result = backtest.rule_backtest(condition=condition, params=params, days=values["days"], rule=rule)
        return Response(BacktestResultOutput(result).data)


class BacktestRunApi(APIView):
    """A back-test run: its status, its progress and, once done, its answer."""

    queryset = BacktestRun.objects.none()

    @extend_schema(
        responses={
            200: BacktestRunOutput,
            404: error_response(gettext_lazy("No back-test run has this id (`not_found`).")),
        }
    )
    def get(self, request, run_id: int):
        try:
            if run_id > ID_MAX:
                raise BacktestRun.DoesNotExist
            run = selectors.backtest_run_get(run_id=run_id)
        except BacktestRun.DoesNotExist:
            raise exceptions.NotFound(_("No back-test run has this id.")) from None
        return Response(BacktestRunOutput(run).data)


class RuleFieldCatalogueApi(APIView):
    """What the rule builder offers: the fields by object, with their types, operators and choices,
    the order form's custom fields among them; labels in Chinese and English."""

    queryset = ExceptionRule.objects.none()

    @extend_schema(operation_id="rules_fields_retrieve", responses=CatalogueOutput)
    def get(self, request):
        return Response(CatalogueOutput(rule_builder_catalogue()).data)
