#!/usr/bin/env bash
# The one set-up of a source checkout, used by both README commands:
#   bash packaging/dev/setup.sh --window   system libraries of the window, .venv, torch, the app   (packaging/dev/run.sh)
#   bash packaging/dev/setup.sh --test     system libraries Qt needs offscreen, .venv, torch, the app with [test]   (tests/run.sh)
# Both may be given. Steps:
#  1. Debian/Ubuntu libraries that are missing, with apt-get (sudo when not root). Where that is not
#     possible (no apt-get, no root and no sudo) it says what to install and goes on.
#  2. .venv with $PYTHON (default python3.11, else python3; 3.10 or newer).
#  3. torch: ONE spec for the app and the tests, $NST_TORCH (pip arguments; default torch==2.13.0),
#     then the app, editable (pip install -e .). Skipped when nothing changed since the last run
#     (torch spec, pyproject.toml, extras: .venv/.nst-setup); NST_SETUP_FORCE=1 re-runs pip.
# Extras the user asks for: NST_EXTRAS=video (paint clips), farm (Ray batches), package (PyInstaller);
# several with commas: NST_EXTRAS=video,farm bash packaging/dev/setup.sh --window
set -euo pipefail
cd "$(dirname "$0")/../.."

WINDOW=0
TEST=0
for arg in "$@"; do
    case $arg in
        --window) WINDOW=1 ;;
        --test) TEST=1 ;;
        *) echo "usage: bash packaging/dev/setup.sh [--window] [--test]" >&2; exit 2 ;;
    esac
done
say() { printf 'setup: %s\n' "$*" >&2; }

# The extras to install with the app: [test] for --test, and those named in $NST_EXTRAS.
extras=()
if [ "$TEST" = 1 ]; then extras+=(test); fi
IFS=', ' read -r -a asked <<<"${NST_EXTRAS:-}"
for e in "${asked[@]}"; do
    case $e in
        video|farm|package|test) extras+=("$e") ;;
        "") ;;
        *) say "unknown extra '$e' in NST_EXTRAS: the extras are video, farm, package, test"; exit 2 ;;
    esac
done
if [ "${#extras[@]}" -gt 0 ]; then mapfile -t extras < <(printf '%s\n' "${extras[@]}" | awk '!seen[$0]++'); fi

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
command -v "$PY" >/dev/null 2>&1 || { say "no python3.11 or python3 found: install Python 3.10 or newer (sudo apt-get install python3 python3-venv)"; exit 1; }
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
    || { say "$("$PY" --version 2>&1) is too old: NST Desktop needs Python 3.10 or newer (set PYTHON=...)"; exit 1; }

# ---- 1. system libraries
packages=()
if [ "$WINDOW" = 1 ]; then
    # The libraries nst-desktop itself checks before it starts Qt's X11 window (by file, so that
    # renamed packages, e.g. Ubuntu's ...t64, count as installed); prints their Debian packages.
    while read -r p; do [ -n "$p" ] && packages+=("$p"); done < <("$PY" nst_desktop/system_libs.py)
fi
if [ "$TEST" = 1 ]; then
    # Qt offscreen (the tests) and one font.
    for p in libglib2.0-0 libfontconfig1 fonts-dejavu-core libegl1 libgl1 libdbus-1-3 libxkbcommon0 libx11-6; do
        status=$(dpkg-query -W -f='${Status}\n' "$p" "${p}t64" 2>/dev/null || true)
        grep -q 'ok installed' <<<"$status" || packages+=("$p")
    done
fi
if [ ! -x .venv/bin/python ] && ! "$PY" -c 'import ensurepip, venv' 2>/dev/null; then
    packages+=("python3-venv")   # Debian's Python has venv without pip until then
fi

if [ "${#packages[@]}" -gt 0 ]; then
    mapfile -t packages < <(printf '%s\n' "${packages[@]}" | awk '!seen[$0]++')
    SUDO=()
    if [ "$(id -u)" != 0 ]; then SUDO=(sudo); fi
    if ! command -v apt-get >/dev/null 2>&1; then
        say "not installed (no apt-get here): the Debian/Ubuntu packages ${packages[*]}; install your distribution's packages of the same libraries"
    elif [ "${#SUDO[@]}" -gt 0 ] && ! command -v sudo >/dev/null 2>&1; then
        say "not installed (not root and no sudo): ${packages[*]}; as root: apt-get install ${packages[*]}"
    else
        say "installing with apt-get: ${packages[*]}"
        apt=("${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get)
        if "${apt[@]}" update -qq; then
            # A name this release does not have: try its t64 name (Ubuntu 24.04), else leave it out.
            known=()
            has() { grep -q '^Package:' <<<"$(apt-cache show "$1" 2>/dev/null || true)"; }
            for p in "${packages[@]}"; do
                if has "$p"; then known+=("$p")
                elif has "${p}t64"; then known+=("${p}t64")
                else say "no package $p in this distribution: left out"
                fi
            done
            log=$(mktemp)
            if [ "${#known[@]}" -gt 0 ] && ! "${apt[@]}" install -y -qq --no-install-recommends "${known[@]}" >"$log" 2>&1; then
                cat "$log" >&2
                say "apt-get install failed: install them yourself: sudo apt-get install ${known[*]}"
            fi
            rm -f "$log"
        else
            say "apt-get update failed: install them yourself: sudo apt-get install ${packages[*]}"
        fi
    fi
fi

# ---- 2. virtual environment
if [ ! -x .venv/bin/python ]; then
    say "creating .venv with $("$PY" --version 2>&1)"
    "$PY" -m venv .venv
fi

# ---- 3. torch (one spec for the app and the tests), then the app
TORCH=${NST_TORCH:-torch==2.13.0}
read -r -a torch_args <<<"$TORCH"
extra=""
want=(base)
if [ "${#extras[@]}" -gt 0 ]; then extra="[$(IFS=,; echo "${extras[*]}")]"; want=("${extras[@]}"); fi
STAMP=.venv/.nst-setup   # line 1: torch spec and pyproject.toml's hash; then what was installed: base, test, video...
key="$TORCH $(sha256sum pyproject.toml | cut -d' ' -f1)"
have=()
if [ -f "$STAMP" ] && [ "$(head -n 1 "$STAMP")" = "$key" ]; then mapfile -t have < <(tail -n +2 "$STAMP"); fi
missing=0
for w in "${want[@]}"; do
    pattern=$w
    if [ "$w" = base ]; then pattern="base|.+"; fi   # every extra includes the app
    printf '%s\n' "${have[@]}" | grep -qxE "$pattern" || missing=1
done
if [ "${NST_SETUP_FORCE:-0}" = 1 ] || [ "$missing" = 1 ]; then
    pip=(.venv/bin/python -m pip install -q --disable-pip-version-check)
    say "pip install ${torch_args[*]}, then the app: -e .$extra"
    "${pip[@]}" "${torch_args[@]}"
    "${pip[@]}" -e ".$extra"
    printf '%s\n' "$key" "${have[@]}" "${want[@]}" | awk 'NF && !seen[$0]++' >"$STAMP"
fi
