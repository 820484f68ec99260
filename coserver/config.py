"""Typed settings, read from the environment and optionally a TOML file.

Every setting has an environment variable (``COSERVER_*`` or ``DATABASE_URL``); a TOML file named by
``COSERVER_CONFIG`` may provide the same keys in lower case without the prefix (``base_url = ...``).
The environment wins over the file. Any invalid value raises :class:`ConfigError` with a one-line message;
the CLI prints it and exits with status 1.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


class ConfigError(Exception):
    """A configuration value is missing or invalid (the message is one line, meant for the operator)."""


@dataclass(frozen=True)
class Settings:
    """Everything the application needs to know about its environment."""

    base_url: str = "http://127.0.0.1:8000"
    bind: str = "127.0.0.1:8000"
    database_url: str | None = None
    data_dir: Path = Path("var")
    secret_key: str = ""
    territory_name: str = "La Réunion"
    territory_lat: float = -21.115
    territory_lon: float = 55.536
    territory_zoom: int = 10
    territory_radius_km: float = 100.0
    timezone: str = "Indian/Reunion"
    allow_private_addresses: bool = False
    open_registrations: bool = True
    workers: int = 1
    event_loop: str = "uvloop"  # or "asyncio"
    log_level: str = "info"
    default_locale: str = "fr"
    tile_url: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    geocoder: str = "none"  # none | nominatim | photon | addok (see coserver.geo.geocoder)
    geocoder_url: str = ""  # the provider's base URL; empty: the provider's public service
    geocoder_timeout: float = 5.0  # seconds, for one geocoding request as a whole
    smtp_url: str = ""  # smtp://user:password@host:port (smtps:// for TLS); empty: mails are logged
    mail_from: str = ""  # From: of outgoing mail; empty: noreply@<domain>
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def domain(self) -> str:
        """The host part of handles (``user@domain``): the base URL's host, with its port if not default."""
        return urlsplit(self.base_url).netloc

    @property
    def scheme(self) -> str:
        return urlsplit(self.base_url).scheme

    @property
    def territory(self) -> tuple[float, float, float]:
        """Centre latitude, longitude and radius (km): what "in the territory" means for remote posts."""
        return (self.territory_lat, self.territory_lon, self.territory_radius_km)

    def url(self, path: str) -> str:
        """An absolute URL on this node for ``path`` (which starts with ``/``)."""
        return self.base_url + path

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)


# (setting name, environment variable, parser)
def _parse_bool(name: str, raw: str | bool) -> bool:
    if isinstance(raw, bool):
        return raw
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")


def _parse_float(name: str, raw: str | float, low: float, high: float) -> float:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, not {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, not {value}")
    return value


def _parse_int(name: str, raw: str | int, low: int, high: int) -> int:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, not {value}")
    return value


def _parse_base_url(raw: str) -> str:
    value = raw.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigError(
            f"COSERVER_BASE_URL must be an http(s) origin such as https://territoire.example, not {raw!r}"
        )
    if parts.path or parts.query or parts.fragment:
        raise ConfigError(f"COSERVER_BASE_URL must be an origin without a path, not {raw!r}")
    try:
        parts.port  # noqa: B018 - validates the port
    except ValueError:
        raise ConfigError(f"COSERVER_BASE_URL has an invalid port: {raw!r}") from None
    return f"{parts.scheme}://{parts.netloc.lower()}"


def _parse_timezone(raw: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    value = raw.strip()
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"COSERVER_TIMEZONE must be an IANA time zone such as Europe/Paris, not {raw!r}"
        ) from None
    return value


def _parse_bind(raw: str) -> str:
    value = raw.strip()
    if value.startswith("unix:"):
        return value
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"COSERVER_BIND must look like 127.0.0.1:8000, not {raw!r}")
    return value


def _parse_database_url(raw: str) -> str | None:
    value = raw.strip()
    if not value:
        return None
    scheme = value.split("://", 1)[0] if "://" in value else ""
    if scheme in {"postgres", "postgresql", "postgresql+asyncpg"}:
        return "postgresql+asyncpg://" + value.split("://", 1)[1]
    raise ConfigError(
        f"DATABASE_URL must be a postgresql:// URL, not one starting with {scheme or value[:12]!r}"
    )


_LOCALES = {"fr", "en"}
GEOCODERS = ("none", "nominatim", "photon", "addok")
_LOG_LEVELS = {"debug", "info", "warning", "error"}

_ENV_KEYS = {
    "base_url": "COSERVER_BASE_URL",
    "bind": "COSERVER_BIND",
    "database_url": "DATABASE_URL",
    "data_dir": "COSERVER_DATA_DIR",
    "secret_key": "COSERVER_SECRET_KEY",
    "territory_name": "COSERVER_TERRITORY_NAME",
    "territory_lat": "COSERVER_TERRITORY_LAT",
    "territory_lon": "COSERVER_TERRITORY_LON",
    "territory_zoom": "COSERVER_TERRITORY_ZOOM",
    "territory_radius_km": "COSERVER_TERRITORY_RADIUS_KM",
    "timezone": "COSERVER_TIMEZONE",
    "allow_private_addresses": "COSERVER_ALLOW_PRIVATE_ADDRESSES",
    "open_registrations": "COSERVER_OPEN_REGISTRATIONS",
    "workers": "COSERVER_WORKERS",
    "event_loop": "COSERVER_EVENT_LOOP",
    "log_level": "COSERVER_LOG_LEVEL",
    "default_locale": "COSERVER_DEFAULT_LOCALE",
    "tile_url": "COSERVER_TILE_URL",
    "geocoder": "COSERVER_GEOCODER",
    "geocoder_url": "COSERVER_GEOCODER_URL",
    "geocoder_timeout": "COSERVER_GEOCODER_TIMEOUT",
    "smtp_url": "COSERVER_SMTP_URL",
    "mail_from": "COSERVER_MAIL_FROM",
}


def _parse_geocoder(raw: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "geocoder" in raw:
        name = str(raw["geocoder"]).strip().lower() or "none"
        if name not in GEOCODERS:
            raise ConfigError(
                f"COSERVER_GEOCODER must be one of {', '.join(GEOCODERS)}, not {raw['geocoder']!r}"
            )
        values["geocoder"] = name
    if "geocoder_url" in raw:
        url = str(raw["geocoder_url"]).strip().rstrip("/")
        parts = urlsplit(url)
        if url and (
            parts.scheme not in {"http", "https"}
            or not parts.hostname
            or parts.query
            or parts.fragment
            or parts.username
        ):
            raise ConfigError(
                f"COSERVER_GEOCODER_URL must be an http(s) URL such as https://nominatim.example, not {url!r}"
            )
        values["geocoder_url"] = url
    if "geocoder_timeout" in raw:
        values["geocoder_timeout"] = _parse_float(
            "COSERVER_GEOCODER_TIMEOUT", raw["geocoder_timeout"], 0.1, 60
        )
    return values


def _parse_mail(raw: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "smtp_url" in raw:
        url = str(raw["smtp_url"]).strip()
        parts = urlsplit(url)
        if url and (parts.scheme not in {"smtp", "smtps"} or not parts.hostname):
            raise ConfigError(
                f"COSERVER_SMTP_URL must look like smtp://user:password@host:587 or smtps://..., not {url!r}"
            )
        values["smtp_url"] = url
    if "mail_from" in raw:
        sender = str(raw["mail_from"]).strip()
        if sender and "@" not in sender:
            raise ConfigError(f"COSERVER_MAIL_FROM must be an email address, not {sender!r}")
        values["mail_from"] = sender
    return values


def _read_toml(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"COSERVER_CONFIG names a file that does not exist: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    unknown = set(data) - set(_ENV_KEYS)
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) {', '.join(sorted(unknown))}")
    return data


def load_settings(env: Mapping[str, str] | None = None, *, generate_secret: bool = True) -> Settings:
    """Build :class:`Settings` from ``env`` (default ``os.environ``) and the optional TOML file."""
    env = os.environ if env is None else env
    raw: dict[str, Any] = {}
    if env.get("COSERVER_CONFIG"):
        raw.update(_read_toml(env["COSERVER_CONFIG"]))
    for key, var in _ENV_KEYS.items():
        if var in env:
            raw[key] = env[var]

    values: dict[str, Any] = {}
    if "base_url" in raw:
        values["base_url"] = _parse_base_url(str(raw["base_url"]))
    if "bind" in raw:
        values["bind"] = _parse_bind(str(raw["bind"]))
    if "database_url" in raw:
        values["database_url"] = _parse_database_url(str(raw["database_url"]))
    if "data_dir" in raw:
        if not str(raw["data_dir"]).strip():
            raise ConfigError("COSERVER_DATA_DIR must not be empty")
        values["data_dir"] = Path(str(raw["data_dir"]))
    if "territory_name" in raw:
        values["territory_name"] = str(raw["territory_name"]).strip() or Settings.territory_name
    if "territory_lat" in raw:
        values["territory_lat"] = _parse_float("COSERVER_TERRITORY_LAT", raw["territory_lat"], -90, 90)
    if "territory_lon" in raw:
        values["territory_lon"] = _parse_float("COSERVER_TERRITORY_LON", raw["territory_lon"], -180, 180)
    if "territory_zoom" in raw:
        values["territory_zoom"] = _parse_int("COSERVER_TERRITORY_ZOOM", raw["territory_zoom"], 1, 19)
    if "territory_radius_km" in raw:
        values["territory_radius_km"] = _parse_float(
            "COSERVER_TERRITORY_RADIUS_KM", raw["territory_radius_km"], 1, 20000
        )
    if "timezone" in raw:
        values["timezone"] = _parse_timezone(str(raw["timezone"]))
    if "allow_private_addresses" in raw:
        values["allow_private_addresses"] = _parse_bool(
            "COSERVER_ALLOW_PRIVATE_ADDRESSES", raw["allow_private_addresses"]
        )
    if "open_registrations" in raw:
        values["open_registrations"] = _parse_bool("COSERVER_OPEN_REGISTRATIONS", raw["open_registrations"])
    if "workers" in raw:
        values["workers"] = _parse_int("COSERVER_WORKERS", raw["workers"], 1, 64)
    if "event_loop" in raw:
        loop = str(raw["event_loop"]).strip().lower()
        if loop not in ("uvloop", "asyncio"):
            raise ConfigError("COSERVER_EVENT_LOOP must be uvloop or asyncio")
        values["event_loop"] = loop
    if "log_level" in raw:
        level = str(raw["log_level"]).strip().lower()
        if level not in _LOG_LEVELS:
            raise ConfigError(f"COSERVER_LOG_LEVEL must be one of {', '.join(sorted(_LOG_LEVELS))}")
        values["log_level"] = level
    if "default_locale" in raw:
        locale = str(raw["default_locale"]).strip().lower()
        if locale not in _LOCALES:
            raise ConfigError(f"COSERVER_DEFAULT_LOCALE must be one of {', '.join(sorted(_LOCALES))}")
        values["default_locale"] = locale
    if "tile_url" in raw:
        tile = str(raw["tile_url"]).strip()
        if not tile.startswith(("http://", "https://", "/")) or "{z}" not in tile:
            raise ConfigError("COSERVER_TILE_URL must be a tile URL template containing {z}, {x} and {y}")
        values["tile_url"] = tile

    values.update(_parse_geocoder(raw))
    values.update(_parse_mail(raw))

    settings = Settings(**values)
    secret = str(raw.get("secret_key", "")).strip()
    if secret and len(secret) < 16:
        raise ConfigError("COSERVER_SECRET_KEY must be at least 16 characters long")
    if not secret and generate_secret:
        secret = _stored_secret(settings.data_dir)
    return replace(settings, secret_key=secret)


def _stored_secret(data_dir: Path) -> str:
    """Read the secret key kept in the data dir, creating it (mode 0600) on first use."""
    path = data_dir / "secret_key"
    try:
        if path.exists():
            value = path.read_text().strip()
            if len(value) >= 16:
                return value
        data_dir.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(value + "\n")
        return value
    except OSError as exc:
        raise ConfigError(f"cannot read or create the secret key in {data_dir}: {exc.strerror}") from None
