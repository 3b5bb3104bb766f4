"""The explorer's pages and the files they load.

Two HTML pages (the order book at ``/`` and one order at ``/orders/{hash}``)
and a fixed set of scripts and styles under ``/explorer/``: the explorer's own
files in ``static/`` beside this module, and the chart library (uPlot) from
the npm package installed in ``node_modules/`` at the repository root (the
Dockerfile installs it the same way). Only names in that set are served, so no
request path ever reaches the file system. The pages load nothing from
anywhere else: their Content-Security-Policy allows this origin only.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import structlog
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from relayer.errors import NotFoundError
from relayer.orders.book import OrderBook

log = structlog.get_logger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
NODE_MODULES = Path(__file__).resolve().parents[3] / "node_modules"
VENDOR = {
    "uPlot.iife.min.js": "uplot/dist/uPlot.iife.min.js",
    "uPlot.min.css": "uplot/dist/uPlot.min.css",
}
"""Served name -> path under ``node_modules`` (package.json pins the version)."""
MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
}
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
        " connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
    "Cache-Control": "no-cache",
}
ASSET_HEADERS = {"Cache-Control": "no-cache"}


def asset_files(static_dir: Path = STATIC_DIR, node_modules: Path = NODE_MODULES
                ) -> dict[str, Path]:
    """Every file ``/explorer/{name}`` serves, by name."""
    files = {path.name: path for path in sorted(static_dir.iterdir())
             if path.suffix in MEDIA_TYPES and path.suffix != ".html"}
    for name, relative in VENDOR.items():
        path = node_modules / relative
        if path.is_file():
            files[name] = path
        else:
            log.warning("explorer_asset_missing", asset=name, path=str(path),
                        hint="run npm install (make install): the chart stays empty")
    return files


class ExplorerPages:
    def __init__(self, book: OrderBook, *, assets: Mapping[str, Path] | None = None,
                 static_dir: Path = STATIC_DIR) -> None:
        self._book = book
        self._assets = dict(asset_files(static_dir) if assets is None else assets)
        self._book_page = static_dir / "book.html"
        self._order_page = static_dir / "order.html"

    async def book(self, request: Request) -> Response:
        return _page(self._book_page)

    async def order(self, request: Request) -> Response:
        """The order page; for an unknown order the same page answers 404, and says so."""
        known = self._book.get(request.path_params["order_hash"]) is not None
        return _page(self._order_page, status_code=200 if known else 404)

    async def asset(self, request: Request) -> Response:
        name = request.path_params["name"]
        path = self._assets.get(name)
        if path is None:
            raise NotFoundError(f"no explorer file {name!r}", code="NOT_FOUND")
        return FileResponse(path, media_type=MEDIA_TYPES[path.suffix],
                            headers=ASSET_HEADERS)


def _page(path: Path, *, status_code: int = 200) -> Response:
    return FileResponse(path, status_code=status_code, media_type=MEDIA_TYPES[".html"],
                        headers=PAGE_HEADERS)
