"""Server-rendered pages (HTML). Web code never builds ActivityStreams."""

from quart import Blueprint

blueprint = Blueprint("web", __name__, template_folder="templates")

from coserver.web import feeds, health, pages  # noqa: E402,F401  (routes register on import)
