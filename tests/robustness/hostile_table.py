"""The table of hostile cases tried / held / fixed (issue 31): each case of the fixed corpus of
``test_hostile_files.py`` run through the six ways a file enters the app, against a checkout's code.

    python tests/robustness/hostile_table.py                    # this checkout
    python tests/robustness/hostile_table.py --before OLD_CHECKOUT   # and an older one, side by side

Each case runs in its own process with a fake ``gs`` first on PATH (it leaves a marker if started) and a
time limit (a hang counts as one). An outcome is "line" (the app's error, one line naming the file), "ok"
(a result), or what went wrong: "TRACEBACK <type>", "HANG", "GS-RAN", "MULTI-LINE". Uses only the
functions both old and new code have. Not a test module: it is what the report's table was made with.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve()
REPO = HERE.parents[2]

EVALUATE = r"""
import contextlib, io, json, os, signal, sys, time
from pathlib import Path
path, marker = Path(sys.argv[1]), Path(sys.argv[2])
from nst_desktop import cli
try:
    from nst_desktop.cli.stylize import _stored_masks as stored_masks  # the CLI as a package
except ImportError:
    stored_masks = cli._stored_masks  # the CLI as one module (older code)
from nst_desktop.engine import EngineError, load_image, read_metadata
from nst_desktop.engine.params import StyleParams
from nst_desktop.services import batch as B
from nst_desktop.services.batch_run import read_meta
from nst_desktop.services.restore import read_plan

def info(p):
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        rc = cli.main(["info", str(p)])
    if rc:
        raise EngineError(err.getvalue().strip().removeprefix("nst-desktop-cli: error: "))

def batch(p):
    photo = p.parent / "batch-photo.png"
    from PIL import Image
    Image.new("RGB", (8, 8)).save(photo)
    item = B.BatchItem(photo, photo, StyleParams(size=64, steps=5))
    target = p.parent / item.output_name()
    os.replace(p, target)
    try:
        planned = B.assign_outputs([item], p.parent, read_meta)
        assert planned[0].output != target, "the crafted file would be overwritten"
    finally:
        os.replace(target, p)

def metadata(p):
    meta = read_metadata(p)
    if meta and isinstance(meta.get("params"), dict):
        try:
            StyleParams(**meta["params"]).validate()
        except (TypeError, ValueError):
            return "UNCHECKED-PARAMS"

def masks_from(p):
    regions = stored_masks(p, 1)
    masks = [*regions.get("masks", []), *([regions["keep_mask"]] if "keep_mask" in regions else [])]
    if len(masks) > 9 or any(max(m.size) > 512 for m in masks):
        return "OVERSIZE-MASKS"

def restore(p):
    plan = read_plan(p)
    paths = [o.path for o in getattr(plan, "offered", ())]  # now: offered, opened only when the user agrees
    paths += [plan.content] if getattr(plan, "content", None) else []  # before: opened at once
    paths += [s.path for s in getattr(plan, "styles", ())]
    if any(not q.is_absolute() or not q.is_file() for q in paths):
        return "OPENED-RELATIVE-OR-DEVICE"

surfaces = {"load_image": load_image, "read_metadata": metadata, "info": info,
            "--masks-from": masks_from, "restore": restore, "batch": batch}
out = {}
def on_alarm(*_):
    raise TimeoutError
signal.signal(signal.SIGALRM, on_alarm)
for name, f in surfaces.items():
    if name == "batch" and path.is_dir():
        continue
    signal.alarm(10)
    t0 = time.perf_counter()
    try:
        problem = f(path)
        out[name] = "ok" if not isinstance(problem, str) else problem
    except TimeoutError:
        out[name] = "HANG"
    except BaseException as exc:
        # --masks-from reports a ValueError as its one line; elsewhere only the engine's errors are lines
        mine = isinstance(exc, EngineError) or (name == "--masks-from" and isinstance(exc, ValueError))
        text = str(exc).strip()
        out[name] = ("line" if text and "\n" not in text else "MULTI-LINE") if mine else (
            "TRACEBACK " + type(exc).__name__)
    finally:
        signal.alarm(0)
    if time.perf_counter() - t0 > 9:
        out[name] = "HANG"
    if marker.exists():
        out[name] = "GS-RAN"
        marker.unlink()
print(json.dumps(out))
"""


#: Address space of a case's process: reading a 20 GB file then fails with a MemoryError, not the OOM killer.
MEMORY_LIMIT = 4 << 30


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_case(code: Path, case_path: Path, bin_dir: Path, marker: Path) -> dict[str, str]:
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", "PYTHONPATH": str(code)}
    done = subprocess.run([sys.executable, "-c", EVALUATE, str(case_path), str(marker)], cwd=code, env=env,
                          capture_output=True, text=True, timeout=300, preexec_fn=_limit_memory)
    try:
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return {"process": f"DIED rc={done.returncode}: {done.stderr.strip().splitlines()[-1:]}"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, default=None, help="an older checkout to compare with")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from tests.robustness.test_hostile_files import CASES, make_case

    codes = {"before": args.before, "now": REPO} if args.before else {"now": REPO}
    tried = held = fixed = 0
    with tempfile.TemporaryDirectory() as tmp:
        bin_dir, marker = Path(tmp) / "bin", Path(tmp) / "GS-RAN"
        bin_dir.mkdir()
        (bin_dir / "gs").write_text(f"#!/bin/sh\ntouch '{marker}'\nexit 1\n")
        (bin_dir / "gs").chmod(0o755)
        for i, case in enumerate(CASES):
            results = {}
            for label, code in codes.items():
                folder = Path(tmp) / f"{label}-{i}"
                folder.mkdir()
                results[label] = run_case(code, make_case(case, folder), bin_dir, marker)
            bad = {label: {k: v for k, v in r.items() if v not in ("ok", "line")} for label, r in results.items()}
            tried += 1
            if not bad.get("before", {}):
                held += 1
            elif not bad["now"]:
                fixed += 1
            verdict = "held" if not bad.get("before", {}) else "fixed" if not bad["now"] else "STILL FAILS"
            detail = "; ".join(f"{label}: {b}" for label, b in bad.items() if b)
            print(f"| {case.kind} | {verdict} | {detail} |")
    print(f"\n{tried} cases tried, {held} held before, {fixed} fixed, {tried - held - fixed} still failing")
    return 0 if tried == held + fixed else 1


if __name__ == "__main__":
    sys.exit(main())
