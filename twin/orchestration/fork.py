"""Fork a stored run at a time: its state then (:func:`state_at`) and a what-if from there
(:func:`fork`, ``twin fork RUN_FOLDER --at 8h --set ...``)::

    state = twin.state_at("runs/servo_actuator_3f2a9c01de_s7", "8 h")
    what_if = twin.fork("runs/servo_actuator_3f2a9c01de_s7", at="8 h",
                        overrides={"stations.cnc.servers": 2})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from twin.data import spec as S
from twin.data.checks import line_from_dict
from twin.data.overrides import line_with_overrides
from twin.data.state import LineState
from twin.data.units import to_si
from twin.observation import runfolder
from twin.observation.run_state import state_from_tables
from twin.orchestration.run import RunResult, run


def _stored(folder: str | Path) -> tuple[dict[str, Any], S.LineSpec]:
    """The summary and the line of a stored run folder.

    Raises
    ------
    twin.observation.runfolder.RunFolderError
        If the folder is not a complete run folder.
    """
    summary = runfolder.read_summary(folder)
    prov = summary.get("provenance") or {}
    if prov.get("status") != "completed":
        raise runfolder.RunFolderError(f"{folder}: the run did not complete "
                                       f"(status {prov.get('status')!r}); nothing to fork")
    return summary, line_from_dict(prov["parameters"], f"{folder}/run.json parameters")


def _time(at: str | float) -> float:
    return to_si(at, "time", bare_unit="s")


def state_at(folder: str | Path, at: str | float) -> LineState:
    """The state of the stored run in ``folder`` at ``at`` (e.g. ``"8 h"``; a number is in
    seconds of the run), rebuilt from its recorded tables
    (:func:`twin.observation.run_state.state_from_tables`).

    Raises
    ------
    ValueError
        If ``at`` is not within the run.
    """
    summary, line = _stored(folder)
    t = _time(at)
    settings = summary["provenance"].get("settings") or {}
    end = float(settings.get("warmup_s", 0.0)) + float(settings.get("duration_s", 0.0))
    start = float(settings.get("start_s", 0.0))
    if not start <= t <= end:
        raise ValueError(f"--at {at!r} = {t:g} s is outside the run "
                         f"({start:g} s to {end:g} s)")
    tables = {name: runfolder.read_table(folder, name) for name in
              ("events", "states", "stops", "phases", "flows", "levels")}
    tables = {k: v for k, v in tables.items() if v is not None}
    return state_from_tables(line, tables, t, {
        "kind": "run", "run_id": summary.get("run_id"), "at_s": t,
        "run_hash": summary["provenance"].get("run_hash")})


def fork(folder: str | Path, at: str | float, *, duration: str | float | None = None,
         warmup: str | float = 0.0, seed: int | None = None,
         overrides: Mapping[str, Any] | None = None, events: Sequence[Any] = (),
         on_deadlock: str | None = None) -> RunResult:
    """A what-if from the stored run in ``folder`` at ``at``: a run of its line (with
    ``overrides``, dotted paths as in ``--set``) from its state at that time.

    ``duration`` defaults to the rest of the stored run, ``seed`` to its seed: without
    overrides, the fork of a deterministic line repeats the stored run after ``at``
    exactly; of a random one, in distribution.

    Raises
    ------
    twin.data.checks.SpecError
        If an override is invalid, or the state does not fit the changed line (e.g. fewer
        servers than units holding parts), each problem at its path.
    """
    summary, line = _stored(folder)
    state = state_at(folder, at)
    prov = summary["provenance"]
    if overrides:
        line = line_with_overrides(prov["parameters"], dict(overrides),
                                   source=f"{folder} with overrides")
    settings = prov.get("settings") or {}
    rest = float(settings.get("warmup_s", 0.0)) + float(settings.get("duration_s", 0.0)) \
        - state.time
    if duration is None and rest <= 0:
        raise ValueError(f"--at is the end of the run: give a duration to fork at "
                         f"{state.time:g} s")
    return run(line, duration=rest if duration is None else duration, warmup=warmup,
               seed=int(prov["seed"]) if seed is None else seed, events=events,
               on_deadlock=on_deadlock, initial_state=state)
