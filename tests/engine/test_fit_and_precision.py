"""Out-of-memory retry at a smaller size, and precision choices per device (no GPU needed)."""

from __future__ import annotations

import importlib
import weakref
from dataclasses import replace

import pytest
import torch

from nst_desktop.engine import OutOfMemory, StyleParams, stylize
from nst_desktop.engine.fit import MAX_RETRIES, stylize_fitting
from nst_desktop.engine.net import precision as precision_module
from nst_desktop.engine.net.objective import Objective
from nst_desktop.engine.net.precision import Precision, bf16_supported
from nst_desktop.engine.optim import lbfgs as optim_lbfgs
from nst_desktop.engine.optim.device_lbfgs import DeviceLBFGS
from nst_desktop.engine.params import StyleInputs
from nst_desktop.engine.plan import oom as oom_module
from tests.helpers import make_content, make_style

# The module, not the function of the same name that nst_desktop.engine exports.
stylize_module = importlib.import_module("nst_desktop.engine.stylize")


def _params(**kw: object) -> StyleParams:
    base = StyleParams(size=96, steps=4, device="cpu", seed=0, preview_every=0)
    return replace(base, **kw)


@pytest.mark.slow
def test_simulated_oom_retries_at_a_smaller_size_and_says_so(bundled_weights, monkeypatch) -> None:
    """A real run whose objective raises torch's OOM error above 80 px ends at a size that fits."""
    real_call = Objective.__call__

    def call(self, x: torch.Tensor):
        if max(x.shape[-2:]) > 80:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return real_call(self, x)

    monkeypatch.setattr(Objective, "__call__", call)
    notes: list[tuple[str, int]] = []
    result = stylize_fitting(StyleInputs(make_content((96, 64)), make_style()), _params(coarse_to_fine=False),
                             bundled_weights, on_retry=lambda msg, size: notes.append((msg, size)))
    sizes = [s for _m, s in notes]
    assert sizes == [86, 77]  # 0.9x the failing size each time (the CPU "fits" estimate is larger)
    assert all("Out of memory" in m and f"{s} px" in m for m, s in notes)
    assert result.image.size == (77, 51)
    assert result.metadata["requested_size"] == 96
    assert result.metadata["params"]["size"] == 77


@pytest.mark.slow
def test_oom_gives_up_after_the_retries(bundled_weights, monkeypatch) -> None:
    def call(self, x: torch.Tensor):
        raise torch.OutOfMemoryError("CUDA out of memory (simulated)")

    monkeypatch.setattr(Objective, "__call__", call)
    notes: list[int] = []
    with pytest.raises(OutOfMemory) as info:
        stylize_fitting(StyleInputs(make_content(), make_style()), _params(coarse_to_fine=False), bundled_weights,
                        on_retry=lambda msg, size: notes.append(size))
    assert len(notes) == MAX_RETRIES
    assert "ran out of memory" in str(info.value)


class _Optimisers:
    """Weak references to every :class:`DeviceLBFGS` made (by the engine or by ``resized``)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.made: list[weakref.ref] = []
        real_init = DeviceLBFGS.__init__

        def init(opt: DeviceLBFGS, *args, **kwargs) -> None:
            real_init(opt, *args, **kwargs)
            self.made.append(weakref.ref(opt))

        monkeypatch.setattr(DeviceLBFGS, "__init__", init)

    def alive(self) -> int:
        return sum(r() is not None for r in self.made)


def _out_of_memory_at_the_third_step(monkeypatch) -> tuple[_Optimisers, list[tuple[int, int]]]:
    """Make the run fail with a (simulated) CUDA out of memory at its third loss evaluation, and record,
    whenever the engine reads the free memory, how many optimiser states and networks are alive."""
    optimisers = _Optimisers(monkeypatch)
    real_call = Objective.__call__
    nets: list[weakref.ref] = []

    def call(self, x: torch.Tensor):
        nets.append(weakref.ref(self.net))
        if len(nets) > 2:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return real_call(self, x)

    seen: list[tuple[int, int]] = []

    def free_memory(device: torch.device) -> int:
        seen.append((optimisers.alive(), sum(r() is not None for r in nets)))
        return 8 * 2**30

    monkeypatch.setattr(Objective, "__call__", call)
    monkeypatch.setattr(oom_module, "free_memory_bytes", free_memory)
    return optimisers, seen


@pytest.mark.slow
def test_out_of_memory_hint_is_measured_after_the_run_let_go(bundled_weights, monkeypatch) -> None:
    """The free memory behind the "about N px should fit" hint is read once the failed run's network,
    activations and optimiser state are released, not while the exception still holds them."""
    optimisers, seen = _out_of_memory_at_the_third_step(monkeypatch)
    with pytest.raises(OutOfMemory) as info:
        stylize(StyleInputs(make_content(), make_style()), _params(coarse_to_fine=False), bundled_weights)
    assert optimisers.made, "the run made no optimiser: the test checks nothing"
    assert seen == [(0, 0)]  # measured once, with no optimiser state and no network alive
    assert info.value.fits is not None


@pytest.mark.slow
def test_a_finished_size_frees_its_optimiser_before_the_next_one(bundled_weights, monkeypatch) -> None:
    """Coarse to fine: the last size's L-BFGS state (its history was resampled, or not carried at all)
    is not held while the next size runs."""
    optimisers = _Optimisers(monkeypatch)
    real_call = Objective.__call__
    alive: dict[tuple[int, int], int] = {}

    def call(self, x: torch.Tensor):
        alive[tuple(x.shape[-2:])] = optimisers.alive()
        return real_call(self, x)

    monkeypatch.setattr(Objective, "__call__", call)
    result = stylize(StyleInputs(make_content((128, 96)), make_style()), _params(size=128, steps=12, start_size=64),
                     bundled_weights)
    assert len(alive) >= 2, f"one size only ({alive}): the test checks nothing"
    assert set(alive.values()) == {1}
    assert result.steps_done == 12


@pytest.mark.slow
def test_out_of_memory_while_finishing_the_image_is_reported_as_such(bundled_weights, monkeypatch) -> None:
    def oom(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory (simulated)")

    monkeypatch.setattr(stylize_module, "tensor_to_pil", oom)
    with pytest.raises(OutOfMemory, match="ran out of memory"):
        stylize(StyleInputs(make_content(), make_style()), _params(), bundled_weights)


def _raised_while_handling(first: BaseException, second: BaseException) -> BaseException:
    """``second`` as raised in an ``except`` block handling ``first`` (its ``__context__``)."""
    try:
        try:
            raise first
        except BaseException:
            raise second  # noqa: B904 - the implicit context is what is tested
    except BaseException as exc:
        return exc


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"), True),
        (RuntimeError("MPS backend out of memory (MPS allocated: 1 GB)"), True),
        (RuntimeError("CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling `cublasCreate(handle)`"), True),
        (RuntimeError("cuDNN error: CUDNN_STATUS_ALLOC_FAILED"), True),
        (RuntimeError("CUDA error: an illegal memory access was encountered"), False),
        (ValueError("out of memory"), False),
        (_raised_while_handling(torch.OutOfMemoryError("CUDA out of memory"),
                                RuntimeError("operation failed due to a previous error during capture")), True),
        (_raised_while_handling(RuntimeError("CUDA error: misaligned address"), ValueError("x")), False),
    ],
)
def test_which_errors_mean_out_of_memory(exc: BaseException, expected: bool) -> None:
    assert oom_module.is_out_of_memory(exc) is expected


def test_batched_read_backs_still_stop_at_every_preview_step() -> None:
    """On CUDA losses are read back in batches (every SYNC_EVERY steps); a preview step between
    two batches must end a batch too, or its preview would be skipped."""
    due = [step for step in range(1, 61) if optim_lbfgs.read_back_due(step, 10, 15)]
    assert due == [10, 15, 20, 30, 40, 45, 50, 60]
    assert [s for s in range(1, 11) if optim_lbfgs.read_back_due(s, 5, 5)] == [5, 10]
    assert [s for s in range(1, 4) if optim_lbfgs.read_back_due(s, 1, 0)] == [1, 2, 3]


def test_no_retry_without_a_smaller_size() -> None:
    calls: list[int] = []

    def run(inputs, params, *args, **kw):
        calls.append(params.size)
        raise OutOfMemory("out of memory", size=params.size, fits=None)

    with pytest.raises(OutOfMemory):
        stylize_fitting(StyleInputs(make_content(), make_style()), _params(), run=run)
    assert calls == [96]


@pytest.mark.slow
def test_retry_uses_the_estimate_when_it_is_smaller() -> None:
    calls: list[int] = []

    def run(inputs, params, *args, **kw):
        calls.append(params.size)
        if params.size > 40:
            raise OutOfMemory("out of memory", size=params.size, fits=40)
        return stylize(inputs, params)

    result = stylize_fitting(StyleInputs(make_content(), make_style()), _params(steps=2), run=run)
    assert calls == [96, 40]
    assert max(result.image.size) == 40


def test_cpu_uses_bf16_only_where_native_and_only_for_auto_or_bf16(monkeypatch) -> None:
    cpu = torch.device("cpu")
    for native in (False, True):
        why = "the CPU has AMX" if native else "the CPU has no AMX or AVX-512 BF16"
        monkeypatch.setattr(precision_module, "cpu_bf16", lambda n=native, w=why: precision_module.CpuBf16(n, w))
        monkeypatch.setattr(precision_module, "_bf16_instructions", lambda n=native, w=why: (n, w))
        for name in ("fp32", "tf32"):
            assert Precision.choose(name, cpu).compute_dtype is None
            assert Precision.choose(name, cpu).describe() == "float32 (as asked)"
        for name in ("auto", "bf16"):
            expected = torch.bfloat16 if native else None
            assert Precision.choose(name, cpu).compute_dtype == expected
        assert bf16_supported(cpu) is native
        assert Precision.choose("auto", cpu).channels_last  # oneDNN is faster channels-last
        assert not Precision.choose("auto", cpu).cuda_graphs
        shown = Precision.choose("auto", cpu).describe()
        assert shown == ("bfloat16 (the CPU has AMX)" if native else "float32 (the CPU has no AMX or AVX-512 BF16)")
        if not native:
            assert Precision.choose("bf16", cpu).describe() == (
                "float32 (bfloat16 asked, but the CPU has no AMX or AVX-512 BF16)")
    monkeypatch.setattr(precision_module, "CPU_BF16_AUTO", False)
    assert Precision.choose("auto", cpu).compute_dtype is None


def test_auto_keeps_float32_where_native_bfloat16_measured_slower(monkeypatch) -> None:
    cpu = torch.device("cpu")
    why = "the CPU has AVX-512 BF16, but bfloat16 measured 0.67x as fast here"
    monkeypatch.setattr(precision_module, "cpu_bf16", lambda: precision_module.CpuBf16(True, why, 0.67))
    monkeypatch.setattr(precision_module, "_bf16_instructions", lambda: (True, "the CPU has AVX-512 BF16"))
    assert Precision.choose("auto", cpu).compute_dtype is None
    assert Precision.choose("auto", cpu).describe() == f"float32 ({why})"
    assert Precision.choose("bf16", cpu).compute_dtype == torch.bfloat16  # asked for: it runs, slow or not
    assert Precision.choose("bf16", cpu).describe() == "bfloat16 (as asked)"


@pytest.mark.parametrize(("caps", "onednn", "speedup", "expected"), [
    ({"amx_bf16": True, "avx512_bf16": True}, True, 3.14,
     (True, True, "the CPU has AMX; measured 3.1x as fast as float32")),
    ({"amx_bf16": False, "avx512_bf16": True}, True, 1.96,  # AMD Zen 4
     (True, True, "the CPU has AVX-512 BF16; measured 2.0x as fast as float32")),
    ({"amx_bf16": False, "avx512_bf16": True}, True, 0.67,  # an Intel Xeon whose AMX the VM hides
     (True, False, "the CPU has AVX-512 BF16, but bfloat16 measured 0.67x as fast here")),
    ({"amx_bf16": False, "avx512_bf16": True}, True, precision_module.BF16_MIN_SPEEDUP - 0.01,
     (True, False, "the CPU has AVX-512 BF16, but bfloat16 measured 1.14x as fast here")),
    ({"amx_bf16": False, "avx512_bf16": False, "avx2": True}, True, None,
     (False, False, "the CPU has no AMX or AVX-512 BF16")),
    ({"amx_bf16": False, "avx512_bf16": False, "avx2": True}, False, None,
     (False, False, "oneDNN has no bfloat16 on this CPU")),
])
def test_native_bf16_is_read_from_torchs_view_of_the_cpu_and_measured(monkeypatch, tmp_path, caps, onednn,
                                                                       speedup, expected) -> None:
    measured: list[bool] = []
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # no speed-up recorded for this machine yet

    def probe() -> float:
        measured.append(True)
        return speedup

    monkeypatch.setattr(torch._C._cpu, "_get_cpu_capability", lambda: caps)
    monkeypatch.setattr(precision_module, "mkldnn_bf16_supported", lambda: onednn)
    monkeypatch.setattr(precision_module, "bf16_speedup", probe)
    precision_module.cpu_bf16.cache_clear()
    precision_module._bf16_instructions.cache_clear()
    try:
        assert precision_module.cpu_native_bf16() is expected[0] and measured == []  # the flags alone: no probe
        got = precision_module.cpu_bf16()
        assert (got.native, got.pays, got.reason) == expected
        assert got.speedup == speedup and measured == ([True] if speedup is not None else [])  # only where native
        assert precision_module.cpu_auto_bf16() is expected[1]
        assert measured == ([True] if speedup is not None else [])  # once per process
    finally:
        precision_module.cpu_bf16.cache_clear()
        precision_module._bf16_instructions.cache_clear()


@pytest.mark.skipif(not precision_module.mkldnn_bf16_supported(), reason="oneDNN has no bfloat16 on this CPU")
def test_the_bfloat16_probe_times_real_convolutions() -> None:
    from nst_desktop.engine.device.bf16_speed import bf16_speedup

    with torch.no_grad():  # the probe makes its own gradients, also inside no_grad
        first = bf16_speedup()
    second = bf16_speedup()
    assert 0.1 < first < 20 and 0.1 < second < 20
    # The same machine gives the same verdict (the CPUs seen are far from the threshold).
    assert abs(first - second) / max(first, second) < 0.5


def test_cuda_graphs_can_be_switched_off(monkeypatch) -> None:
    cuda = torch.device("cuda", 0)
    assert Precision.choose("auto", cuda).cuda_graphs
    monkeypatch.setenv("NST_CUDA_GRAPHS", "0")
    assert not Precision.choose("auto", cuda).cuda_graphs


def test_gram_matrices_stay_float32_on_cuda() -> None:
    Precision.choose("auto", torch.device("cuda", 0))
    assert torch.backends.cudnn.allow_tf32  # convolutions may use TF32
    assert not torch.backends.cuda.matmul.allow_tf32  # Gram matrices and the optimiser's products may not


@pytest.mark.parametrize(("capability", "expected"), [((7, 5), False), ((8, 0), True), ((9, 0), True)])
def test_bf16_only_on_gpus_that_support_it(monkeypatch, capability, expected) -> None:
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    cuda = torch.device("cuda", 0)
    assert bf16_supported(cuda) is expected
    prec = Precision.choose("bf16", cuda)
    assert (prec.compute_dtype == torch.bfloat16) is expected
    assert prec.channels_last
    assert Precision.choose("auto", cuda).compute_dtype is None  # TF32 by default, not bf16


def test_tf32_is_off_when_fp32_is_asked() -> None:
    cuda = torch.device("cuda", 0)
    try:
        Precision.choose("fp32", cuda)
        assert torch.backends.cuda.matmul.allow_tf32 is False
        assert torch.backends.cudnn.allow_tf32 is False
        Precision.choose("auto", cuda)
        assert torch.backends.cuda.matmul.allow_tf32 is False  # Gram matrices stay float32
        assert torch.backends.cudnn.allow_tf32 is True  # convolutions may use TF32
    finally:  # torch's defaults
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = False


@pytest.mark.slow
def test_out_of_memory_lets_go_without_collecting_garbage_in_the_run_thread(bundled_weights, monkeypatch) -> None:
    """Bug 7: after out of memory the engine freed the failed run with ``gc.collect()``, in the thread
    it runs in: in the app a worker thread, where a collection can destroy Qt objects (ui/gc_guard.py).
    It must free the run by dropping references only; with automatic collection off, as in the app,
    no optimiser state and no network may be alive when the free memory is measured."""
    import gc
    import threading

    optimisers, seen = _out_of_memory_at_the_third_step(monkeypatch)

    collected_in: list[str] = []
    real_collect = gc.collect

    def collect(*args, **kwargs) -> int:
        collected_in.append(threading.current_thread().name)
        return real_collect(*args, **kwargs)

    monkeypatch.setattr(gc, "collect", collect)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            stylize(StyleInputs(make_content(), make_style()), _params(coarse_to_fine=False), bundled_weights)
        except BaseException as exc:  # noqa: BLE001 - checked below, in the test's thread
            errors.append(exc)

    was_enabled = gc.isenabled()
    gc.disable()
    try:
        worker = threading.Thread(target=work, name="nst-test-worker")
        worker.start()
        worker.join(120)
    finally:
        if was_enabled:
            gc.enable()
    assert len(errors) == 1 and isinstance(errors[0], OutOfMemory), errors
    assert optimisers.made, "the run made no optimiser: the test checks nothing"
    assert "nst-test-worker" not in collected_in
    assert seen == [(0, 0)]  # freed all the same, by reference counting
