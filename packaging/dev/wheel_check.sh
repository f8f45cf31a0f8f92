#!/usr/bin/env bash
# The wheel works on its own: build it from this checkout, install it into a fresh venv with the README's
# torch ($NST_TORCH, default torch==2.13.0, as packaging/dev/setup.sh), then, outside the checkout, run
# `nst-desktop --self-test` and a 64 px `nst-desktop-cli stylize`. Run by .ci/run after the tests.
# Usage: bash packaging/dev/wheel_check.sh   (after packaging/dev/setup.sh, whose .venv builds the wheel)
set -euo pipefail
cd "$(dirname "$0")/../.."
say() { printf 'wheel check: %s\n' "$*" >&2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

.venv/bin/python -m pip wheel --no-deps --no-build-isolation -q -w "$work/dist" .
wheel=$(ls "$work"/dist/nst_desktop-*.whl)
say "built $(basename "$wheel")"
.venv/bin/python - "$wheel" <<'PY'
# Every package of the checkout is in the wheel (a sub-package missing from pyproject.toml would not be).
import sys, zipfile
from pathlib import Path
names = set(zipfile.ZipFile(sys.argv[1]).namelist())
missing = [str(p) for p in Path("nst_desktop").rglob("*.py") if str(p) not in names]
if missing:
    sys.exit(f"wheel check: the wheel lacks {', '.join(sorted(missing))}")
PY

"$(.venv/bin/python -c 'import sys; print(sys._base_executable)')" -m venv "$work/venv"
# shellcheck disable=SC2086  # NST_TORCH is pip arguments
"$work/venv/bin/pip" install -q ${NST_TORCH:-torch==2.13.0} "$wheel"
cd "$work"  # not the checkout: what runs is the installed package
venv/bin/nst-desktop --self-test
venv/bin/python - <<'PY'
from PIL import Image, ImageDraw
photo = Image.new("RGB", (80, 60), (190, 210, 235))
ImageDraw.Draw(photo).rectangle((20, 15, 60, 50), fill=(200, 90, 40))
painting = Image.new("RGB", (64, 64), (30, 40, 100))
for i in range(0, 64, 8):
    ImageDraw.Draw(painting).line((0, i, 64, 64 - i), fill=(240, 200, 60), width=3)
photo.save("photo.png")
painting.save("painting.png")
PY
venv/bin/nst-desktop-cli stylize photo.png painting.png -o painted.png --size 64 --steps 4 --quiet
test -s painted.png
say "the installed wheel ran --self-test and stylize"
