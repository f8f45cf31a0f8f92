#!/usr/bin/env bash
# Install what the app needs (packaging/dev/setup.sh --window: system libraries, .venv, torch,
# the app), then start the window: bash packaging/dev/run.sh [CONTENT [STYLE]]
set -euo pipefail
cd "$(dirname "$0")/../.."
bash packaging/dev/setup.sh --window
exec .venv/bin/nst-desktop "$@"
