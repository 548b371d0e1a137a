"""The front door: ``/`` leads to the console, and ``/docs`` is the browsable API reference.

``/docs`` is FastAPI's OpenAPI document in Swagger UI, every byte of it served by zohokit:
the Swagger UI 5 files come from the ``swagger-ui-bundle-v2`` package (the swagger-ui dist
files vendored on PyPI by connexion's maintainers), never from a CDN, so it works on a machine
with no internet. It is open in sandbox mode and needs a logged-in admin session otherwise
(without one, the login page). The document a browser reads is ``/docs/openapi.json`` under
the same rule; ``/openapi.json`` keeps taking an API key, for programs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import swagger_ui_bundle
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response

from ._state import ServiceState, State

__all__ = ["DOCS_CSP", "router"]

router = APIRouter(include_in_schema=False)

#: Where Swagger UI's files are, inside the installed package.
_DIST: Final = Path(swagger_ui_bundle.swagger_ui_path)
#: Our own script that starts Swagger UI (a file, so the page needs no inline script).
_INIT: Final = Path(__file__).with_name("static") / "docs-init.js"
#: The files ``/docs/assets/`` serves, and nothing else (no path ever reaches the disk).
_ASSETS: Final = {
    "swagger-ui-bundle.js": (_DIST / "swagger-ui-bundle.js", "text/javascript"),
    "swagger-ui.css": (_DIST / "swagger-ui.css", "text/css"),
    "favicon-32x32.png": (_DIST / "favicon-32x32.png", "image/png"),
    "docs-init.js": (_INIT, "text/javascript"),
}
#: Swagger UI runs scripts and fetches the document, from this origin only.
DOCS_CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)

_PAGE: Final = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>API · zohokit</title>
<link rel="icon" href="/docs/assets/favicon-32x32.png">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
<p style="font: 14px system-ui, sans-serif; margin: .5rem 1rem">
<a href="/admin">← console</a> · the API takes a key: Authorize with one from ZOHOKIT_API_KEYS
(in the sandbox, the key <code>make run</code> printed).</p>
<div id="swagger-ui" data-url="/docs/openapi.json"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/docs-init.js"></script>
</body>
</html>
"""


async def _may_read_docs(state: ServiceState, request: Request) -> bool:
    """Sandbox mode, or a live admin session."""
    if state.emulator is not None:
        return True
    return await state.sessions.read(request.headers) is not None


@router.get("/")
async def front_door() -> Response:
    """``/`` is the console (its login page when there is no session)."""
    return RedirectResponse("/admin", status_code=303)


@router.get("/docs")
async def docs_page(request: Request, state: State) -> Response:
    """Swagger UI over the service's OpenAPI document; without access, the login page."""
    if not await _may_read_docs(state, request):
        return RedirectResponse("/admin", status_code=303)
    return HTMLResponse(_PAGE, headers={"Content-Security-Policy": DOCS_CSP})


@router.get("/docs/openapi.json")
async def docs_document(request: Request, state: State) -> Response:
    """The OpenAPI document for the browser (sandbox mode or a live admin session)."""
    if not await _may_read_docs(state, request):
        raise HTTPException(status_code=401, detail="log in on the admin page first")
    return JSONResponse(request.app.openapi())


@router.get("/docs/assets/{name}")
async def docs_asset(name: str) -> Response:
    """One of Swagger UI's files (public, the same for everyone: cached for a day)."""
    found = _ASSETS.get(name)
    if found is None:
        raise HTTPException(status_code=404, detail=f"no asset {name!r}")
    path, media_type = found
    cache = {"Cache-Control": "public, max-age=86400"}
    return FileResponse(path, media_type=media_type, headers=cache)
