#!/usr/bin/env bash
# Install everything the tests need on a fresh Debian/Ubuntu machine, then run ruff and pytest.
# Usage: bash tests/run.sh [pytest arguments]   (e.g. -m "not slow": the quick loop)
# The set-up is the app's own (packaging/dev/setup.sh): the same .venv and the same torch
# ($NST_TORCH, default torch==2.13.0), plus the libraries Qt needs offscreen and the [test] extra.
set -euo pipefail
cd "$(dirname "$0")/.."
bash packaging/dev/setup.sh --test
.venv/bin/ruff check nst_desktop tests packaging
# One pytest worker per core, at most 4 (pytest-xdist): each test process computes with one torch
# thread (tests/conftest.py), so two workers keep a 2-core machine busy where one left a core
# idle between the network's small convolutions. NST_TEST_WORKERS=N chooses (0: one process);
# an -n among the arguments wins too.
workers=${NST_TEST_WORKERS:-$(( $(nproc) < 4 ? $(nproc) : 4 ))}
.venv/bin/python -m pytest -n "$workers" "$@"
