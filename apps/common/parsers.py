"""JSON parsing with a body-size cap.

DRF reads the request stream directly, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE is not
applied to JSON bodies; this parser applies it before reading.
"""

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, parsers

from apps.common.errors import ErrorCode


class PayloadTooLarge(exceptions.APIException):
    status_code = 400
    default_detail = _("The request body is larger than the server accepts.")
    default_code = ErrorCode.PAYLOAD_TOO_LARGE


class LimitedJSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if request is not None and limit is not None:
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > limit:
                raise PayloadTooLarge()
        return super().parse(stream, media_type, parser_context)
