"""A private PostgreSQL + PostGIS cluster kept in the data dir (development, first start, tests).

When ``DATABASE_URL`` is unset coserver runs its own cluster with the system's PostgreSQL binaries: ``initdb``
into ``<data_dir>/pg/data``, no TCP listener (``listen_addresses=''``), a unix socket in ``<data_dir>/pg/run``
(or a short directory under /tmp when that path is too long for a socket), trust authentication for the
``coserver`` role. No system service is touched.

PostgreSQL refuses to run as root: when coserver runs as root, the cluster belongs to the unprivileged
``postgres`` user (created by Debian's ``postgresql-common``) and the binaries run under that uid.
"""

from __future__ import annotations

import asyncio
import glob
import hashlib
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import asyncpg

ROLE = "coserver"
EXTENSIONS = ("postgis", "unaccent", "pg_trgm")
_SOCKET_PATH_MAX = 100  # sun_path is 108 bytes; ".s.PGSQL.5432.lock" must fit too


class ClusterError(Exception):
    """The embedded cluster cannot be created or started (the message says what to install or fix)."""


@dataclass(frozen=True)
class _Binaries:
    bindir: Path
    version: str
    sharedir: Path


def find_binaries() -> _Binaries:
    """Locate the newest PostgreSQL server installed, and check that PostGIS is installed for it."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(Path(p).parent.parent.name)
    )
    if candidates:
        bindir = Path(candidates[-1]).parent
        version = bindir.parent.name
        sharedir = Path(f"/usr/share/postgresql/{version}")
    else:
        pg_config = shutil.which("pg_config")
        postgres = shutil.which("postgres")
        if not pg_config or not postgres:
            raise ClusterError(
                "PostgreSQL is not installed: install it with "
                "'apt-get install postgresql postgresql-15-postgis-3' (or set DATABASE_URL)"
            )
        bindir = Path(postgres).parent
        out = subprocess.run([pg_config, "--sharedir", "--version"], capture_output=True, text=True)
        sharedir_line, version_line = [*out.stdout.splitlines(), "", ""][:2]
        sharedir = Path(sharedir_line.strip())
        version = version_line.split()[-1].split(".")[0] if version_line else "?"
    for tool in ("initdb", "pg_ctl", "postgres"):
        if not (bindir / tool).exists():
            raise ClusterError(f"{bindir / tool} is missing: install the package postgresql-{version}")
    if not (sharedir / "extension" / "postgis.control").exists():
        raise ClusterError(
            f"PostGIS is not installed for PostgreSQL {version}: "
            f"install it with 'apt-get install postgresql-{version}-postgis-3' (or set DATABASE_URL)"
        )
    return _Binaries(bindir=bindir, version=version, sharedir=sharedir)


class EmbeddedCluster:
    """A PostgreSQL cluster living in ``root`` (``root/data``, ``root/run``, ``root/postgres.log``)."""

    def __init__(self, root: Path, *, port: int = 5432, fast: bool = False) -> None:
        self.root = root.resolve()
        self.pgdata = self.root / "data"
        self.logfile = self.root / "postgres.log"
        self.port = port
        self.fast = fast
        self.socket_dir = self._socket_dir()
        self._bins: _Binaries | None = None

    # -- paths and users -------------------------------------------------------------------------------
    def _socket_dir(self) -> Path:
        preferred = self.root / "run"
        if len(str(preferred)) + 20 <= _SOCKET_PATH_MAX:
            return preferred
        digest = hashlib.sha256(str(self.root).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"coserver-pg-{digest}"

    @property
    def bins(self) -> _Binaries:
        if self._bins is None:
            self._bins = find_binaries()
        return self._bins

    @staticmethod
    def _run_as() -> pwd.struct_passwd | None:
        """The unprivileged user to run PostgreSQL as when we are root (None: run as ourselves)."""
        if os.geteuid() != 0:
            return None
        for name in ("postgres", "nobody"):
            try:
                return pwd.getpwnam(name)
            except KeyError:
                continue
        raise ClusterError("running as root but no 'postgres' user exists: install the package postgresql")

    def _run(
        self, args: list[str], *, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess:
        user = self._run_as()
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
        kwargs: dict = {}
        if user is not None:
            kwargs.update(user=user.pw_uid, group=user.pw_gid, extra_groups=[])
            env["HOME"] = user.pw_dir
        proc = subprocess.run(
            args, capture_output=True, text=True, env=env, cwd="/", timeout=timeout, check=False, **kwargs
        )
        if check and proc.returncode != 0:
            detail = (proc.stderr or proc.stdout).strip().splitlines()
            raise ClusterError(f"{Path(args[0]).name} failed: {detail[-1] if detail else proc.returncode}")
        return proc

    def _prepare_dirs(self) -> None:
        user = self._run_as()
        for path in (self.root, self.socket_dir):
            path.mkdir(parents=True, exist_ok=True)
            os.chmod(path, 0o700)
            if user is not None:
                os.chown(path, user.pw_uid, user.pw_gid)
        if user is not None:
            # The unprivileged user must be able to reach the cluster directory.
            probe = subprocess.run(
                ["test", "-w", str(self.root)],
                user=user.pw_uid,
                group=user.pw_gid,
                extra_groups=[],
                check=False,
            )
            if probe.returncode != 0:
                raise ClusterError(
                    f"the '{user.pw_name}' user cannot reach {self.root}: put the data dir where it can "
                    "(COSERVER_DATA_DIR) or make the parent directories traversable (chmod o+x)"
                )

    # -- lifecycle -------------------------------------------------------------------------------------
    @property
    def initialised(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists()

    def init(self) -> bool:
        """Create the cluster if it does not exist. Returns True when it was created now."""
        if self.initialised:
            self._prepare_dirs()
            return False
        bins = self.bins
        self._prepare_dirs()
        self._run(
            [
                str(bins.bindir / "initdb"),
                "-D",
                str(self.pgdata),
                "-U",
                ROLE,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-instructions",
            ]
        )
        settings = [
            "listen_addresses = ''",
            f"unix_socket_directories = '{self.socket_dir}'",
            f"port = {self.port}",
            "max_connections = 200",
            "shared_buffers = 256MB",
            "work_mem = 16MB",
            "maintenance_work_mem = 256MB",
            "logging_collector = off",
            "log_min_messages = warning",
            "timezone = 'UTC'",
        ]
        if self.fast:  # throwaway test clusters: durability is not needed
            settings += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
        conf = self.pgdata / "postgresql.auto.conf"
        with open(conf, "a") as fh:
            fh.write("\n# written by coserver\n" + "\n".join(settings) + "\n")
        return True

    def is_running(self) -> bool:
        if not self.initialised:
            return False
        proc = self._run([str(self.bins.bindir / "pg_ctl"), "status", "-D", str(self.pgdata)], check=False)
        return proc.returncode == 0

    def start(self) -> bool:
        """Start the cluster (creating it first if needed). Returns True if this call started it."""
        self.init()
        if self.is_running():
            return False
        self._prepare_dirs()
        user = self._run_as()
        if not self.logfile.exists():
            self.logfile.touch()
        if user is not None:
            os.chown(self.logfile, user.pw_uid, user.pw_gid)
        proc = self._run(
            [
                str(self.bins.bindir / "pg_ctl"),
                "start",
                "-D",
                str(self.pgdata),
                "-l",
                str(self.logfile),
                "-w",
                "-t",
                "60",
                "-o",
                f"-k {self.socket_dir}",
            ],
            check=False,
        )
        if proc.returncode != 0:
            tail = self.logfile.read_text(errors="replace").strip().splitlines()[-3:]
            raise ClusterError("PostgreSQL did not start: " + (" | ".join(tail) or proc.stderr.strip()))
        return True

    def stop(self) -> bool:
        """Stop the cluster if it runs (fast shutdown: clients disconnected, data flushed)."""
        if not self.is_running():
            return False
        self._run([str(self.bins.bindir / "pg_ctl"), "stop", "-D", str(self.pgdata), "-m", "fast", "-w"])
        return True

    def status(self) -> str:
        if not self.initialised:
            return f"no cluster in {self.pgdata}"
        state = "running" if self.is_running() else "stopped"
        return f"{state}: {self.pgdata} (socket {self.socket_dir}, PostgreSQL {self.bins.version})"

    # -- databases -------------------------------------------------------------------------------------
    def url(self, dbname: str) -> str:
        return f"postgresql+asyncpg://{ROLE}@/{dbname}?host={self.socket_dir}&port={self.port}"

    async def _connect(self, dbname: str) -> asyncpg.Connection:
        return await asyncpg.connect(user=ROLE, database=dbname, host=str(self.socket_dir), port=self.port)

    async def create_database(
        self, dbname: str, *, template: str | None = None, exist_ok: bool = True
    ) -> bool:
        """Create ``dbname`` (from ``template`` if given) with the extensions coserver needs."""
        conn = await self._connect("postgres")
        try:
            exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", dbname)
            if exists and exist_ok:
                created = False
            else:
                tpl = f' TEMPLATE "{template}"' if template else ""
                await conn.execute(f'CREATE DATABASE "{dbname}"{tpl}')
                created = True
        finally:
            await conn.close()
        if not template:
            conn = await self._connect(dbname)
            try:
                for ext in EXTENSIONS:
                    await conn.execute(f"CREATE EXTENSION IF NOT EXISTS {ext}")
            finally:
                await conn.close()
        return created

    async def drop_database(self, dbname: str) -> None:
        conn = await self._connect("postgres")
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        finally:
            await conn.close()

    def ensure_database(self, dbname: str) -> bool:
        return asyncio.run(self.create_database(dbname))
