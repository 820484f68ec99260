#!/usr/bin/env bash
# Bootstrap a development / first-run environment on Debian or Ubuntu (called by `make run` and `make test`).
#
#   deploy/bootstrap.sh [--test]
#
# 1. System packages, installed with apt when missing (as root, or through sudo without a password):
#    PostgreSQL server + PostGIS (always); with --test also Node.js/npm (fedify interop peer) and Chromium
#    (browser tests).
# 2. A virtualenv in .venv with coserver installed (editable) and its dev tools; redone only when
#    pyproject.toml changes.
# 3. With --test: the pinned npm packages of the fedify peer (tests/interop/fedify, `npm ci`).
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1
say() { printf 'bootstrap: %s\n' "$*"; }
die() { printf 'bootstrap: error: %s\n' "$*" >&2; exit 1; }

# --- Python ------------------------------------------------------------------------------------------
PYTHON="${PYTHON:-python3}"
command -v "$PYTHON" >/dev/null || die "python3 is missing: install Python 3.11 or newer"
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
  || die "coserver needs Python 3.11 or newer ($("$PYTHON" --version 2>&1) found)"

# --- apt helpers ---------------------------------------------------------------------------------------
APT_UPDATED=0
apt_install() {
  local sudo_cmd=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo_cmd="sudo -n"; else
      die "missing system packages: $*. Install them with: sudo apt-get install -y $*"
    fi
  fi
  command -v apt-get >/dev/null || die "missing system packages ($*) and no apt-get here: install them by hand"
  if [ "$APT_UPDATED" -eq 0 ]; then
    say "apt-get update"
    $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
    APT_UPDATED=1
  fi
  say "apt-get install $*"
  $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null
}

pg_version() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin/postgres 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$bin" ] && basename "$(dirname "$(dirname "$bin")")"
}

# --- PostgreSQL + PostGIS --------------------------------------------------------------------------------
need=()
[ -n "$(pg_version)" ] || need+=(postgresql postgresql-contrib)
[ ${#need[@]} -eq 0 ] || apt_install "${need[@]}"
PGV=$(pg_version)
[ -n "$PGV" ] || die "PostgreSQL server still missing after install"
if [ ! -f "/usr/share/postgresql/$PGV/extension/postgis.control" ]; then
  apt_install "postgresql-$PGV-postgis-3"
fi
# The Debian package enables a system cluster; coserver does not use it (it runs its own under var/).

# --- virtualenv ------------------------------------------------------------------------------------------
if ! "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null; then
  pyver=$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
  apt_install "python${pyver}-venv" || apt_install python3-venv
fi
STAMP=.venv/.installed
if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  "$PYTHON" -m venv .venv
fi
if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
  say "installing coserver and its dependencies into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[dev]'
  touch "$STAMP"
fi

# --- test-only tools ---------------------------------------------------------------------------------------
if [ "$want_test" -eq 1 ]; then
  tneed=()
  command -v node >/dev/null && command -v npm >/dev/null || tneed+=(nodejs npm)
  [ -x /usr/bin/chromium ] || tneed+=(chromium)
  [ ${#tneed[@]} -eq 0 ] || apt_install "${tneed[@]}"
  peer=tests/interop/fedify
  if [ -f "$peer/package-lock.json" ] && { [ ! -d "$peer/node_modules" ] || [ "$peer/package-lock.json" -nt "$peer/node_modules" ]; }; then
    say "npm ci in $peer"
    (cd "$peer" && npm ci --no-audit --no-fund --loglevel=error >/dev/null && touch node_modules)
  fi
fi
say "ready"
