"""Third-party front-end files served from their registry packages (xstatic), never from a CDN."""

from __future__ import annotations

from pathlib import Path

import xstatic.pkg.leaflet as leaflet
import xstatic.pkg.leaflet_markercluster as markercluster
from quart import abort, send_from_directory

from coserver.web import blueprint

VENDORS: dict[str, Path] = {
    "leaflet": Path(leaflet.BASE_DIR),
    "markercluster": Path(markercluster.BASE_DIR),
}
_CACHE_SECONDS = 7 * 24 * 3600


@blueprint.get("/static/vendor/<vendor>/<path:filename>")
async def vendor_file(vendor: str, filename: str):
    base = VENDORS.get(vendor)
    if base is None:
        abort(404)
    response = await send_from_directory(base, filename)
    response.cache_control.public = True
    response.cache_control.max_age = _CACHE_SECONDS
    return response
