"""The search page at `/`: plain HTML, CSS and JS from app/static, no build step.

Kept out of the OpenAPI schema: it is a page for people, not part of the API.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse

from app.errors import ApiError

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
# Only these files are served (no directory listing, no path tricks); the page must work offline,
# so it loads nothing from anywhere else.
ASSETS = {"search.css": "text/css", "search.js": "text/javascript"}
# The files change with the code, not per request; a short cache keeps a reload after an upgrade
# from showing a stale script for long.
_CACHE = {"Cache-Control": "public, max-age=300"}

router = APIRouter(include_in_schema=False)


@lru_cache(maxsize=1)
def _page_template() -> str:
    return (STATIC_DIR / "index.html").read_text(encoding="utf-8")


@router.get("/")
async def index_page(request: Request) -> HTMLResponse:
    # The input's maxlength is the server's own limit, so the box stops where the API would refuse.
    limit = request.app.state.service.settings.max_query_chars
    html = _page_template().replace("{{max_query_chars}}", str(int(limit)))
    return HTMLResponse(html, headers={"Cache-Control": "no-cache"})


# Browsers ask for /favicon.ico on their own; an SVG answers it (every current browser shows one)
# instead of a 404 in the log and the metrics for each page view.
@router.get("/favicon.ico")
async def favicon() -> FileResponse:
    return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml", headers=_CACHE)


@router.get("/static/{name}")
async def static_asset(name: str) -> FileResponse:
    if name not in ASSETS:
        raise ApiError(404, "not_found", f"no static file {name!r}")
    return FileResponse(STATIC_DIR / name, media_type=ASSETS[name], headers=_CACHE)
