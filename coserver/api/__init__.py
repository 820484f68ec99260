"""JSON API (``/api/v1``), validated and documented with quart-schema (OpenAPI at ``/openapi.json``)."""

from quart import Blueprint

blueprint = Blueprint("api", __name__)

from coserver.api import elements, opendata, posts, search, timelines  # noqa: E402,F401  (routes register on import)
