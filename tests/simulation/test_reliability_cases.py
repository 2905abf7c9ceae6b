"""Every reliability case ends in bounded time and memory with a clear outcome.

Each case in ``reliability_cases/`` (see its README) once hung, deadlocked silently, produced
nothing without a word or failed with an internal error. Here each runs through the CLI
(``twin validate``, then ``twin run --duration 1d``) in a child interpreter with a hard
address-space limit (and killed after a minute); the child reports the wall time of the two
commands and how much its resident memory grew. It must end within 10 s and 500 MB in the
outcome the table names: a validation error at a key path, a named run error, or a completed
run with the named warnings.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

CASES = Path(__file__).parent / "reliability_cases"
WALL_S = 10.0
PEAK_BYTES = 500e6

EXPECTED: dict[str, tuple[str, str]] = {
    # case: (outcome, what: key path | error type | warning codes)
    "ia_zero": ("invalid", "stations.src.interarrival"),
    "ia_tiny": ("invalid", "stations.src.interarrival"),
    "infinite_zero_cycle": ("invalid", "stations.m.cycle_time"),
    "infinite_supply_huge_buffer": ("invalid", "stations.m.buffer"),
    "huge_servers": ("invalid", "stations.m.servers"),
    "cal_nodays": ("invalid", "calendar.days"),
    "assembly_stray_product": ("invalid", "stations.asm"),
    "rx_charge_0K": ("invalid", "stations.r.recipe[0].charge.temperature"),
    "rx_charge_negK": ("invalid", "stations.r.recipe[0].charge.temperature"),
    "rx_utility_tiny": ("invalid", "utilities.cw.capacity"),
    "deadlock_loop": ("error", "DeadlockError"),
    "self_loop_deadlock": ("error", "DeadlockError"),
    "tank_loop_deadlock": ("error", "DeadlockError"),
    "rx_k0_1e30": ("error", "IntegrationError"),
    "rx_k0_1e300": ("error", "IntegrationError"),
    "batch_never_full": ("warning", "batch_never_full no_good_units"),
    "rx_utility_1mW": ("warning", "utility_starved no_good_units"),
    "rx_base": ("completed", ""),
}

HARD_WALL_S = 60.0  # the parent kills a child that is still running by then


_CHILD = r"""
import contextlib, io, json, resource, sys, tempfile, time
resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))  # a runaway dies, not the host
from twin.edges.cli import main
from twin.simulation.watchdog import resident_memory

args = json.loads(sys.argv[1])
with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()), \
        contextlib.redirect_stderr(io.StringIO()):  # warm: libraries and kernels loaded
    main(["run", sys.argv[2], "--duration", "1d", "--out", tmp])
try:  # Linux: restart the peak-resident count (VmHWM) after the warm-up
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
except OSError:
    pass


def peak() -> int:  # peak resident memory [bytes] since the restart (else since the start)
    try:
        with open("/proc/self/status") as f:
            for row in f:
                if row.startswith("VmHWM:"):
                    return int(row.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


out, err = io.StringIO(), io.StringIO()
rss0 = resident_memory()
t0 = time.perf_counter()
codes = []
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
    for argv in args:
        codes.append(main(argv))
        if codes[-1]:
            break
wall = time.perf_counter() - t0
sys.__stdout__.write(json.dumps({"codes": codes, "wall": wall, "grown": peak() - rss0,
                                 "stdout": out.getvalue(), "stderr": err.getvalue()}))
"""
"""The child: bound its address space, import the CLI and run the sound reactor case once
(not measured: a long-lived process has its libraries and kernels loaded, as the forked child
of a warm parent had), then run the commands and report exit codes, wall time [s], memory
grown [bytes] and output as JSON on stdout."""


def run_case(path: Path, tmp: Path, *extra: str) -> dict:
    """Validate and run ``path`` in a fresh child interpreter (a spawned process, not a fork:
    forking a test worker that holds threads can hang the child on a lock it inherited); its
    report: exit codes, wall time of the commands [s] (warm-up excluded), memory grown [bytes]
    (peak resident minus resident after the imports), output."""
    args = [["validate", str(path)],
            ["run", str(path), "--duration", "1d", "--out", str(tmp), *extra]]
    try:
        done = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(args),
                               str(CASES / "rx_base.toml")],
                              capture_output=True, text=True, timeout=HARD_WALL_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{path.name} still running after {HARD_WALL_S} s")
    assert done.returncode == 0, f"{path.name}: the child failed:\n{done.stderr}"
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def warm_kernels() -> None:
    """Compile (or load) the reactor kernel once, so that no child pays for compiling it."""
    import twin

    twin.run(CASES / "rx_base.toml", duration="1 d")


def test_every_case_is_listed() -> None:
    assert sorted(p.stem for p in CASES.glob("*.toml")) == sorted(EXPECTED)


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_case_ends_bounded_and_clear(case: str, tmp_path: Path, warm_kernels: None) -> None:
    outcome, what = EXPECTED[case]
    rep = run_case(CASES / f"{case}.toml", tmp_path)
    assert rep["wall"] < WALL_S, rep
    assert rep["grown"] < PEAK_BYTES, rep
    err = rep["stderr"]
    assert "Traceback" not in err and "Traceback" not in rep["stdout"]
    if outcome == "invalid":
        assert rep["codes"] == [1], rep
        assert f"\n  {what}: " in err, err  # a located problem, at its key path
        assert not list(tmp_path.iterdir())  # nothing ran
        return
    assert rep["codes"][0] == 0, rep  # the spec is valid
    if outcome == "error":
        assert rep["codes"] == [0, 1], rep
        assert f"error: the run failed: {what}: " in err, err
        assert "raised at" not in err  # a named error: no code location needed
        (folder,) = tmp_path.iterdir()
        summary = json.loads((folder / "run.json").read_text())
        assert summary["provenance"]["status"] == "failed"
        assert what in summary["provenance"]["error"]
        return
    assert rep["codes"] == [0, 0], rep
    (folder,) = tmp_path.iterdir()
    summary = json.loads((folder / "run.json").read_text())
    codes = {w["code"] for w in summary["warnings"]}
    assert set(what.split()) <= codes, summary["warnings"]
    for code in what.split():
        assert f"  ! [{code}] " in rep["stdout"]


def test_deadlock_run_on_is_a_warning(tmp_path: Path, warm_kernels: None) -> None:
    """With --run-on-deadlock the deadlock of a -> b -> a is recorded (time, cycle) and the
    run completes."""
    rep = run_case(CASES / "deadlock_loop.toml", tmp_path, "--run-on-deadlock")
    assert rep["codes"] == [0, 0], rep
    assert rep["wall"] < WALL_S and rep["grown"] < PEAK_BYTES
    (folder,) = tmp_path.iterdir()
    summary = json.loads((folder / "run.json").read_text())
    (w,) = [w for w in summary["warnings"] if w["code"] == "deadlock"]
    assert w["stations"] == ["a", "b"] and w["time"] == 540.0
    assert "a -> b -> a" in w["message"]
    assert "  ! [deadlock] deadlock at t = 540 s" in rep["stdout"]
