"""Killing a sweep leaves no worker processes behind (local pool and local Dask cluster)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

LINE = """\
[line]
name = "busy"

[products.A]

[stations.src]
type = "source"
product = "A"
interarrival = { dist = "exponential", mean = "10 s" }
to = "m"

[stations.m]
type = "machine"
cycle_time = { dist = "exponential", mean = "6 s" }
to = "out"

[stations.out]
type = "sink"
"""

SCENARIO = """\
[scenario]
name = "busy"
line = "line.toml"

[run]
duration = "20000 d"
warmup = "0 s"
replications = 4
seed = 1
"""


def _children(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _running(p: psutil.Process) -> bool:
    """Still running (an exited process whose new parent has not reaped it is a zombie)."""
    try:
        return p.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.slow
@pytest.mark.parametrize("executor", ["local", "dask"])
def test_killed_sweep_leaves_no_workers(tmp_path: Path, executor: str) -> None:
    (tmp_path / "line.toml").write_text(LINE)
    (tmp_path / "scenario.toml").write_text(SCENARIO)
    proc = subprocess.Popen(
        [sys.executable, "-m", "twin.edges.cli", "sweep", str(tmp_path / "scenario.toml"),
         "--executor", executor, "--workers", "2", "--out", str(tmp_path / "studies"),
         "--no-progress"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    family: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 300  # generous: a loaded machine starts workers slowly
        workers: list[psutil.Process] = []
        while time.monotonic() < deadline:  # the workers are up and busy with runs
            workers = [c for c in _children(proc.pid) if c.cpu_times().user > 0.5]
            if len(workers) >= 2:
                break
            assert proc.poll() is None, "the sweep ended before its workers were busy"
            time.sleep(0.2)
        assert len(workers) >= 2, "no busy workers"
        family = _children(proc.pid)
        proc.send_signal(signal.SIGKILL)  # no clean-up runs in the sweep process
        proc.wait(10)
        deadline = time.monotonic() + 60
        while (alive := [p for p in family if _running(p)]) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not alive, f"orphaned: {[(p.pid, p.name()) for p in alive]}"
    finally:  # never leave a 20000-day run behind, whatever happened
        for p in family + _children(proc.pid):
            if _running(p):
                p.kill()
        if proc.poll() is None:
            proc.kill()
