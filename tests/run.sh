#!/usr/bin/env bash
# Install everything the tests need on a fresh Debian/Ubuntu machine, then run ruff and pytest.
# Usage: bash tests/run.sh [pytest arguments]
# The set-up is the app's own (packaging/dev/setup.sh): the same .venv and the same torch
# ($NST_TORCH, default torch==2.13.0), plus the libraries Qt needs offscreen and the [test] extra.
set -euo pipefail
cd "$(dirname "$0")/.."
bash packaging/dev/setup.sh --test
.venv/bin/ruff check nst_desktop tests packaging
.venv/bin/python -m pytest "$@"
