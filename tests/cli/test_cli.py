"""The `coserver` command, run as a real process against the test database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

COSERVER = [sys.executable, "-m", "coserver.cli.__main__"]


def run(args: list[str], env: dict[str, str], timeout: float = 120, input: str | None = None):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("COSERVER_", "DATABASE_URL"))}
    full_env.update(env)
    return subprocess.run(
        COSERVER + args, env=full_env, capture_output=True, text=True, timeout=timeout, input=input
    )


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "COSERVER_DATA_DIR": str(tmp_path / "data"),
        "COSERVER_SECRET_KEY": "cli-test-secret-0123456789",
    }


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"COSERVER_BASE_URL": "ftp://nowhere"}, "COSERVER_BASE_URL"),
        ({"COSERVER_TERRITORY_LAT": "123"}, "COSERVER_TERRITORY_LAT"),
        ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL"),
    ],
)
def test_bad_configuration_is_one_line_and_exit_1(tmp_path, env, needle):
    proc = run(["serve"], {"COSERVER_DATA_DIR": str(tmp_path), **env})
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("coserver: error:") and needle in lines[0]
    assert "Traceback" not in proc.stderr


def test_user_and_element_create(cli_env):
    proc = run(
        [
            "user",
            "create",
            "--username",
            "operatrice",
            "--email",
            "op@example.org",
            "--password",
            "s3cret-pass",
            "--admin",
        ],
        cli_env,
    )
    assert proc.returncode == 0, proc.stderr
    assert "created administrator operatrice" in proc.stdout
    proc = run(
        [
            "element",
            "create",
            "--kind",
            "event",
            "--username",
            "fete_du_quartier",
            "--name",
            "Fête",
            "--lat",
            "-21.34",
            "--lon",
            "55.48",
            "--admin",
            "operatrice",
            "--type",
            "festival",
            "--start",
            "2026-12-19T10:00",
            "--end",
            "2026-12-19T18:00",
            "--tags",
            "fete,quartier",
        ],
        cli_env,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("/actors/fete_du_quartier")
    # Invalid input: one line, exit 1.
    proc = run(["element", "create", "--kind", "event", "--username", "sans_date", "--name", "x"], cli_env)
    assert proc.returncode == 1
    assert proc.stderr.strip() == "coserver: error: an event needs a start date"
    proc = run(
        ["element", "create", "--kind", "project", "--username", "fete_du_quartier", "--name", "x"], cli_env
    )
    assert proc.returncode == 1 and "already taken" in proc.stderr


def test_db_status_without_cluster(tmp_path):
    proc = run(["db", "status"], {"COSERVER_DATA_DIR": str(tmp_path)})
    assert proc.returncode == 0
    assert "no cluster" in proc.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("event_loop", ["uvloop", "asyncio"])
def test_serve_answers_and_stops_on_sigterm(cli_env, event_loop):
    port = _free_port()
    env = {**cli_env, "COSERVER_BIND": f"127.0.0.1:{port}", "COSERVER_BASE_URL": f"http://127.0.0.1:{port}"}
    env["COSERVER_EVENT_LOOP"] = event_loop
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("COSERVER_", "DATABASE_URL"))}
    proc = subprocess.Popen(
        [*COSERVER, "serve"],
        env={**full_env, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert status == 200
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
