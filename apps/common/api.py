"""The API's single error shape: ``{"code", "message", "fields"}`` for every 4xx.

``fields`` maps a dotted path to its messages (``lines.0.quantity``), so a client can
point at the exact input that was refused.
"""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import set_rollback

from apps.common.errors import DomainError, ErrorCode
from apps.common.parsers import BodyParseError, PayloadTooLarge

logger = logging.getLogger(__name__)

_DRF_CODES = {
    exceptions.NotAuthenticated: ErrorCode.NOT_AUTHENTICATED,
    exceptions.AuthenticationFailed: ErrorCode.AUTHENTICATION_FAILED,
    exceptions.PermissionDenied: ErrorCode.PERMISSION_DENIED,
    exceptions.NotFound: ErrorCode.NOT_FOUND,
    exceptions.MethodNotAllowed: ErrorCode.METHOD_NOT_ALLOWED,
    exceptions.UnsupportedMediaType: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    exceptions.ParseError: ErrorCode.PARSE_ERROR,
    exceptions.Throttled: ErrorCode.THROTTLED,
    PayloadTooLarge: ErrorCode.PAYLOAD_TOO_LARGE,
}


def flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn DRF's nested error detail into ``{"a.0.b": ["message", ...]}``."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            if key in ("non_field_errors", "__all__"):
                # An error about a nested object as a whole belongs to the object's own path.
                path = prefix or "non_field_errors"
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            out.update(flatten_errors(value, path))
    elif isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            out[prefix or "non_field_errors"] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                if item:
                    out.update(flatten_errors(item, f"{prefix}.{index}" if prefix else str(index)))
    else:
        out[prefix or "non_field_errors"] = [str(detail)]
    return out


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict[str, Any]:
    return {"code": str(code), "message": str(message), "fields": fields or {}}


def validation_error_body(detail: Any) -> dict[str, Any]:
    fields = flatten_errors(detail)
    names = ", ".join(sorted(fields))
    return error_body(ErrorCode.INVALID, _("Invalid input: %(fields)s.") % {"fields": names}, fields)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DomainError):
        set_rollback()
        return Response(error_body(exc.code, exc.message, exc.as_fields()), status=exc.status_code)
    if isinstance(exc, RequestDataTooBig):
        return Response(
            error_body(ErrorCode.PAYLOAD_TOO_LARGE, _("The request body is larger than the server accepts.")),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, exceptions.ValidationError):
        set_rollback()
        return Response(validation_error_body(exc.detail), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, exceptions.APIException):
        set_rollback()
        code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), ErrorCode.INVALID)
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
        fields = exc.fields if isinstance(exc, BodyParseError) else None
        return Response(error_body(code, str(exc.detail), fields), status=exc.status_code, headers=headers)
    return None


@csrf_exempt
def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Any method on a path under the API that no endpoint serves: 404 in the error shape, not HTML."""
    body = error_body(ErrorCode.NOT_FOUND, _("No API endpoint at %(path)s.") % {"path": request.path})
    return JsonResponse(body, status=status.HTTP_404_NOT_FOUND)


class JsonErrorsMixin:
    """For views whose answers are not JSON (the schema in YAML, the docs in HTML): errors still are."""

    def finalize_response(self, request, response, *args, **kwargs):
        if response.status_code >= 400:
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)


@extend_schema_serializer(component_name="Error")
class ErrorOutput(serializers.Serializer):
    """The one error shape, for the OpenAPI schema (every 4xx answer has it)."""

    code = serializers.CharField(help_text=gettext_lazy("Stable, untranslated snake_case code, e.g. invalid."))
    message = serializers.CharField(help_text=gettext_lazy("What went wrong, in the request's language."))
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text=gettext_lazy("Each refused input by its dotted path (lines.0.quantity), with its messages."),
    )
