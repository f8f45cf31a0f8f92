"""The bfloat16 speed-up, measured once per machine and kept (engine/device/bf16_record.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from nst_desktop.engine.device import bf16_record
from nst_desktop.engine.net import precision as precision_module

ROOT = Path(__file__).resolve().parents[2]


class Probe:
    """A stand-in for the timing: returns ``value`` and counts its calls."""

    def __init__(self, value: float) -> None:
        self.value = value
        self.calls = 0

    def __call__(self) -> float:
        self.calls += 1
        return self.value


def test_the_first_measurement_is_kept_and_later_calls_read_it(tmp_path: Path) -> None:
    first, later = Probe(1.7), Probe(0.5)
    assert bf16_record.speedup(first, tmp_path) == 1.7 and first.calls == 1
    assert bf16_record.speedup(later, tmp_path) == 1.7 and later.calls == 0
    record = json.loads((tmp_path / bf16_record.FILE_NAME).read_text(encoding="utf-8"))
    assert record == {"key": bf16_record.machine_key(), "speedup": 1.7}


def test_the_folder_is_made_where_missing(tmp_path: Path) -> None:
    folder = tmp_path / "cache" / "NST Desktop"
    assert bf16_record.speedup(Probe(2.0), folder) == 2.0
    assert bf16_record.read(folder / bf16_record.FILE_NAME, bf16_record.machine_key()) == 2.0


def test_it_is_measured_again_when_an_isa_limit_or_the_cpus_instructions_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert bf16_record.speedup(Probe(2.0), tmp_path) == 2.0
    # Another limit than the one this run may have (the float32 path is tried with AVX2 set).
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "SSE41" if os.environ.get("ONEDNN_MAX_CPU_ISA") != "SSE41" else "AVX2")
    limited = Probe(0.4)
    assert bf16_record.speedup(limited, tmp_path) == 0.4 and limited.calls == 1
    caps = dict(torch._C._cpu._get_cpu_capability())
    caps["amx_bf16"] = not caps.get("amx_bf16", False)
    monkeypatch.setattr(torch._C._cpu, "_get_cpu_capability", lambda: caps)
    other = Probe(3.0)
    assert bf16_record.speedup(other, tmp_path) == 3.0 and other.calls == 1


@pytest.mark.parametrize("content", [
    b"",
    b"not json",
    b"\xff\xfe\x00 not utf-8",
    b"[]",
    b"[" * 100_000,  # deeper than json parses: larger than a record, never read
    json.dumps({"speedup": 2.0}).encode(),  # no key
    b"KEY-speedup-as-text",
    b"KEY-nan",
    b"KEY-huge",
    b"KEY-true",
    b"KEY-big-file",
])
def test_a_file_that_is_not_a_record_is_measured_again_and_replaced(tmp_path: Path, content: bytes) -> None:
    key = bf16_record.machine_key()
    bad = {b"KEY-speedup-as-text": {"key": key, "speedup": "2.0"},
           b"KEY-nan": {"key": key, "speedup": float("nan")},
           b"KEY-huge": {"key": key, "speedup": 1e9},
           b"KEY-true": {"key": key, "speedup": True}}
    if content in bad:
        content = json.dumps(bad[content]).encode()
    elif content == b"KEY-big-file":  # a valid record padded past the size a record has
        content = json.dumps({"key": key, "speedup": 2.0}).encode() + b" " * bf16_record.MAX_RECORD_BYTES
    path = tmp_path / bf16_record.FILE_NAME
    path.write_bytes(content)
    assert bf16_record.read(path, key) is None
    probe = Probe(1.3)
    assert bf16_record.speedup(probe, tmp_path) == 1.3 and probe.calls == 1
    assert bf16_record.read(path, key) == 1.3  # replaced by a record


def test_where_the_folder_cannot_be_made_each_process_measures_for_itself(tmp_path: Path) -> None:
    blocked = tmp_path / "a file"
    blocked.write_text("not a folder", encoding="utf-8")
    probe = Probe(1.9)
    assert bf16_record.speedup(probe, blocked / "NST Desktop") == 1.9
    assert bf16_record.speedup(probe, blocked / "NST Desktop") == 1.9 and probe.calls == 2


SCRIPT = """
import random, sys, time
from pathlib import Path
from nst_desktop.engine.device import bf16_record

def measure():
    time.sleep(0.3)  # long enough for the other processes to reach the lock meanwhile
    return random.uniform(0.5, 3.0)

print(bf16_record.speedup(measure, Path(sys.argv[1])))
"""


def test_processes_started_together_all_take_the_first_ones_measurement(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", SCRIPT, str(tmp_path)], stdout=subprocess.PIPE, text=True,
                              env=env, cwd=ROOT) for _ in range(3)]
    outs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert len(set(outs)) == 1, outs  # random measurements: only one was taken
    assert bf16_record.read(tmp_path / bf16_record.FILE_NAME, bf16_record.machine_key()) == float(outs[0])


def test_precision_auto_decides_from_the_machines_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    folder = bf16_record.default_folder()
    assert folder.is_relative_to(tmp_path)
    folder.mkdir(parents=True)
    bf16_record.write(folder / bf16_record.FILE_NAME, bf16_record.machine_key(), 0.67)  # measured earlier

    def no_probe() -> float:
        raise AssertionError("measured again although this machine's speed-up is recorded")

    monkeypatch.setattr(precision_module, "_bf16_instructions", lambda: (True, "the CPU has AVX-512 BF16"))
    monkeypatch.setattr(precision_module, "bf16_speedup", no_probe)
    precision_module.cpu_bf16.cache_clear()
    try:
        got = precision_module.cpu_bf16()
        assert got.speedup == 0.67 and not got.pays
        assert precision_module.Precision.choose("auto", torch.device("cpu")).compute_dtype is None
    finally:
        precision_module.cpu_bf16.cache_clear()
