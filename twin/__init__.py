"""Pilot Twin: virtual pilot testing with digital twins of pilot production lines.

The everyday entry points, importable from the top level (loaded on first use)::

    import twin
    line = twin.load_line("lines/servo_actuator/line.toml")
    result = twin.run(line, duration="30 d", warmup="1 d", seed=7)
    state = twin.state_at(result.save("runs/"), "8 h")     # the line's state at 8 h
    what_if = twin.run(line, duration="1 d", initial_state=state)
    outlook = twin.forecast(line, state, replications=39)   # batch ends, output, alarms
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "run": "twin.orchestration.run",
    "RunResult": "twin.orchestration.run",
    "RunFailed": "twin.orchestration.run",
    "load_line": "twin.data.checks",
    "line_from_dict": "twin.data.checks",
    "validate": "twin.data.checks",
    "SpecError": "twin.data.checks",
    "LineSpec": "twin.data.spec",
    "LineState": "twin.data.state",
    "state_at": "twin.orchestration.fork",
    "fork": "twin.orchestration.fork",
    "forecast": "twin.orchestration.forecast",
    "register_station": "twin.simulation.node_types",
    "register_phase": "twin.process.phases",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Import the public API lazily, so ``import twin.kernels`` stays light."""
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'twin' has no attribute {name!r}")
