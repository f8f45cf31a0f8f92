"""``batch --ray`` on a real local Ray instance (2 CPUs, 127.0.0.1; the fixture in conftest.py, started
once for the services tests), real weights."""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from nst_desktop import cli
from nst_desktop.engine import read_metadata
from nst_desktop.services.farm import FarmUnavailable, check_reachable
from tests.helpers import make_content, make_style

pytest.importorskip("ray", reason="the [farm] extra (Ray) is installed by the test set-up")
QUICK = ["--size", "32", "--steps", "6", "--seed", "2", "--quiet"]


def _inputs(tmp_path: Path) -> tuple[list[Path], list[Path]]:
    photos = [tmp_path / "p0.png", tmp_path / "p1.png"]
    make_content((48, 36)).save(photos[0])
    make_content((48, 36)).rotate(180).save(photos[1])
    styles = [tmp_path / "s0.png", tmp_path / "s1.jpg"]
    make_style((40, 40)).save(styles[0])
    make_style((40, 40)).rotate(90).save(styles[1], quality=95)
    return photos, styles


@pytest.mark.slow
def test_ray_paints_each_item_as_a_task_and_the_driver_writes_it(local_ray, tmp_path, capsys) -> None:
    photos, styles = _inputs(tmp_path)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not a jpeg")
    out = tmp_path / "farm"
    rc = cli.main(["batch", *map(str, photos), str(broken), "--style", *map(str, styles), "-o", str(out),
                   "--ray", "auto", "--json", *QUICK])
    cap = capsys.readouterr()
    assert rc == 1, cap.err
    failures = [line for line in cap.err.splitlines() if ": failed: " in line]
    assert len(failures) == 2 and all(str(broken) in line for line in failures), cap.err
    records = [json.loads(line) for line in cap.out.splitlines()]
    assert len(records) == 4 and not any(r["skipped"] for r in records)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{p.stem}-in-style-of-{s.stem}.png" for p in photos for s in styles)

    # The same item painted here: the task is the same pure function of its inputs and settings.
    local = tmp_path / "local"
    assert cli.main(["batch", str(photos[1]), "--style", str(styles[0]), "-o", str(local), *QUICK]) == 0
    name = "p1-in-style-of-s0.png"
    assert read_metadata(out / name)["params"] == read_metadata(local / name)["params"]
    with Image.open(out / name) as a, Image.open(local / name) as b:
        assert max(ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB"))).mean) < 1.0

    # A rerun on the cluster finds everything done and sends nothing.
    broken.unlink()
    capsys.readouterr()
    mtimes = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    assert cli.main(["batch", *map(str, photos), "--style", *map(str, styles), "-o", str(out), "--ray", "auto",
                     "--json", *QUICK]) == 0
    assert [json.loads(line)["skipped"] for line in capsys.readouterr().out.splitlines()] == [True] * 4
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == mtimes


def test_an_address_where_no_cluster_answers_is_one_line_at_once() -> None:
    with pytest.raises(FarmUnavailable, match=r"^cannot reach the Ray cluster at '127.0.0.1:1': Connection refused"):
        check_reachable("127.0.0.1:1")
    with pytest.raises(FarmUnavailable, match="expected auto, HOST:PORT or ray://HOST:PORT"):
        check_reachable("somewhere")


def _process_tree(root: int) -> set[int]:
    """``root`` and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        found.add(pid)
        todo += children.get(pid, [])
    return found


def _listening(pids: set[int]) -> set[tuple[str, int]]:
    """The TCP (address, port) pairs the processes ``pids`` listen on (from /proc/net/tcp and tcp6)."""
    inodes = set()
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    found = set()
    for table, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] != "0A" or fields[9] not in inodes:  # 0A: LISTEN
                continue
            hex_ip, hex_port = fields[1].split(":")
            raw = bytes.fromhex(hex_ip)  # 32-bit words in host (little-endian) order
            raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
            found.add((socket.inet_ntop(family, raw), int(hex_port, 16)))
    return found


def _loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads the listening sockets from Linux's /proc")
def test_a_local_instance_listens_on_this_computer_only(local_ray) -> None:
    sockets = _listening(_process_tree(os.getpid()))
    assert len(sockets) >= 3, sockets  # GCS, raylet (node manager, object manager), ...
    assert all(_loopback(address) for address, _ in sockets), sockets


@pytest.mark.slow  # a child process that imports Ray
@pytest.mark.parametrize(("mode", "warned"), [("disabled", True), ("token", False)])
def test_a_cluster_joined_without_a_token_gets_a_warning_that_says_what_to_set(mode: str, warned: bool) -> None:
    code = "from nst_desktop.services.farm import auth_warning; print(auth_warning('10.0.0.1:6379'))"
    env = {**os.environ, "RAY_AUTH_MODE": mode}  # Ray reads it when it is imported
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    if warned:
        assert out.strip() == ("the Ray cluster at '10.0.0.1:6379' is used without authentication: anyone who "
                               "reaches its ports can run code on it; start every node and this command with "
                               "RAY_AUTH_MODE=token and the cluster's token (see docs/cluster-security.md)")
    else:
        assert out.strip() == "None"
