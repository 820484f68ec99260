"""``/healthz``: the node answers and its database (with PostGIS) does too."""

from __future__ import annotations

import asyncio

from quart import jsonify

from coserver import __version__
from coserver.state import db
from coserver.web import blueprint


@blueprint.get("/healthz")
async def healthz():
    try:
        postgis = await asyncio.wait_for(db().ping(), timeout=5)
    except Exception as exc:  # any database failure is a 503, with its reason
        return jsonify({"status": "error", "database": type(exc).__name__, "version": __version__}), 503
    return jsonify({"status": "ok", "database": "ok", "postgis": postgis, "version": __version__})
