"""Attacking the other inputs: settings files, weights files, command-line values.

(Image files: test_robust_images.py.) What test_settings.py, test_weights.py and
test_cli.py already check is not repeated here.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import time
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nst_desktop import cli
from nst_desktop.engine.errors import WeightsError
from nst_desktop.engine.net import weights as W
from nst_desktop.services.settings import (
    SETTINGS_VERSION,
    Settings,
    load_settings,
    save_settings,
    settings_path,
)

FUZZ_EXAMPLES = int(os.environ.get("NST_FUZZ_EXAMPLES", "150"))
PACKAGE = Path(__file__).resolve().parents[2] / "nst_desktop"


# ----------------------------------------------------------------------------- settings
@pytest.mark.parametrize(
    ("content", "word"),
    [
        ("null", "settings object"),
        ('"a string"', "settings object"),
        (json.dumps({"version": True}), "version"),
        (json.dumps({"version": "1"}), "version"),
        (json.dumps({"version": 99, "size": 640}), "newer version"),
        ("[" * 100_000, "corrupt"),  # nesting deeper than the parser's recursion limit
        ('{"version": 1, "size": ' + "9" * 5000 + "}", "corrupt"),  # int too long to convert
    ],
    ids=["null", "string", "bool-version", "string-version", "future", "deep-nesting", "huge-int"],
)
def test_more_broken_settings_files(content: str, word: str) -> None:
    p = settings_path()
    p.parent.mkdir(parents=True)
    p.write_text(content)
    t0 = time.perf_counter()
    res = load_settings()
    assert time.perf_counter() - t0 < 1
    assert res.settings == Settings()
    assert res.problem is not None and word in res.problem and str(p) in res.problem
    assert res.backup is not None and res.backup.read_text() == content


def test_wrong_types_and_unknown_keys_keep_the_good_values() -> None:
    p = settings_path()
    p.parent.mkdir(parents=True)
    p.write_text(json.dumps({
        "version": SETTINGS_VERSION,
        "size": 640,
        "style_strength": "strong",
        "seconds_per_pixel_step": {"cpu": True},  # a bool is not a rate
        "splitters": "wide",
        "window_geometry": 12,
        "future_option": {"nested": [1, 2]},
        "zoom": None,
    }))
    res = load_settings()
    assert res.problem is None
    s = res.settings
    assert s.size == 640
    assert s.style_strength == 1.0 and s.seconds_per_pixel_step == {} and s.splitters == {}
    assert s.window_geometry == "" and s.zoom == "fit"
    save_settings(s)
    assert "future_option" not in json.loads(p.read_text())


def test_folder_in_place_of_the_settings_file() -> None:
    p = settings_path()
    p.mkdir(parents=True)
    res = load_settings()
    assert res.settings == Settings()
    assert res.problem is not None and "cannot be read" in res.problem and str(p) in res.problem
    with pytest.raises(OSError):
        save_settings(Settings(size=700))  # the caller (the window) reports this in the status bar
    assert p.is_dir() and not [q for q in p.parent.iterdir() if q.name.endswith(".tmp")]


def test_window_starts_and_quits_with_a_folder_in_place_of_the_settings_file(qtbot) -> None:
    from nst_desktop.ui.main_window import MainWindow
    from tests.ui.helpers import CPU_ONLY

    p = settings_path()
    p.mkdir(parents=True)
    window = MainWindow(devices=CPU_ONLY)
    qtbot.addWidget(window)
    assert "cannot be read" in window.statusBar().currentMessage()
    window.write_settings()
    assert "could not be saved" in window.statusBar().currentMessage()
    assert window.close()


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
), st.sampled_from([f.name for f in Settings.__dataclass_fields__.values()]))
@pytest.mark.slow
def test_fuzz_any_json_value_in_any_field(value: object, field: str) -> None:
    p = settings_path()
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps({"version": SETTINGS_VERSION, field: value}))
    s = load_settings().settings
    # Whatever came in, what is kept saves and loads back unchanged.
    save_settings(s)
    assert load_settings().settings == s


# ----------------------------------------------------------------------------- weights
def test_every_torch_load_in_the_package_is_weights_only() -> None:
    calls = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"torch\.load\(", text):
            # The call's argument list: up to the matching parenthesis.
            depth, i = 0, m.end() - 1
            while True:
                depth += {"(": 1, ")": -1}.get(text[i], 0)
                if depth == 0:
                    break
                i += 1
            args = text[m.end() : i]
            calls.append((path.name, args))
            assert re.search(r"\bweights_only\s*=\s*True\b", args), f"{path}: torch.load({args}) is not weights_only"
    assert calls, "no torch.load call found: the grep is broken"
    # Nothing else deserialises or evaluates data: no pickle, marshal, eval() or exec().
    unsafe = re.compile(r"\bpickle\.loads?\(|\bmarshal\.loads?\(|(?<![.\w`])eval\(|(?<![.\w`])(?<!def )exec\(")
    for path in PACKAGE.rglob("*.py"):
        hit = unsafe.search(path.read_text(encoding="utf-8"))
        assert hit is None, f"{path}: {hit and hit.group(0)}"


def _small_weights_file() -> bytes:
    buf = io.BytesIO()
    torch.save({"features.0.weight": torch.ones(64, 3, 3, 3), "features.0.bias": torch.zeros(64)}, buf)
    return buf.getvalue()


SMALL_WEIGHTS = _small_weights_file()


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_fuzz_mangled_weights_files(tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    blob = bytearray(SMALL_WEIGHTS)
    how = data.draw(st.sampled_from(["truncate", "flip", "overwrite"]))
    if how == "truncate":
        blob = blob[: data.draw(st.integers(0, len(blob) - 1))]
    elif how == "flip":
        for _ in range(data.draw(st.integers(1, 6))):
            blob[data.draw(st.integers(0, len(blob) - 1))] ^= 0xFF
    else:
        i = data.draw(st.integers(0, len(blob) - 1))
        chunk = data.draw(st.binary(min_size=1, max_size=32))
        blob[i : i + len(chunk)] = chunk
    p = tmp_path_factory.mktemp("w") / "mangled.pth"
    p.write_bytes(bytes(blob))
    # Never a VGG19 (15 of 16 layers are missing), never another exception type.
    with pytest.raises(WeightsError) as exc:
        W.load_file(p)
    assert str(p) in str(exc.value)


def test_right_keys_wrong_dtype_and_rank(tmp_path: Path, bundled_weights: W.VGGWeights) -> None:
    sd = dict(bundled_weights.state_dict)
    sd["features.2.weight"] = sd["features.2.weight"].flatten()
    p = tmp_path / "flat.pth"
    torch.save(sd, p)
    with pytest.raises(WeightsError, match="shape") as exc:
        W.load_file(p)
    assert str(p) in str(exc.value) and "features.2.weight" in str(exc.value)


# ----------------------------------------------------------------------------- command line
def _options(command: str) -> list[argparse.Action]:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return [a for a in sub.choices[command]._actions
            if a.option_strings and a.nargs != 0 and not isinstance(a, argparse._HelpAction)]


#: Values that every option with a type or choices must refuse: words, non-finite, far out of range.
BAD_TYPED = ["banana", "nan", "inf", "-999999999", "99999999999999999999"]
#: Free-text options the engine validates after parsing (exit 1, one line), with a bad value.
FREE_TEXT = {"--device": "tpu7", "--weights": "no-such-weights.pth", "--init": "sepia",
             "--content": "missing-photo.png", "--style": "missing-painting.png",
             "--mask": "missing-mask.png", "--keep-mask": "missing-keep-mask.png",
             "--masks-from": "missing-result.png"}


#: Options whose valid range is open-ended (relative weights): their own bad values.
BAD_FOR = {"--style-weights": ["banana", "nan", "inf", "-1", "0", "1,,2"]}


def _cases() -> list[tuple[str, str, str]]:
    out = []
    for command in ("stylize", "bench"):
        for action in _options(command):
            opt = action.option_strings[-1]
            if action.choices is not None:
                out.append((command, opt, "no-such-choice"))
            elif action.type not in (None, str, Path):
                out.extend((command, opt, v) for v in BAD_FOR.get(opt, BAD_TYPED))
            elif opt != "--output":
                assert opt in FREE_TEXT, f"{command} {opt}: no bad value known for this option; add one"
    return out


def _argv(command: str, opt: str, value: str, tmp_path: Path, pair: tuple[Path, Path]) -> list[str]:
    if command == "stylize":
        c, s = pair
        return ["stylize", str(c), str(s), "-o", str(tmp_path / "r.png"), "--quiet", opt, value]
    argv = ["bench", "--size", "32", "--steps", "2", opt, value]
    if opt in ("--content", "--style"):
        other = "--style" if opt == "--content" else "--content"
        argv += [other, str(pair[0])]
    return argv


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    from tests.helpers import make_content, make_style

    c, s = tmp_path / "c.png", tmp_path / "s.png"
    make_content().save(c)
    make_style().save(s)
    return c, s


def _one_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def no_real_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """A value that slips through must fail the test at once, not start a long real run."""
    import nst_desktop.engine as E
    from nst_desktop.engine.measure import bench

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a bad value was accepted and the run started")

    monkeypatch.setattr(E, "stylize", refuse)
    monkeypatch.setattr(bench, "run_bench", refuse)
    try:
        from nst_desktop.engine import fit
    except ImportError:
        return
    monkeypatch.setattr(fit, "stylize_fitting", refuse)


@pytest.mark.parametrize(("command", "opt", "value"), _cases())
def test_bad_typed_or_out_of_range_value_exits_2(
    command: str, opt: str, value: str, tmp_path: Path, pair, capsys: pytest.CaptureFixture[str], no_real_runs
) -> None:
    t0 = time.perf_counter()
    with pytest.raises(SystemExit) as exc:
        cli.main(_argv(command, opt, value, tmp_path, pair))
    assert exc.value.code == 2
    line = _one_line(capsys.readouterr().err)
    assert opt in line and "error" in line
    assert time.perf_counter() - t0 < 1


@pytest.mark.parametrize(("command", "opt"), [(c, o) for c in ("stylize", "bench") for o in FREE_TEXT
                                              if any(o in a.option_strings for a in _options(c))])
def test_bad_free_text_value_exits_1_with_one_line(
    command: str, opt: str, tmp_path: Path, pair, capsys: pytest.CaptureFixture[str], no_real_runs
) -> None:
    value = FREE_TEXT[opt]
    rc = cli.main(_argv(command, opt, value, tmp_path, pair))
    assert rc == 1
    line = _one_line(capsys.readouterr().err)
    assert value in line and "error" in line
    assert not (tmp_path / "r.png").exists()


def test_bench_content_without_style_is_a_usage_error(pair, capsys: pytest.CaptureFixture[str]) -> None:
    # It used to be silently ignored: the benchmark ran on generated images.
    assert cli.main(["bench", "--size", "32", "--steps", "2", "--content", str(pair[0])]) == 2
    assert "--style" in _one_line(capsys.readouterr().err)
