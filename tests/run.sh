#!/usr/bin/env bash
# Install everything the tests need on a fresh Debian/Ubuntu machine, then run ruff and pytest.
# Usage: bash tests/run.sh [pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

# System libraries Qt needs to run offscreen (and Xvfb for the screenshot script).
QT_LIBS="libglib2.0-0 libfontconfig1 fonts-dejavu-core libegl1 libgl1 libdbus-1-3 libxkbcommon0 libx11-6"
if command -v apt-get >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    missing=""
    for p in $QT_LIBS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
    if [ -n "$missing" ]; then
        $SUDO apt-get update -qq
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
    fi
fi

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check torch==2.13.0 -e '.[test]'
.venv/bin/ruff check nst_desktop tests packaging
.venv/bin/python -m pytest "$@"
