"""The web pages under `/ui/`: static HTML, CSS and JavaScript modules, served by the service.

They hold no data and no rule: every figure they show and every action they take is a call to
the JSON API carrying the user's Bearer token, so they are served without one. A mount is no
route, so they stay out of the OpenAPI document. How a feature adds a page: CONVENTIONS.md.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UI_PATH = "/ui"
STATIC_DIRECTORY = str(files(__package__) / "static")

# The token lives in sessionStorage, so nothing but our own files may run or be loaded here,
# and no other site may frame the pages.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Revalidated on every load (ETag), so a new release of the service is a new release of its pages.
    "Cache-Control": "no-cache",
}


class WithPageHeaders:
    """Adds PAGE_HEADERS to every answer of the wrapped app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in PAGE_HEADERS.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def serve_ui(app: FastAPI) -> None:
    """Serve the pages at `/ui/` (`/ui` redirects there); `index.html` is the shell of all of them."""
    app.mount(UI_PATH, WithPageHeaders(StaticFiles(directory=STATIC_DIRECTORY, html=True)), name="ui")
