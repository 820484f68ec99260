"""Settings from the environment and TOML, and one-line errors for bad values."""

from __future__ import annotations

import os
import stat

import pytest

from coserver.config import ConfigError, load_settings


def test_defaults(tmp_path):
    s = load_settings({"COSERVER_DATA_DIR": str(tmp_path)})
    assert s.base_url == "http://127.0.0.1:8000"
    assert s.bind == "127.0.0.1:8000"
    assert s.database_url is None
    assert s.domain == "127.0.0.1:8000"
    assert s.event_loop == "uvloop"


def test_environment_values(tmp_path):
    s = load_settings(
        {
            "COSERVER_DATA_DIR": str(tmp_path),
            "COSERVER_BASE_URL": "https://Territoire.Example/",
            "COSERVER_BIND": "127.0.0.1:8101",
            "DATABASE_URL": "postgresql://u:p@db:5432/co",
            "COSERVER_TERRITORY_LAT": "48.11",
            "COSERVER_TERRITORY_LON": "-1.68",
            "COSERVER_TERRITORY_NAME": "Rennes",
            "COSERVER_ALLOW_PRIVATE_ADDRESSES": "yes",
            "COSERVER_TIMEZONE": "Europe/Paris",
            "COSERVER_EVENT_LOOP": "AsyncIO",
        }
    )
    assert s.base_url == "https://territoire.example"
    assert s.domain == "territoire.example"
    assert s.database_url == "postgresql+asyncpg://u:p@db:5432/co"
    assert (s.territory_lat, s.territory_lon, s.territory_name) == (48.11, -1.68, "Rennes")
    assert s.allow_private_addresses is True
    assert s.timezone == "Europe/Paris"
    assert s.event_loop == "asyncio"


@pytest.mark.parametrize(
    ("var", "value", "needle"),
    [
        ("COSERVER_BASE_URL", "ftp://x", "COSERVER_BASE_URL"),
        ("COSERVER_BASE_URL", "https://x.example/sub", "without a path"),
        ("COSERVER_BIND", "nowhere", "COSERVER_BIND"),
        ("DATABASE_URL", "mysql://x", "DATABASE_URL"),
        ("COSERVER_TERRITORY_LAT", "91", "between -90 and 90"),
        ("COSERVER_TERRITORY_LON", "east", "must be a number"),
        ("COSERVER_TERRITORY_ZOOM", "30", "COSERVER_TERRITORY_ZOOM"),
        ("COSERVER_ALLOW_PRIVATE_ADDRESSES", "maybe", "true or false"),
        ("COSERVER_TIMEZONE", "Mars/Olympus", "IANA"),
        ("COSERVER_SECRET_KEY", "short", "16 characters"),
        ("COSERVER_EVENT_LOOP", "trio", "uvloop or asyncio"),
    ],
)
def test_bad_values_give_one_line_errors(tmp_path, var, value, needle):
    with pytest.raises(ConfigError) as info:
        load_settings({"COSERVER_DATA_DIR": str(tmp_path), var: value})
    message = str(info.value)
    assert needle in message
    assert "\n" not in message


def test_toml_file_and_environment_precedence(tmp_path):
    conf = tmp_path / "coserver.toml"
    conf.write_text('base_url = "https://from-file.example"\nterritory_name = "Fichier"\n')
    s = load_settings(
        {"COSERVER_CONFIG": str(conf), "COSERVER_DATA_DIR": str(tmp_path), "COSERVER_TERRITORY_NAME": "Env"}
    )
    assert s.base_url == "https://from-file.example"
    assert s.territory_name == "Env"


def test_toml_unknown_key_and_missing_file(tmp_path):
    conf = tmp_path / "bad.toml"
    conf.write_text("colour = 'blue'\n")
    with pytest.raises(ConfigError, match="unknown setting"):
        load_settings({"COSERVER_CONFIG": str(conf), "COSERVER_DATA_DIR": str(tmp_path)})
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings({"COSERVER_CONFIG": str(tmp_path / "nope.toml")})


def test_secret_key_generated_once_and_private(tmp_path):
    first = load_settings({"COSERVER_DATA_DIR": str(tmp_path / "d")})
    second = load_settings({"COSERVER_DATA_DIR": str(tmp_path / "d")})
    assert len(first.secret_key) >= 32
    assert first.secret_key == second.secret_key
    mode = stat.S_IMODE(os.stat(tmp_path / "d" / "secret_key").st_mode)
    assert mode == 0o600
