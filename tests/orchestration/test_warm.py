"""Set-up compiles the compiled engine: a compiled run in a fresh process compiles nothing.

Both processes use a Numba cache of their own (``NUMBA_CACHE_DIR`` in a temporary folder),
so the first one (the warm-up) starts from nothing and the second one counts every compile
Numba starts (its ``numba:compile`` events) while it runs other lines than the warm-up's:
the servo-actuator reference line (assembly, calendar, operators, alarms, costs) and a line
with a product mix in lots, inspection with scrap and rework, probabilistic routes and a
zero buffer, each keeping tables and then only KPIs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

EXP = {"dist": "exponential", "mean": "1 s"}
OTHER_LINE = {"line": {"name": "other"}, "products": {"A": {}, "B": {}}, "stations": {
    "supply": {"type": "source", "mix": {"A": 1, "B": 2}, "lot_size": 2, "to": "m1"},
    "m1": {"type": "machine", "buffer": 2, "servers": 2, "cycle_time": EXP, "to": "m2",
           "failures": [{"ttf": {"dist": "weibull", "shape": 1.5, "scale": "30 s"},
                         "ttr": EXP}]},
    "m2": {"type": "machine", "buffer": 0, "cycle_time": EXP,
           "routes": [{"to": "q", "probability": 0.5}, {"to": "m3", "probability": 0.5}]},
    "m3": {"type": "machine", "cycle_time": {"dist": "erlang", "k": 2, "mean": "1.1 s"},
           "to": "q"},
    "q": {"type": "inspection", "buffer": 1, "cycle_time": EXP, "scrap_probability": 0.1,
          "rework_probability": 0.2, "rework_to": "m3", "to": "out"},
    "out": {"type": "sink"}}}

PROBE = """
import json, sys
from numba.core import event

class Count(event.Listener):
    def __init__(self):
        self.names = []
    def on_start(self, ev):
        self.names.append(str(ev.data["dispatcher"].py_func.__qualname__))
    def on_end(self, ev):
        pass

count = Count()
event.register("numba:compile", count)
from twin.orchestration.run import run
for line, duration in ((sys.argv[1], "1 d"), (json.loads(sys.argv[2]), "2 h")):
    for record in ("tables", "kpis"):
        r = run(line, duration=duration, warmup="1 h", seed=5, engine="compiled",
                record=record)
        assert r.provenance["engine"] == "compiled"
print(json.dumps(count.names))
"""


@pytest.mark.slow
def test_after_the_warm_up_a_compiled_run_in_a_fresh_process_compiles_nothing(
        tmp_path: Path) -> None:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    env.pop("NUMBA_DISABLE_JIT", None)
    warm = subprocess.run(
        [sys.executable, "-c", "from twin.orchestration.warm import warm_compiled_engine\n"
         "print(warm_compiled_engine() is not None)"],
        env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    assert warm.stdout.strip() == "True"  # it compiled: the cache started empty
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, str(ROOT / "lines/servo_actuator/line.toml"),
         json.dumps(OTHER_LINE)],
        env=env, cwd=ROOT, capture_output=True, text=True)
    assert probe.returncode == 0, probe.stderr[-3000:]
    compiled = json.loads(probe.stdout.strip().splitlines()[-1])
    assert compiled == [], f"compiled after the warm-up: {compiled}"
