"""A batch on a Ray cluster (optional: ``pip install 'nst-desktop[farm]'``; no Qt).

One Ray task per item, :func:`paint_task`: a pure function of the photo's and the painting's
bytes and the settings, which returns the result as PNG bytes with its metadata. The driver
(this process) sends each input file once (``ray.put``), collects results as they finish and
writes them itself (:func:`nst_desktop.services.batch_run.write_result`), so workers need no
shared folder, only NST Desktop installed. An item whose images are bad fails at once (its
task returns the message); a task that crashes (worker lost, out of memory, any other exception)
is retried once by Ray, then fails its item. Ray is imported only when a farm run starts.
"""

from __future__ import annotations

import importlib
import os
import socket
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from nst_desktop.engine import EngineError, StyleParams
from nst_desktop.services.batch import Planned
from nst_desktop.services.batch_run import (
    Outcome,
    encode_png,
    failure_line,
    keep_result,
    kept_elsewhere,
    read_inputs,
    render,
)

#: The one line shown when Ray is missing.
INSTALL_HINT = "Ray is not installed; install it with: pip install 'nst-desktop[farm]'"
#: Ray's retries of a task that raised or whose worker died (the issue's "retried once").
TASK_RETRIES = 1
#: CPUs one task asks Ray for (one painting per core; the engine uses the threads Ray allows it).
TASK_CPUS = 1
#: Seconds to wait for a cluster's address to answer before saying it cannot be reached.
CONNECT_TIMEOUT_S = 10.0
#: The address a local Ray instance listens on (this computer only).
LOOPBACK = "127.0.0.1"


class FarmUnavailable(RuntimeError):
    """Ray is not installed, or the cluster cannot be reached; the message is one line for the user."""


def import_ray() -> Any:
    """The ``ray`` module; raises FarmUnavailable with :data:`INSTALL_HINT` when it is not installed."""
    try:
        return importlib.import_module("ray")
    except ImportError:
        raise FarmUnavailable(INSTALL_HINT) from None


def connect(address: str, num_cpus: int | None = None) -> Any:
    """Ray, connected: ``"auto"`` joins the cluster this machine belongs to (``RAY_ADDRESS``, or one
    started with ``ray start``) or else starts a local instance (:func:`start_local`, ``num_cpus``
    None: this computer's cores); anything else is a cluster address (``HOST:6379``, or
    ``ray://HOST:10001`` for Ray Client). If this process is already connected (``ray.init`` was
    called), that connection is used. Raises FarmUnavailable (one line)."""
    ray = import_ray()
    if ray.is_initialized():
        return ray
    if address != "auto":
        check_reachable(address)
    try:
        if address == "auto" and existing_cluster(ray) is None:
            start_local(ray, num_cpus)
        else:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
            warning = auth_warning(address)
            if warning:
                print(f"nst-desktop-cli: warning: {warning}", file=sys.stderr, flush=True)
    except Exception as exc:  # noqa: BLE001 - Ray raises ConnectionError, RuntimeError, ValueError, ...
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FarmUnavailable(f"cannot reach the Ray cluster at {address!r}: {first}") from None
    return ray


def token_auth() -> bool | None:
    """Whether this process's Ray sends and requires a token (``RAY_AUTH_MODE=token``, or a local
    instance's default); None when this Ray version has no token authentication at all."""
    try:
        from ray._private.authentication.authentication_utils import is_token_auth_enabled
    except ImportError:
        return None
    return bool(is_token_auth_enabled())


def auth_warning(address: str) -> str | None:
    """One line when the cluster at ``address`` was joined without token authentication (anyone
    who reaches its ports can run code on it): what to set; None when a token is in use."""
    state = token_auth()
    if state:
        return None
    where = f"the Ray cluster at {address!r}" if address != "auto" else "this machine's Ray cluster"
    if state is None:
        return (f"{where} is used without authentication: this Ray version has no token authentication; "
                "upgrade Ray (2.60 has it) and set RAY_AUTH_MODE=token (see docs/cluster-security.md)")
    return (f"{where} is used without authentication: anyone who reaches its ports can run code on it; start "
            "every node and this command with RAY_AUTH_MODE=token and the cluster's token (see "
            "docs/cluster-security.md)")


def existing_cluster(ray: Any) -> str | None:
    """The address ``ray.init(address="auto")`` would join (``RAY_ADDRESS``, or the cluster last
    started here with ``ray start``), or None when there is none (a local instance is started)."""
    if os.environ.get("RAY_ADDRESS"):
        return os.environ["RAY_ADDRESS"]
    try:
        from ray._private.services import canonicalize_bootstrap_address

        return canonicalize_bootstrap_address(None)
    except Exception:  # noqa: BLE001 - a private helper of Ray: if it moved or fails, start a local instance
        return None


def start_local(ray: Any, num_cpus: int | None = None) -> None:
    """Start a Ray instance of this computer only: every server (GCS, raylet, object manager, workers,
    runtime-env agent) listens on the loopback address, no dashboard; ``num_cpus`` None: all cores.

    Ray has no bind-address option for its core servers: they listen on the loopback address only
    when the node's IP is one, and Ray swaps a given 127.0.0.1 for the machine's network address
    unless clusters are off (its ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``, read at import). So the
    switch is turned off while the node starts (its servers then get 127.0.0.1 on their command
    lines) and turned back on. Ray's own token authentication is on by default for such a local
    instance (Ray 2.60; see docs/cluster-security.md)."""
    import ray._private.ray_constants as ray_constants

    clusters = ray_constants.ENABLE_RAY_CLUSTER
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, dashboard_host=LOOPBACK,
                 _node_ip_address=LOOPBACK, log_to_driver=False, configure_logging=False)
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = clusters


def address_problem(address: str) -> str | None:
    """Why ``address`` is not ``auto``, ``HOST:PORT`` or ``ray://HOST:PORT`` (one line), or None."""
    if address == "auto":
        return None
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not host or not port.isdigit():
        return f"--ray {address!r}: expected auto, HOST:PORT or ray://HOST:PORT"
    return None


def check_reachable(address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Raise FarmUnavailable (one line) unless a TCP connection to the cluster's ``HOST:PORT`` (or
    ``ray://HOST:PORT``) opens within ``timeout_s`` seconds; Ray itself would wait minutes."""
    if address_problem(address):
        raise FarmUnavailable(address_problem(address))
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise FarmUnavailable(f"cannot reach the Ray cluster at {address!r}: {exc.strerror or exc}") from None


def paint_task(photo: bytes, style: bytes, params: StyleParams, photo_name: str, style_name: str) -> dict[str, Any]:
    """What one Ray task runs: ``{"ok": True, "png": bytes, "metadata": dict, "seconds": s, "host": name}``,
    or ``{"ok": False, "message": line}`` when the images or settings are bad (such an item would
    fail again: it is not retried). Any other exception propagates, so that Ray retries the task."""
    t0 = time.perf_counter()
    try:
        image, meta, _cancelled = render(photo, style, params, photo_name, style_name)
    except (EngineError, ValueError) as exc:
        return {"ok": False, "message": str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}
    return {"ok": True, "png": encode_png(image), "metadata": meta, "seconds": time.perf_counter() - t0,
            "host": socket.gethostname()}


def run_ray(
    planned: Sequence[Planned],
    address: str,
    on_outcome: Callable[[Outcome], None],
) -> list[Outcome]:
    """Run the items not ``done`` on the Ray cluster at ``address`` (see :func:`connect`), writing
    each result here as it arrives; ``on_outcome`` is called for every item (skipped ones first,
    then in the order they finish). Raises FarmUnavailable when Ray is missing or unreachable."""
    from PIL import Image

    from nst_desktop.engine.image import decode_image

    ray = connect(address)
    remote = ray.remote(num_cpus=TASK_CPUS, max_retries=TASK_RETRIES, retry_exceptions=True)(paint_task)
    outcomes: list[Outcome] = []

    def report(outcome: Outcome) -> None:
        outcomes.append(outcome)
        on_outcome(outcome)

    for p in planned:
        if p.done:
            report(Outcome(p, ok=True, skipped=True))
    refs: dict[str, Any] = {}  # one object per input file, sent once
    pending: dict[Any, tuple[Planned, float]] = {}
    for p in planned:
        if p.done:
            continue
        try:
            photo, style = read_inputs(p.item)
        except EngineError as exc:
            report(Outcome(p, ok=False, message=failure_line(p.item, exc)))
            continue
        keys = (str(p.item.photo.resolve()), str(p.item.style.resolve()))
        for key, data in zip(keys, (photo, style)):
            if key not in refs:
                refs[key] = ray.put(data)
        task = remote.remote(refs[keys[0]], refs[keys[1]], p.item.params, str(p.item.photo), str(p.item.style))
        pending[task] = (p, time.perf_counter())
    try:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for task in ready:
                p, t0 = pending.pop(task)
                try:
                    answer = ray.get(task)
                except Exception as exc:  # noqa: BLE001 - a task that failed twice: RayTaskError, WorkerCrashedError
                    why = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
                    report(Outcome(p, ok=False, seconds=time.perf_counter() - t0,
                                   message=f"{p.item.label()}: failed on the cluster twice ({why})"))
                    continue
                if not answer["ok"]:
                    report(Outcome(p, ok=False, seconds=time.perf_counter() - t0,
                                   message=f"{p.item.label()}: {answer['message']}"))
                    continue
                try:
                    image: Image.Image = decode_image(answer["png"], f"the result of {p.item.label()}")
                    saved = keep_result(p, image, answer["metadata"])
                except Exception as exc:  # noqa: BLE001 - one item's error fails that item, not the batch
                    report(Outcome(p, ok=False, seconds=time.perf_counter() - t0,
                                   message=failure_line(p.item, exc)))
                    continue
                if saved.problem is not None:
                    report(kept_elsewhere(p, saved, time.perf_counter() - t0))
                    continue
                report(Outcome(p, ok=True, seconds=answer["seconds"]))
    finally:
        for task in pending:  # interrupted: the cluster stops the rest
            ray.cancel(task)
    return outcomes
