"""Helpers for the tests of the form designer and the workflow designer, which share their plumbing
(``static/orderguard/designer-common.js``) and their place in the console."""

from __future__ import annotations

from django.urls import reverse

from tests.browser import screens


def _admin_url(model, name: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{name}", args=args)


def designer_url(live_server, model, key: str) -> str:
    """The designer of the form or workflow ``key``: its change page in the console."""
    return live_server.url + _admin_url(model, "change", model.objects.get(key=key).pk)


def settled(page) -> None:
    """Wait until the designer has heard back from the server about the latest edit."""
    page.wait_for_function(
        "() => { const d = Alpine.$data(document.querySelector('.og-designer'));"
        " return d.checkedRevision === d.revision && !d.saving; }"
    )


def check_list(page, live_server, model, *, shows: str, viewport: str, shot: str) -> None:
    """The console's list of ``model``'s definitions: every one a row, ``shows`` among them, no raw
    JSON and, on a desktop, no sideways scrolling; its screenshot is saved as ``shot``."""
    page.goto(live_server.url + _admin_url(model, "changelist"))
    assert page.locator("#result_list tbody tr").count() == model.objects.count()
    assert shows in screens.visible_text(page)
    assert screens.raw_json_on(page) == []
    if viewport == "desktop":
        assert not screens.overflows(page), f"the list of {model._meta.verbose_name_plural} scrolls sideways at 1366 px"
    screens.shoot(page, shot)


def check_reads_well(page, *, language: str, viewport: str, chinese: tuple[str, ...]) -> str:
    """The designer as it shows now: in English none of the ``chinese`` words and "Save draft", no
    raw JSON, no sideways scrolling, nothing fetched from elsewhere. Returns the visible text."""
    text = screens.visible_text(page)
    if language == "en":
        for words in chinese:
            assert words not in text, f"{words} on the English designer"
        assert "Save draft" in text
    assert screens.raw_json_on(page) == [], "the designer shows raw JSON"
    assert not screens.overflows(page), f"the designer scrolls sideways at {viewport}"
    assert page.foreign_requests == []
    return text
