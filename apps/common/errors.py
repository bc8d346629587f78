"""One error type for business-rule violations, mapped to one JSON shape by the API handler."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ErrorCode(models.TextChoices):
    """Stable, untranslated error codes shared by every API response."""

    INVALID = "invalid", _("The input is invalid.")
    NOT_AUTHENTICATED = "not_authenticated", _("Authentication credentials were not provided.")
    AUTHENTICATION_FAILED = "authentication_failed", _("Incorrect authentication credentials.")
    PERMISSION_DENIED = "permission_denied", _("You do not have permission to perform this action.")
    NOT_FOUND = "not_found", _("Not found.")
    METHOD_NOT_ALLOWED = "method_not_allowed", _("Method not allowed.")
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type", _("Unsupported media type.")
    PARSE_ERROR = "parse_error", _("Malformed request body.")
    PAYLOAD_TOO_LARGE = "payload_too_large", _("The request body is too large.")
    CONFLICT = "conflict", _("The request conflicts with stored data.")
    THROTTLED = "throttled", _("Request was throttled.")


class DomainError(Exception):
    """A business rule refused the operation; ``field`` names the offending input."""

    status_code = 400

    def __init__(self, *, code: str, message: str, field: str | None = None, status_code: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        if status_code is not None:
            self.status_code = status_code

    def as_fields(self) -> dict[str, list[str]]:
        return {self.field or "non_field_errors": [str(self.message)]}
