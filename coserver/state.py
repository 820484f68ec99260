"""Per-application state (settings and database), reachable from request handlers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from quart import current_app

from coserver.config import Settings
from coserver.db import Database

if TYPE_CHECKING:
    import httpx

EXTENSION_KEY = "coserver"


@dataclass
class AppState:
    settings: Settings
    db: Database | None = None
    http: httpx.AsyncClient | None = None


def app_state() -> AppState:
    return current_app.extensions[EXTENSION_KEY]


def settings() -> Settings:
    return app_state().settings


def db() -> Database:
    database = app_state().db
    if database is None:
        raise RuntimeError("the database is not open: the app is not serving")
    return database
