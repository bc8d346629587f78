"""Helpers for the tests of definition documents (forms, workflows) and their configuration API."""

from __future__ import annotations


def text(zh: str, en: str) -> dict[str, str]:
    """A text of a document in both languages."""
    return {"zh-hans": zh, "en": en}


def refused(response, code: str) -> dict[str, list[str]]:
    """The ``fields`` of a 400 in the API's error shape with ``code`` and a message."""
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == code, body
    assert body["message"]
    return body["fields"]
