"""ASGI entry point for process managers (``hypercorn coserver.asgi:app``): settings from the environment."""

from coserver.app import create_app
from coserver.config import load_settings
from coserver.runtime import ensure_database_url

_settings = load_settings()
app = create_app(_settings.with_overrides(database_url=ensure_database_url(_settings)))
