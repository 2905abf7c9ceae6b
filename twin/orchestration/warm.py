"""Compile the compiled engine's kernels at set-up, so that no run pauses to compile them.

The compiled engine's loop and the kernels of its KPI step (folding records into
accumulators, active periods, shifting bottlenecks, alarm signals) are compiled by Numba on
first use and cached on disk, where every later process loads them in about a second.
Compiling them takes a minute or two, once per installation (and again after an upgrade
changes their sources). :func:`warm_compiled_engine` makes that happen at set-up (``twin
warmup``) by running a small line through every path of a compiled run: tables and KPI
accumulators, on a line with most of what the engine supports (:data:`WARM_LINE`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from twin.kernels.jit import needs_compiling
from twin.orchestration.run import run
from twin.simulation.compiled import loop


def _exp(mean: str) -> dict[str, str]:
    return {"dist": "exponential", "mean": mean}


WARM_LINE: dict[str, Any] = {
    "line": {"name": "warm_up"},
    "calendar": {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                 "shifts": [{"name": "early", "start": "06:00", "end": "14:00"},
                            {"name": "late", "start": "14:00", "end": "22:00"}]},
    "products": {"A": {}, "B": {}, "kit": {}},
    "operators": {"crew": {"count": 1}},
    "stations": {
        "src": {"type": "source", "mix": {"A": 2, "B": 1}, "lot_size": 3,
                "interarrival": _exp("6 min"), "to": "m"},
        "kits": {"type": "source", "product": "kit", "to": "asm"},
        "m": {"type": "machine", "servers": 2, "buffer": 4, "cycle_time": _exp("3 min"),
              "setup_time": {"dist": "uniform", "low": "1 min", "high": "2 min"},
              "operator": {"pool": "crew", "during": "setup"},
              "failures": [{"basis": "operating", "ttf": _exp("3 h"), "ttr": _exp("10 min")},
                           {"basis": "calendar", "ttf": _exp("5 h"), "ttr": _exp("5 min")}],
              "maintenance": {"every": "12 h", "duration": "20 min", "first": "7 h"},
              "power": {"producing": "2 kW", "idle": "0.5 kW"},
              "to": [{"to": "asm", "delay": {"dist": "uniform", "low": "10 s",
                                             "high": "30 s"}}]},
        "asm": {"type": "assembly", "buffer": 3, "base": ["A", "B"],
                "components": {"kit": 1}, "cycle_time": _exp("2 min"), "to": "test"},
        "test": {"type": "inspection", "buffer": 2, "cycle_time": _exp("1 min"),
                 "scrap_probability": 0.05, "rework_probability": 0.1, "rework_to": "m",
                 "to": [{"to": "oven", "probability": 0.8}, {"to": "out", "probability": 0.2}]},
        "oven": {"type": "batch", "batch_size": 4, "max_wait": "20 min",
                 "follows_calendar": False,
                 "cycle_time": {"dist": "constant", "value": "10 min"}, "to": "out"},
        "out": {"type": "sink"},
    },
    "alarms": {"queue": {"tag": "buffer.m", "limit": 3, "direction": "high"}},
}
"""A small discrete line that the compiled engine runs, using every kernel of its runs:
shifts, an operator pool, setups, failures on operating and calendar time, maintenance,
a transport delay, an assembly, inspection with scrap and rework, a batch station, power
and a buffer alarm."""


def warm_compiled_engine(report: Callable[[str], None] | None = None) -> float | None:
    """Run :data:`WARM_LINE` on the compiled engine, keeping tables and then only KPIs,
    which compiles (or loads from the disk cache) every kernel such a run calls.

    Returns the seconds it took if the engine's loop had to be compiled, else None;
    ``report(message)`` is called before a compile starts.
    """
    compiling = needs_compiling(loop.run_loop)
    if compiling and report is not None:
        report("the compiled engine (once per installation, a minute or two)")
    start = time.perf_counter()
    for record in ("tables", "kpis"):
        run(WARM_LINE, duration="2 d", warmup="2 h", seed=1, engine="compiled",
            record=record)
    return time.perf_counter() - start if compiling else None
