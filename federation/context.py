"""What federation code needs at hand: settings, the database and an outbound HTTP client."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from coserver.config import Settings
from coserver.db import Database


@dataclass
class FederationContext:
    settings: Settings
    db: Database
    http: httpx.AsyncClient
