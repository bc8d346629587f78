"""JSON parsing with a body-size cap, a nesting-depth cap and no unpaired surrogates.

DRF reads the request stream directly, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE is not
applied to JSON bodies; this parser applies it before reading. A body nested deeper than
ORDERGUARD_MAX_JSON_DEPTH is refused before anything walks it recursively (validation, error
rendering, the JSON columns), and a string holding half of a surrogate pair (``"\\ud800"``,
valid JSON but not text) is refused before it reaches a database that cannot encode it.
"""

from __future__ import annotations

import io
import json
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions, parsers

from apps.common.errors import ErrorCode


class PayloadTooLarge(exceptions.APIException):
    status_code = 400
    default_detail = gettext_lazy("The request body is larger than the server accepts.")
    default_code = ErrorCode.PAYLOAD_TOO_LARGE


class BodyParseError(exceptions.ParseError):
    """A body that is JSON but cannot be taken; ``fields`` names where in it, when known."""

    def __init__(self, detail: str, fields: dict[str, list[str]] | None = None):
        super().__init__(detail)
        self.fields = fields or {}


def _is_text(value: str) -> bool:
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _first_problem(data: Any, max_depth: int) -> tuple[str, str] | None:
    """The first (kind, dotted path) of a container nested deeper than ``max_depth`` or a non-text string.

    Walked with an explicit stack, so a deep body cannot exhaust Python's recursion limit here.
    """
    stack: list[tuple[Any, tuple[str, ...]]] = [(data, ())]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if not _is_text(item):
                return "surrogate", ".".join(path)
            continue
        if isinstance(item, dict):
            children = [(str(key), value) for key, value in item.items()]
            for key in item:
                if not _is_text(key):
                    return "surrogate", ".".join(path)
        elif isinstance(item, list):
            children = [(str(index), value) for index, value in enumerate(item)]
        else:
            continue
        if len(path) >= max_depth:
            return "depth", ".".join(path)
        for key, value in children:
            if isinstance(value, (str, dict, list)):
                stack.append((value, (*path, key)))
    return None


def _too_deep_in_text(text: str, max_depth: int) -> str | None:
    """The dotted path of the first container nested deeper than ``max_depth`` in JSON ``text``.

    For bodies too deep for the decoder to give a structure: the scan stops at that container,
    so it reads no further into the body than the refusal needs.
    """
    stack: list[list[Any]] = []  # [bracket, key or index] per open container
    last_string = '""'
    i, length = 0, len(text)
    while i < length:
        char = text[i]
        if char == '"':
            end = i + 1
            while True:
                end = text.find('"', end)
                if end < 0:
                    return None
                before = end - 1
                while before > i and text[before] == "\\":
                    before -= 1
                if (end - 1 - before) % 2 == 0:  # an even run of backslashes escapes none of them
                    break
                end += 1
            last_string = text[i : end + 1]
            i = end + 1
            continue
        if char in "[{":
            if len(stack) >= max_depth:
                return ".".join(str(key) for _bracket, key in stack)
            stack.append([char, 0 if char == "[" else ""])
        elif char in "]}":
            if stack:
                stack.pop()
        elif char == ":" and stack and stack[-1][0] == "{":
            try:
                stack[-1][1] = json.loads(last_string)
            except ValueError:
                stack[-1][1] = last_string.strip('"')
        elif char == "," and stack and stack[-1][0] == "[":
            stack[-1][1] += 1
        i += 1
    return None


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
        max_depth = settings.ORDERGUARD_MAX_JSON_DEPTH
        too_deep = _("The JSON body is nested deeper than %(limit)d levels of objects and lists.") % {
            "limit": max_depth
        }
        # Kept to name the path should the decoder give up on a body far deeper than the limit.
        raw = io.BytesIO(stream.read())
        try:
            data = super().parse(raw, media_type, parser_context)
        except RecursionError:
            encoding = (parser_context or {}).get("encoding") or settings.DEFAULT_CHARSET
            path = _too_deep_in_text(raw.getvalue().decode(encoding, errors="replace"), max_depth)
            raise BodyParseError(too_deep, {(path or "non_field_errors"): [too_deep]}) from None
        problem = _first_problem(data, max_depth)
        if problem is None:
            return data
        kind, path = problem
        if kind == "depth":
            message = too_deep
        else:
            message = _("The JSON body holds an unpaired surrogate escape (\\ud800 to \\udfff), which is not text.")
        raise BodyParseError(message, {path or "non_field_errors": [message]})
