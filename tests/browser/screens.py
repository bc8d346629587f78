"""Helpers for the screen tests: sign in, open a page in a language and a width, save what it shows.

Screenshots go to ``tests/browser/artifacts/`` (kept out of git); CI keeps them as test artefacts.
"""

from __future__ import annotations

import re
from pathlib import Path

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
VIEWPORTS = {"desktop": {"width": 1366, "height": 768}, "phone": {"width": 375, "height": 812}}
LANGUAGES = {"zh-hans": "zh-CN", "en": "en-US"}
PASSWORD = "orderguard-Secret1"

# A JSON object or list of objects as a person would see it: {"key": …, [{"key": …, {'key': ….
RAW_JSON = re.compile(r"""[\{\[]\s*["'][^"'\n]{1,40}["']\s*:|\[\s*\{""")

# Text a person reads: the page without form fields' contents, scripts and styles.
VISIBLE_TEXT_JS = """() => {
  const body = document.body.cloneNode(true);
  body.querySelectorAll('script, style, textarea, input, select, noscript, template').forEach(n => n.remove());
  document.documentElement.appendChild(body);
  const text = body.innerText;
  body.remove();
  return text;
}"""


def open_page(browser, live_server, *, language: str, viewport: str):
    """A new page whose browser asks for ``language`` and has the ``viewport`` size, in the server's zone."""
    context = browser.new_context(locale=LANGUAGES[language], viewport=VIEWPORTS[viewport], timezone_id="Asia/Shanghai")
    context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    page = context.new_page()
    page.set_default_timeout(15000)
    track_foreign_requests(page, live_server)
    return page


def track_foreign_requests(page, live_server) -> None:
    """Collect in ``page.foreign_requests`` every request to anywhere but the test server."""
    page.foreign_requests = []
    page.on(
        "request",
        lambda request: None
        if request.url.startswith((live_server.url, "data:", "blob:"))
        else page.foreign_requests.append(request.url),
    )


def sign_in(page, live_server, username: str, password: str = PASSWORD) -> None:
    page.goto(live_server.url + "/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("button[type=submit]")


def visible_text(page) -> str:
    return page.evaluate(VISIBLE_TEXT_JS)


def raw_json_on(page) -> list[str]:
    """Every fragment of the visible text that looks like raw JSON."""
    return RAW_JSON.findall(visible_text(page))


def shoot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def overflows(page) -> bool:
    """True when the page scrolls sideways (a table or a form wider than the screen)."""
    return page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth + 1")
