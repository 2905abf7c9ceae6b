"""One run of a line: settings, provenance, tables and KPIs.

:func:`run` is the one call behind ``twin run`` and notebooks::

    result = twin.run("lines/servo_actuator/line.toml", duration="30 d", seed=7)
    result.kpis                 # line KPIs (dict)
    result.tables["stations"]   # station KPIs (pandas)
    result.save("runs/")        # run folder: run.json + Parquet tables
"""

from __future__ import annotations

import hashlib
import json
import platform
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from twin.data import spec as S
from twin.data.calibration import sample_line
from twin.data.checks import (
    Problem,
    SpecError,
    line_from_dict,
    load_line,
    topology_problems,
)
from twin.data.scenario import event_problems, parse_events
from twin.data.state import LineState, checked
from twin.data.units import to_si
from twin.observation import runfolder
from twin.observation.accumulated import LEAD_RESOLUTION, accumulated_kpis
from twin.observation.alarms import alarm_summary
from twin.observation.catalogue import derive, line_kind
from twin.observation.costs import accumulated_cost_kpis, cost_kpis
from twin.observation.kpis import line_kpis, station_kpis
from twin.observation.ledger import electricity
from twin.observation.process_kpis import process_kpis, process_ledger
from twin.observation.recorder import Recorder
from twin.observation.run_warnings import result_warnings
from twin.observation.stability import load_warnings, series_warnings, stability_warnings
from twin.simulation.compiled.engine import CompiledModel
from twin.simulation.compiled.lower import unsupported
from twin.simulation.compiled.replicate import Replicas
from twin.simulation.line import LineModel

if TYPE_CHECKING:
    from twin.figures.timeline import RunFigures

PACKAGES = ("pilot-twin", "simpy", "numpy", "scipy", "pandas", "numba", "pydantic", "pint",
            "pyarrow")


ENGINES = ("simpy", "compiled", "auto")
"""Engine choices of a run (``run.engine`` in a spec, ``--engine``, ``engine=``)."""

RECORDINGS = ("tables", "kpis")
"""What a run keeps (``run.record`` in a spec, ``--record``, ``record=``): every table, or
only the KPIs with the ``stations`` and ``energy`` tables."""

KEPT_WITH_KPIS = ("stations", "energy")
"""The tables a run with ``record = "kpis"`` keeps."""


def run_id(line: str, run_hash: str, seed: int) -> str:
    """The folder name of a run: same inputs, same id (``servo_actuator_3f2a9c01de_s7``)."""
    return f"{line}_{run_hash[:10]}_s{seed}"


class RunFailed(RuntimeError):
    """A run raised an error; ``result`` holds its provenance with the traceback."""

    def __init__(self, result: RunResult) -> None:
        self.result = result
        super().__init__(result.provenance.get("error", "run failed"))


@dataclass
class RunResult:
    """Everything one run produced.

    Attributes
    ----------
    line
        The validated spec that ran.
    provenance
        Spec hash, resolved parameters, settings, seed, package versions, wall time, status.
    tables
        ``states``, ``events``, ``parts``, ``stops`` (what happened), ``energy`` (the
        electricity ledger) and ``stations`` (station KPIs), as pandas frames; with alarms,
        ``signals`` (watched signal changes) and ``alarms`` (ISA-18.2 transitions).
    kpis
        Line KPIs (see :mod:`twin.observation.kpis`).
    warnings
        What needs a second look (:mod:`twin.observation.run_warnings` records: ``code``,
        ``message``, ``time``, ``stations``, ``units``): a deadlock run through, no good
        units, a batch station that never filled, a station offered more work than it can
        do, a WIP that grows through the run (:mod:`twin.observation.stability`), ...
    """

    line: S.LineSpec
    provenance: dict[str, Any]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    kpis: dict[str, Any] = field(default_factory=dict)
    warnings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def run_id(self) -> str:
        """Folder name: line name, settings hash and seed (same inputs, same id)."""
        p = self.provenance
        return run_id(p["line"], p["run_hash"], p["seed"])

    @property
    def stations(self) -> pd.DataFrame:
        """Station KPIs."""
        return self.tables["stations"]

    @property
    def plot(self) -> RunFigures:
        """Figures of this run: ``result.plot.gantt()``, ``levels()``, ``batch_profiles()``,
        ``utility_load()`` (matplotlib figures; a notebook shows them as PNG)."""
        from twin.figures.timeline import RunFigures

        s = self.provenance.get("settings") or {}
        return RunFigures(self.tables, self.provenance.get("parameters") or {},
                          float(s.get("warmup_s") or 0.0), float(s.get("duration_s") or 0.0))

    def _repr_html_(self) -> str:
        """A notebook shows a run as its id, headline KPIs and state Gantt."""
        from twin.figures.display import run_html

        return run_html(self.run_id, self.provenance, self.kpis, self.plot)

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary: provenance and line KPIs (NaN becomes ``null``)."""
        return runfolder.jsonable({"run_id": self.run_id, "provenance": self.provenance,
                                   "kpis": self.kpis, "warnings": self.warnings})

    def save(self, root: str | Path) -> Path:
        """Write the run folder under ``root``; returns its path.

        The folder is written under a temporary name and renamed when complete, so an
        interrupted save never leaves a folder that looks finished (see
        :mod:`twin.observation.runfolder`).
        """
        return runfolder.write(root, self.run_id, self.summary(), self.tables)


RESULT_SOURCES = ("kernels", "data", "process", "observation", "simulation",
                  "orchestration/run.py")
"""Packages and modules of ``twin`` whose source decides a run's results (hashed into its
identity): the layers up to the simulation, and this module (ledgers and KPIs of a run).
The rest of the orchestration layer and the edges (reports, dashboard, CLI) are not: editing
them does not make stored runs stale."""


@lru_cache(maxsize=1)
def code_hash() -> str:
    """SHA-256 of the source that changes results (:data:`RESULT_SOURCES`): runs made by
    other code get other ids."""
    root = Path(__file__).resolve().parents[1]
    return source_hash(root, RESULT_SOURCES)


def source_hash(root: Path, sources: Sequence[str]) -> str:
    """SHA-256 of the ``.py`` files of each source under ``root`` (a package folder or one
    file; paths and bytes; a missing source counts as empty)."""
    digest = hashlib.sha256()
    for source in sources:
        where = root / source
        files = [where] if where.is_file() else sorted(where.rglob("*.py"))
        for path in files:
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


@lru_cache(maxsize=1)
def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def resolve_line(line: S.LineSpec | str | Path | dict[str, Any]) -> tuple[S.LineSpec, str]:
    """A validated spec from a spec, a TOML path or a dict; plus where it came from."""
    if isinstance(line, S.LineSpec):
        problems = topology_problems(line)  # a spec built directly skipped these checks
        if problems:
            raise SpecError(problems, f"line {line.line.name!r}")
        return line, "python"
    if isinstance(line, dict):
        return line_from_dict(line), "python"
    return load_line(line), str(Path(line))


def spec_hash(line: S.LineSpec) -> str:
    """SHA-256 of the resolved spec (SI values), independent of how the file was written."""
    blob = json.dumps(line.model_dump(mode="json", by_alias=True), sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


@dataclass(frozen=True)
class PreparedRun:
    """A run ready to execute: validated spec, settings, events and its identity.

    Preparing is cheap and happens where the run is planned (e.g. in a sweep's main
    process), so that a bad spec fails before anything is launched and completed runs can be
    recognised by :attr:`run_id` without running them again.
    """

    line: S.LineSpec
    source: str
    duration: float
    warmup: float
    seed: int
    events: tuple[Any, ...] = ()
    spec_hash: str = ""
    run_hash: str = ""
    engine: str = "simpy"
    engine_note: str = ""
    state: LineState | None = None
    record: str = "tables"

    @property
    def start(self) -> float:
        """Time the run starts at [s]: 0, or the time of its initial state."""
        return 0.0 if self.state is None else self.state.time

    @property
    def run_id(self) -> str:
        """Folder name: line name, hash of spec + settings + events, and seed."""
        return run_id(self.line.line.name, self.run_hash, self.seed)


def execute_keeping_failures(prep: PreparedRun, replicas: Replicas | None = None
                             ) -> RunResult:
    """Run one prepared run; a failed run comes back as its result (with the traceback).

    This is what executors send to workers: it lives here so that a worker imports only
    what a run needs. ``replicas``: see :func:`execute`.
    """
    try:
        return execute(prep, replicas)
    except RunFailed as exc:
        return exc.result


def choose_engine(spec: S.LineSpec, events: tuple[Any, ...], wanted: str,
                  from_state: bool = False) -> tuple[str, str]:
    """The engine that runs ``spec`` (``wanted``: simpy, compiled or auto) and, when auto
    falls back to SimPy, why (what the compiled engine does not support, e.g. a start from a
    state).

    Raises
    ------
    ValueError
        If ``wanted`` is ``compiled`` and the compiled engine cannot run the line.
    """
    if wanted not in ENGINES:
        raise ValueError(f"unknown engine {wanted!r} (expected one of {ENGINES})")
    if wanted == "simpy":
        return "simpy", ""
    why = unsupported(spec, events) + (["a start from a state"] if from_state else [])
    if not why:
        return "compiled", ""
    if wanted == "compiled":
        raise ValueError("the compiled engine cannot run this line: " + "; ".join(why))
    return "simpy", "auto chose SimPy: the compiled engine does not support " + "; ".join(why)


def prepare(line: S.LineSpec | str | Path | dict[str, Any], *,
            duration: str | float | None = None, warmup: str | float | None = None,
            seed: int | None = None, events: Sequence[Any] = (),
            engine: str | None = None, on_deadlock: str | None = None,
            initial_state: LineState | str | Path | dict[str, Any] | None = None,
            calibrated: str | None = None, record: str | None = None) -> PreparedRun:
    """Validate a run's inputs and fix its identity (see :func:`run` for the arguments)."""
    spec, source = resolve_line(line)
    state = None if initial_state is None else checked(read_state(initial_state), spec)
    if on_deadlock is not None:  # part of the spec (and its hash): the run behaves otherwise
        settings = S.RunSettings.model_validate(
            {**spec.run.model_dump(), "on_deadlock": on_deadlock})
        spec = spec.model_copy(update={"run": settings})
    dur = spec.run.duration if duration is None else to_si(duration, "time", bare_unit="s")
    wu = spec.run.warmup if warmup is None else to_si(warmup, "time", bare_unit="s")
    sd = spec.run.seed if seed is None else int(seed)
    if dur <= 0 or wu < 0 or sd < 0:
        raise ValueError("duration must be > 0, warmup >= 0 and seed >= 0")
    spec = _calibrated(spec, calibrated or spec.run.calibrated, sd)
    events = parse_events(events)
    problems = event_problems(spec, list(events))
    if state is not None:  # event times are times of the run: none before its start
        problems += [Problem(f"events[{i}].at", f"{e.at:g} s is before the state's time "
                             f"{state.time:g} s (event times are times of the run)")
                     for i, e in enumerate(events) if e.at < state.time]
    if problems:
        raise SpecError(problems, "timed events")
    chosen, note = choose_engine(spec, events, engine or spec.run.engine, state is not None)
    keep = record or spec.run.record
    if keep not in RECORDINGS:
        raise ValueError(f"unknown record {keep!r} (expected one of {RECORDINGS})")
    shash = spec_hash(spec)
    blob = json.dumps([e.model_dump(mode="json") for e in events], sort_keys=True)
    tag = "" if chosen == "simpy" else f"|{chosen}"  # SimPy run ids are unchanged
    tag += "|kpis" if keep == "kpis" else ""  # and so are those of runs with tables
    if state is not None:  # runs from a state: the window starts at its time
        wu += state.time
        tag += f"|state:{state_hash(state)}"
    run_hash = hashlib.sha256(
        f"{shash}|{dur!r}|{wu!r}|{sd}|{blob}|{code_hash()}{tag}".encode()).hexdigest()
    return PreparedRun(spec, source, dur, wu, sd, events, shash, run_hash, chosen, note, state,
                       keep)


def _calibrated(spec: S.LineSpec, mode: str, seed: int) -> S.LineSpec:
    """The spec with its calibrated parameters at their estimates (as written) or at draw
    number ``seed`` of their joint distribution (``mode`` ``sample``)."""
    if mode not in ("estimate", "sample"):
        raise ValueError(f"calibrated must be 'estimate' or 'sample', got {mode!r}")
    if mode == "estimate":
        return spec
    if not spec.calibration:
        raise ValueError(f"line {spec.line.name!r} has no [calibration] to sample from "
                         "(twin calibrate writes it)")
    return sample_line(spec, seed)


def read_state(state: LineState | str | Path | dict[str, Any]) -> LineState:
    """A state from a :class:`~twin.data.state.LineState`, a state file or its data."""
    if isinstance(state, LineState):
        return state
    if isinstance(state, dict):
        return LineState.parse(state)
    return LineState.load(state)


def state_hash(state: LineState) -> str:
    """SHA-256 of a state's JSON."""
    return hashlib.sha256(state.to_json().encode()).hexdigest()


def execute(prep: PreparedRun, replicas: Replicas | None = None) -> RunResult:
    """Simulate a prepared run and compute its KPIs.

    ``replicas``: the run's line already lowered for the compiled engine (a run of many on
    one line, :mod:`twin.simulation.compiled.replicate`); the results are the same.

    Raises
    ------
    RunFailed
        If the simulation raised; the error carries the provenance with the traceback.
    """
    provenance = start_provenance(prep)
    t_wall = time.perf_counter()
    recorder = Recorder()
    end = prep.warmup + prep.duration
    folding = folds(prep)
    try:
        window = (prep.warmup, end) if folding else None
        model: LineModel | CompiledModel = (
            LineModel(prep.line, prep.seed, recorder, prep.events, state=prep.state)
            if prep.engine != "compiled" else
            CompiledModel(prep.line, prep.seed, recorder, prep.events, window)
            if replicas is None else replicas.model(prep.seed, recorder, prep.events, window))
        model.run(until=end)
        if folding:
            tables, kpis, series = finish_accumulated(prep, model)  # type: ignore[arg-type]
            warns = run_warnings(prep, model, tables, kpis, series)
        else:
            tables, kpis = finish_tables(prep, model, recorder)
            warns = run_warnings(prep, model, tables, kpis)
            if prep.record == "kpis":  # SimPy engine: the tables are dropped after use
                tables = {k: v for k, v in tables.items() if k in KEPT_WITH_KPIS}
    except Exception as exc:
        provenance.update(status="failed", wall_time_s=time.perf_counter() - t_wall,
                          error="".join(traceback.format_exception(exc)))
        raise RunFailed(RunResult(prep.line, provenance)) from exc
    provenance.update(status="completed", wall_time_s=time.perf_counter() - t_wall,
                      end_wip=model.wip())
    return RunResult(prep.line, provenance, tables, kpis, warns)


def start_provenance(prep: PreparedRun) -> dict[str, Any]:
    """The provenance of a run as it starts (status and wall time are added at the end)."""
    spec = prep.line
    started = {} if prep.state is None else {"initial_state": {
        "time_s": prep.start, "sha256": state_hash(prep.state),
        "provenance": prep.state.provenance, "state": json.loads(prep.state.to_json())}}
    return {
        "line": spec.line.name,
        "source": prep.source,
        "spec_hash": prep.spec_hash,
        "run_hash": prep.run_hash,
        "seed": prep.seed,
        "settings": {"duration_s": prep.duration, "warmup_s": prep.warmup, "seed": prep.seed,
                     **({"start_s": prep.start} if prep.state is not None else {})},
        "engine": prep.engine,
        "engine_note": prep.engine_note,
        "record": prep.record,
        **({"record_note": record_note(prep)} if prep.record == "kpis" else {}),
        "events": [e.model_dump(mode="json") for e in prep.events],
        "started_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": dict(_versions()),
        "code_hash": code_hash(),
        "parameters": spec.model_dump(mode="json", by_alias=True),
        **started,
    }


def finish_tables(prep: PreparedRun, model: LineModel | CompiledModel,
                  recorder: Recorder) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Tables, ledgers (balance checked) and KPIs of a model run to its end."""
    spec, wu = prep.line, prep.warmup
    end = wu + prep.duration
    if model.alarms is not None:
        model.alarms.finish(end)
    tables = recorder.tables(end)
    energy = electricity(spec, tables["states"], wu, end)
    stations = station_kpis(spec, tables, wu, end)
    kpis = line_kpis(spec, tables, stations, energy, wu, end)
    if spec.species:
        tables.update(process_ledger(spec, tables, model.inventory(), end))
        kpis.update(process_kpis(spec, tables, kpis, wu))
    if model.alarms is not None:  # alarm performance (ISA-18.2; not ISO 22400)
        kpis.update(alarm_summary(tables["alarms"], wu, end))
    if spec.costs is not None:  # after every KPI the costs read (energy, water, CO2e)
        kpis.update(cost_kpis(spec, tables, kpis, wu, end))
    tables.update(energy=energy, stations=stations)
    derive(kpis, tables, line_kind(bool(spec.species)), model.alarms is not None,
           spec.costs is not None)
    created = int((tables["events"]["kind"] == "created").sum())
    held = sum(model.wip().values())
    if created != len(tables["parts"]) + held:  # every part is finished or still in the line
        raise RuntimeError(f"part flow does not close: {created} created, "
                           f"{len(tables['parts'])} finished, {held} in the line")
    return tables, kpis


def folds(prep: PreparedRun) -> bool:
    """Whether the run folds its records into KPI accumulators as it goes: ``record =
    "kpis"`` on the compiled engine (an hourly grid factor and a time-of-use tariff are
    integrated over each state interval by the accumulators)."""
    return prep.engine == "compiled" and prep.record == "kpis"


def record_note(prep: PreparedRun) -> str:
    """How a run with ``record = "kpis"`` got its KPIs (for its provenance)."""
    if folds(prep):
        return ("KPIs from the compiled engine's accumulators (no record tables kept); "
                f"lead-time quantiles from a histogram, within "
                f"{100 * LEAD_RESOLUTION:.2g} % of the exact ones")
    return "KPIs from the record tables, which were then dropped (SimPy engine)"


def finish_accumulated(prep: PreparedRun, model: CompiledModel
                       ) -> tuple[dict[str, pd.DataFrame], dict[str, Any], np.ndarray]:
    """Tables (``stations``, ``energy``), KPIs and WIP batch series of a run that folded its
    records into KPI accumulators (:mod:`twin.observation.accumulated`)."""
    acc = model.accumulated()
    held = sum(model.wip().values())
    if acc.line["created"] != acc.line["finished"] + held:
        raise RuntimeError(f"part flow does not close: {acc.line['created']} created, "
                           f"{acc.line['finished']} finished, {held} in the line")
    end = prep.warmup + prep.duration
    tables, kpis = accumulated_kpis(prep.line, acc, prep.warmup, end)
    if model.alarms is not None:  # alarm performance from the alarm rows (kept: they are few)
        model.alarms.finish(end)
        kpis.update(alarm_summary(model.alarms.table(), prep.warmup, end))
    if prep.line.costs is not None:  # after every KPI the costs read (energy, CO2e)
        kpis.update(accumulated_cost_kpis(prep.line, acc, kpis, prep.warmup, end))
    derive(kpis, tables, line_kind(False), model.alarms is not None,
           prep.line.costs is not None)
    return tables, kpis, acc.wip_batches


def run_warnings(prep: PreparedRun, model: LineModel | CompiledModel,
                 tables: dict[str, pd.DataFrame], kpis: dict[str, Any],
                 wip_batches: np.ndarray | None = None) -> list[dict[str, Any]]:
    """The engine's warnings of a finished run, then those read from its tables (results
    and stability); a run that kept only KPI accumulators gives its WIP by batch of the
    window (``wip_batches``) for the trend check."""
    end = prep.warmup + prep.duration
    stability = (stability_warnings(prep.line, tables, prep.warmup, end) if wip_batches is None
                 else load_warnings(prep.line) + series_warnings(wip_batches, end))
    return (model.warnings + result_warnings(prep.line, tables, kpis, prep.warmup, end)
            + stability)


def run(line: S.LineSpec | str | Path | dict[str, Any], *, duration: str | float | None = None,
        warmup: str | float | None = None, seed: int | None = None,
        events: Sequence[Any] = (), engine: str | None = None,
        on_deadlock: str | None = None,
        initial_state: LineState | str | Path | dict[str, Any] | None = None,
        calibrated: str | None = None, record: str | None = None) -> RunResult:
    """Simulate a line and compute its KPIs.

    Parameters
    ----------
    line
        A spec, a path to a ``line.toml``, or spec data as a dict.
    duration
        Observation period after the warm-up (e.g. ``"30 d"``; a number is in seconds);
        default: the spec's ``run.duration``.
    warmup
        Warm-up period excluded from all statistics; default: the spec's ``run.warmup``.
    seed
        Seed of all random streams; default: the spec's ``run.seed``.
    events
        Timed events (:mod:`twin.data.scenario`) played into the run.
    engine
        ``"simpy"``, ``"compiled"`` (discrete lines only; an error names what it does not
        support) or ``"auto"`` (compiled when it can, else SimPy, and the provenance's
        ``engine_note`` says why); default: the spec's ``run.engine`` (``"simpy"``).
    on_deadlock
        ``"stop"`` (a deadlock fails the run with ``DeadlockError``) or ``"continue"`` (it
        becomes a warning); default: the spec's ``run.on_deadlock``.
    initial_state
        Start from this state (a :class:`~twin.data.state.LineState`, a state file or its
        data) at its time instead of from an empty line at 0: parts in buffers and in
        process go on (what is left of a cycle or phase under way is its conditional
        remaining time given the time it has run: exactly the rest for a constant time, a
        draw conditioned on exceeding the elapsed time for a random one), batches resume
        in their phase, tanks hold their contents. The run then covers
        ``[t, t + warmup + duration]`` and its KPIs the window after the warm-up; the
        provenance keeps the state (``initial_state``); timed ``events`` are at times of
        the run (none before the state's time). SimPy engine only (``"auto"`` picks it;
        ``"compiled"`` is refused).
    calibrated
        ``"estimate"`` (the spec's values) or ``"sample"``: every ``[calibration]`` phase
        takes draw number ``seed`` of its parameters' joint distribution
        (:mod:`twin.data.calibration`); default: the spec's ``run.calibrated``.
    record
        ``"tables"`` (every record table with the KPIs) or ``"kpis"`` (only the KPIs and
        the ``stations`` and ``energy`` tables: the compiled engine then folds its records
        into accumulators as it goes, for large studies; the same KPIs, lead-time quantiles
        within 0.1 %); default: the spec's ``run.record`` (``"tables"``). The provenance
        says which (``record``, ``record_note``).

    Raises
    ------
    twin.data.checks.SpecError
        If the spec or the events are invalid.
    RunFailed
        If the simulation raised; the error carries the provenance with the traceback.
    """
    return execute(prepare(line, duration=duration, warmup=warmup, seed=seed, events=events,
                           engine=engine, on_deadlock=on_deadlock,
                           initial_state=initial_state, calibrated=calibrated,
                           record=record))
