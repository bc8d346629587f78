"""The rules domain's error codes, and a rule-language problem as the one error shape."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.common.errors import DomainError
from apps.rules.language import RuleError


class RuleErrorCode(models.TextChoices):
    INVALID_RULE = "invalid_rule", _("The rule's condition or parameters have problems.")
    CODE_TAKEN = "code_taken", _("Another rule has this code.")
    NO_SUCH_VERSION = "no_such_version", _("The rule has no such version.")
    NO_CONDITION = "no_condition", _("The rule is raised by reconciliations: it has no condition to test.")
    NOT_EVALUATED = "not_evaluated", _("The condition could not be evaluated on the stored orders.")


def condition_path(path: str) -> str:
    """A ``RuleError`` path as the input names it: ``all.1.field`` → ``condition.all.1.field``;
    a parameter's (``params.window``) stays as it is."""
    if path == "condition" or path.startswith("condition.") or path == "params" or path.startswith("params."):
        return path
    return f"condition.{path}"


class RuleDefinitionError(DomainError):
    """A condition or parameters the rule language refuses; ``field`` is the bad node's path
    (``condition.all.1.field``, ``params.window``), the message says the path and the problem."""

    def __init__(self, error: RuleError):
        super().__init__(code=RuleErrorCode.INVALID_RULE, field=condition_path(error.path), message=str(error))
        self.problem = error.message

    def as_fields(self) -> dict[str, list[str]]:
        return {self.field or "condition": [str(self.problem)]}
