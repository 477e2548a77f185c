"""How the service serves its pages (app/ui): without a token, with headers that keep other
origins' code out, outside the OpenAPI document, and every file they load present."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from playwright.async_api import Page

from app.main import openapi_document
from app.ui import CONTENT_SECURITY_POLICY, STATIC_DIRECTORY
from tests.ui.browsing import manifest

STATIC = Path(STATIC_DIRECTORY)
# `import … from './x.js'` and `import('./x.js')` in the modules.
MODULE_REFERENCE = re.compile(r"""(?:from\s+|import\()\s*'([^']+)'""")


async def test_the_pages_are_served_without_a_token(client: httpx.AsyncClient) -> None:
    shell = await client.get("/ui/")
    assert shell.status_code == 200
    assert shell.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="js/main.js"></script>' in shell.text

    redirect = await client.get("/ui")
    assert redirect.status_code in {307, 308}
    assert redirect.headers["location"].endswith("/ui/")


async def test_each_file_is_served_with_headers_that_keep_other_code_out(client: httpx.AsyncClient) -> None:
    for path, content_type in {
        "/ui/": "text/html",
        "/ui/js/main.js": "javascript",
        "/ui/app.css": "text/css",
        "/ui/pages.json": "application/json",
    }.items():
        response = await client.get(path)
        assert response.status_code == 200, path
        assert content_type in response.headers["content-type"], path
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["cache-control"] == "no-cache"
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY


async def test_a_file_that_does_not_exist_is_a_not_found_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/ui/js/nothing-here.js")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"


def test_the_pages_are_not_operations_of_the_api() -> None:
    assert [path for path in openapi_document()["paths"] if path.startswith("/ui")] == []


MODULES = sorted(STATIC.glob("js/**/*.js"))


def test_every_module_a_page_or_module_loads_exists() -> None:
    modules = MODULES
    assert STATIC / "js" / "main.js" in modules
    for module in modules:
        for reference in MODULE_REFERENCE.findall(module.read_text(encoding="utf-8")):
            assert (module.parent / reference).resolve().is_file(), f"{module.name} loads missing {reference}"
    for page in manifest()["pages"]:
        if page["module"]:
            assert (STATIC / page["module"]).is_file(), page["id"]


async def test_every_module_loads_in_the_browser(page: Page) -> None:
    """Pages whose API is not there yet are never opened by the other tests; they must load all the same."""
    await page.goto("/ui/")
    modules = [f"/ui/{module.relative_to(STATIC)}" for module in MODULES]
    exports: list[list[str]] = await page.evaluate(
        "async (modules) => Promise.all(modules.map(async (m) => Object.keys(await import(m))))", modules
    )
    loaded = dict(zip(modules, exports, strict=True))
    assert "/ui/js/pages/admin/topups.js" in loaded
    for module, names in loaded.items():
        if "/pages/" in module:
            assert names == ["render"], module
