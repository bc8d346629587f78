"""The OpenAPI schema says what the server does: its error answers and its money format.

``ApiAutoSchema`` (``REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]``) adds to every operation the error
answers it can give, each with the one error shape (``Error``):

- 400 where the operation takes a body or validating query parameters (filters), and 415
  where a body in another media type than JSON is refused;
- 401 where it authenticates, 403 where a permission can refuse;
- 404 where the path names a record (not on a PUT that creates it: ``put_creates`` on the
  view), and on paginated lists (a page past the end);
- 429 where a throttle applies.

Answers an operation gives for its own reasons (409 on a conflicting repeat) are declared on
the view with ``error_response``. Integer path parameters are record ids, 1 to 2**63 - 1.
Money fields are documented as the plain decimal strings ``MoneyField`` accepts, not
drf-spectacular's default pattern, which admits ``""`` and ``-``.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework.permissions import AllowAny

from apps.common.api import ErrorOutput
from apps.common.fields import ID_MAX

_WRITE_METHODS = ("POST", "PUT", "PATCH")


def error_response(description: str) -> OpenApiResponse:
    """An error answer in the one shape, for ``extend_schema(responses={409: error_response(...)})``."""
    return OpenApiResponse(ErrorOutput, description=description)


class ApiAutoSchema(AutoSchema):
    def _resolve_path_parameters(self, variables):
        parameters = super()._resolve_path_parameters(variables)
        for parameter in parameters:
            if parameter["schema"].get("type") == "integer":
                parameter["schema"].update(minimum=1, maximum=ID_MAX)
        return parameters

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code, description in self._error_answers():
            if code not in responses:
                responses[code] = self._get_response_for_code(error_response(description), code, direction=direction)
        return dict(sorted(responses.items()))

    def _error_answers(self) -> list[tuple[str, str]]:
        view = self.view
        answers = []
        filters = getattr(view, "filterset_class", None) or getattr(view, "filterset_fields", None)
        if self.method in _WRITE_METHODS or (self._is_list_view() and filters):
            answers.append(
                ("400", _("Invalid input (`code` invalid or parse_error); `fields` names each refused input."))
            )
        if self.method in _WRITE_METHODS:
            answers.append(("415", _("The body is not JSON (`unsupported_media_type`).")))
        if view.get_authenticators():
            answers.append(("401", _("No token (`not_authenticated`) or an unknown one (`authentication_failed`).")))
        if any(not isinstance(permission, AllowAny) for permission in view.get_permissions()):
            answers.append(("403", _("The caller's role lacks the permission (`permission_denied`).")))
        names_record = "{" in self.path and not (self.method == "PUT" and getattr(view, "put_creates", False))
        if names_record or (self._is_list_view() and self._get_paginator()):
            answers.append(("404", _("No such record, or no such page (`not_found`).")))
        if view.get_throttles():
            answers.append(("429", _("Too many requests (`throttled`); `Retry-After` says when to try again.")))
        return answers


class DecimalOutputFieldExtension(OpenApiSerializerFieldExtension):
    """``DecimalOutputField``: always the field's decimal places, ``"129.50"``."""

    target_class = "apps.common.fields.DecimalOutputField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        field = self.target
        whole = field.max_digits - field.decimal_places
        pattern = rf"^-?[0-9]{{1,{whole}}}\.[0-9]{{{field.decimal_places}}}$"
        return {"type": "string", "format": "decimal", "pattern": pattern, "example": "129.50"}


class MoneyFieldExtension(OpenApiSerializerFieldExtension):
    """``MoneyField``: a decimal string with the field's digits, and no minus sign where it refuses negatives."""

    target_class = "apps.common.fields.MoneyField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        field = self.target
        whole = field.max_digits - field.decimal_places
        sign = "" if field.min_value is not None and field.min_value >= 0 else "-?"
        pattern = rf"^{sign}[0-9]{{1,{whole}}}(?:\.[0-9]{{1,{field.decimal_places}}})?$"
        return {"type": "string", "format": "decimal", "pattern": pattern, "example": "129.50"}
