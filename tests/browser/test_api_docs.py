"""The ReDoc page in a real browser: it renders the schema, and nothing it asks for leaves the server."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_redoc_renders_the_schema_with_no_request_leaving_the_server(page, live_server):
    """Every request to another origin (ReDoc's built-in Redocly logo) is refused by the browser
    under the page's Content-Security-Policy, so none reaches the network; no font service is asked."""

    def foreign(url: str) -> bool:
        # As the page fixture counts them: data: and blob: URLs never leave the browser.
        return not url.startswith((live_server.url, "data:", "blob:"))

    own, refused, answered_elsewhere = [], [], []
    page.on("request", lambda request: None if foreign(request.url) else own.append(request.url))
    page.on("requestfailed", lambda request: refused.append((request.url, request.failure)))
    page.on("requestfinished", lambda request: answered_elsewhere.append(request.url) if foreign(request.url) else None)

    page.goto(live_server.url + "/api/v1/redoc/")
    page.get_by_text("/api/v1/orders/bulk/").first.wait_for(state="attached")
    page.wait_for_load_state("networkidle")

    assert "OrderGuard API" in page.inner_text("body")
    assert any(url.endswith("/api/v1/schema/") for url in own)
    assert any(url.endswith("/redoc/bundles/redoc.standalone.js") for url in own)
    assert answered_elsewhere == []
    foreign_refused = [(url, why) for url, why in refused if foreign(url)]
    assert sorted(page.foreign_requests) == sorted(url for url, _why in foreign_refused)
    assert all(why == "csp" for _url, why in foreign_refused), foreign_refused
    assert not any("fonts.g" in url for url in page.foreign_requests)


def test_the_redoc_page_names_no_other_origin(client):
    """The HTML itself links nothing outside (the fonts ReDoc's stock page loads from Google)."""
    response = client.get("/api/v1/redoc/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "https://" not in html and "http://" not in html
    assert "default-src 'self'" in html
