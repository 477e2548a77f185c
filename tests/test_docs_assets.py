"""/docs and /redoc work offline: the page and everything it loads come from the service itself."""

from __future__ import annotations

import re

import httpx
import pytest

# Every URL a docs page loads: scripts, styles, icons, and the OpenAPI document it renders.
REFERENCES = re.compile(r"""(?:src|href|spec-url)="([^"]*)"|\burl: '([^']*)'""")


def referenced_urls(page: str) -> list[str]:
    return [first or second for first, second in REFERENCES.findall(page)]


@pytest.mark.parametrize(
    ("page", "expected_assets"),
    [
        ("/docs", {"swagger-ui-bundle.js": "SwaggerUIBundle", "swagger-ui.css": ".swagger-ui"}),
        ("/redoc", {"redoc.standalone.js": "Redoc"}),
    ],
)
async def test_a_docs_page_and_every_asset_it_references_come_from_the_service(
    client: httpx.AsyncClient, page: str, expected_assets: dict[str, str]
) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "http" not in response.text, "the page loads something from another host (a CDN)"

    urls = referenced_urls(response.text)
    assert "/openapi.json" in urls
    served: dict[str, str] = {}
    for url in urls:
        assert url.startswith("/"), f"{url} is not served by the service"
        assert not url.startswith("//"), f"{url} is on another host"
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert asset.content, url
        served[url.rsplit("/", 1)[-1]] = asset.text if not url.endswith(".png") else ""
    for name, marker in expected_assets.items():
        assert marker in served[name], f"{name} is not what the page expects"
    assert (await client.get("/openapi.json")).json()["info"]["title"] == "Marketplace payments"
