"""Simulation-based optimisation of a scenario: search, then select with a guarantee.

1. **Search.** Candidates are proposed by Optuna (TPE for one objective, NSGA-II for several;
   both take constraints) in batches, or, when the space is finite and fits the budget, every
   feasible point is evaluated (``method = "grid"``; ``"auto"`` chooses it then). Each
   candidate runs ``replications`` times under common random numbers; the search sees the
   means. Points that break a linear constraint are never simulated.
2. **Selection** (one objective). The best feasible candidates by mean go into procedure KN
   (:mod:`twin.optimise.selection`), which adds replications where candidates are close and
   returns the best with probability >= 1 - alpha when it is ``delta`` better than the rest.
   The winner is compared with the starting design (the scenario without the variables) by
   paired-t intervals over common replications.
3. **Several objectives.** The non-dominated feasible candidates form the Pareto front. They
   are re-run with independent seeds (not used in the search) by a two-stage selection of the
   Pareto set (:func:`twin.optimise.selection.pareto_select`): with probability >= 1 - alpha
   every truly Pareto-optimal candidate is kept, and no kept one is beaten by another by more
   than ``front_relative_delta`` (of the objective's scale) in every objective.

Why Optuna: it handles integer, continuous and categorical variables natively, takes
constraints in both its single- and multi-objective samplers, and its ask-and-tell interface
lets Pilot Twin run candidates on its own executors and store each evaluation as an ordinary
run. The search is deterministic for a seed and the same history, so a resumed optimisation
replays the stored evaluations (read back, not rerun) and continues identically.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twin.data.checks import Problem, SpecError
from twin.data.optimise import OptimiseSpec
from twin.observation import catalogue
from twin.observation.runfolder import write_study
from twin.optimise.evaluate import Evaluator, Progress
from twin.optimise.pareto import non_dominated
from twin.optimise.selection import kn_select, pareto_select
from twin.optimise.space import Dimension, dimensions, grid_points, linear_violation
from twin.orchestration import statistics as stats
from twin.orchestration.design import range_value
from twin.orchestration.executors import Executor
from twin.orchestration.scenario import Scenario

CONFIRM_SEED_OFFSET = 1_000_000
"""Replications that confirm a Pareto front use seeds from ``seed + CONFIRM_SEED_OFFSET``."""


@dataclass
class Optimisation:
    """What an optimisation found; everything is also written under :attr:`root`.

    Attributes
    ----------
    history
        One row per candidate: its values, objective and constraint means, feasibility.
    best
        The selected design's variable values (one objective), or None.
    selection
        One objective: procedure KN's outcome and the paired comparison with the starting
        design. Several: the Pareto-set selection's settings (``alpha``, ``deltas``) and
        outcome (``selected``, ``guaranteed``).
    front
        The Pareto front with its confirming replications and ``selected`` column (several
        objectives), or None.
    """

    root: Path
    history: pd.DataFrame
    best: dict[str, Any] | None
    selection: dict[str, Any]
    front: pd.DataFrame | None


def _objectives(opt: OptimiseSpec, source: str) -> list[tuple[str, bool]]:
    """(KPI, maximise) per objective; the direction comes from the KPI catalogue unless the
    scenario states it. Unknown KPIs (objectives and constraints) are refused here, before
    any run, with the closest catalogue keys."""
    problems, out = [], []
    for i, o in enumerate(opt.objective_list()):
        where = f"optimise.objectives[{i}]"
        try:
            better = catalogue.higher_is_better(o.kpi)
        except catalogue.UnknownKPI as exc:
            problems.append(Problem(where, str(exc)))
            continue
        if o.sense is None and better is None:
            problems.append(Problem(where, f"KPI {o.kpi!r} has no better direction: "
                                    "state sense = 'max' or 'min'"))
            continue
        out.append((o.kpi, o.sense == "max" if o.sense is not None else bool(better)))
    for i, c in enumerate(opt.constraints):
        if (("line", c.kpi)) not in catalogue.CATALOGUE:
            problems.append(Problem(f"optimise.constraints[{i}].kpi",
                                    catalogue.unknown_kpi_message(c.kpi)))
    if problems:
        raise SpecError(problems, source)
    return out


def _check_space(sc: Scenario, dims: list[Dimension], source: str) -> None:
    """Every variable's bounds (or levels) give a valid line, checked before any run."""
    problems: list[Problem] = []
    for d in dims:
        values = d.levels if d.kind == "categorical" else (
            range_value(d.low, d.unit, d.kind == "int"), range_value(d.high, d.unit,
                                                                     d.kind == "int"))
        for v in values:
            try:
                sc.line_for({**sc.spec.overrides, d.path: v})
            except SpecError as exc:
                problems += [Problem(f"optimise.variables[{d.path!r}]",
                                     f"value {v!r}: {p.message}") for p in exc.problems]
    if problems:
        raise SpecError(problems, source)


def _sampler(method: str, seed: int, n_obj: int, constrained: bool) -> Any:
    import optuna

    def constraints(trial: Any) -> list[float]:
        return trial.user_attrs.get("violation", [0.0])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constraints_func is marked experimental
        kw = {"seed": seed, "constraints_func": constraints if constrained else None}
        if method == "nsga2" or (method == "auto" and n_obj > 1):
            return optuna.samplers.NSGAIISampler(population_size=8, **kw)
        return optuna.samplers.TPESampler(n_startup_trials=8, multivariate=True, **kw)


def _means(rows: list[dict[str, Any]], keys: list[str]) -> dict[str, float]:
    out = {}
    for k in keys:
        vals = [r.get(k) for r in rows]
        ok = [float(v) for v in vals if isinstance(v, int | float) and np.isfinite(v)]
        out[k] = float(np.mean(ok)) if len(ok) == len(vals) and ok else float("nan")
    return out


class _Search:
    """The state of one optimisation while it runs."""

    def __init__(self, sc: Scenario, root: Path, evaluator: Evaluator) -> None:
        assert sc.spec.optimise is not None
        self.sc, self.root, self.ev = sc, root, evaluator
        self.opt: OptimiseSpec = sc.spec.optimise
        source = f"scenario {sc.name!r}"
        self.dims: list[Dimension] = dimensions(self.opt)
        self.objs = _objectives(self.opt, source)
        _check_space(sc, self.dims, source)
        self.rows: list[dict[str, Any]] = []

    # -- candidates ---------------------------------------------------------------------

    def evaluate(self, points: list[dict[str, Any]], reps: range) -> list[list[dict[str, Any]]]:
        jobs = [(p, r) for p in points for r in reps]
        flat = self.ev.kpis(jobs)
        n = len(reps)
        return [flat[i * n:(i + 1) * n] for i in range(len(points))]

    def record(self, point: dict[str, Any], runs: list[dict[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in self.objs] + [c.kpi for c in self.opt.constraints]
        means = _means(runs, keys)
        errors = [r["error"] for r in runs if "error" in r]
        violation = [0.0]
        for c in self.opt.constraints:
            v = means[c.kpi]
            if not np.isfinite(v):
                violation.append(1.0)
                continue
            if c.max is not None:
                violation.append(max(0.0, v - c.max))
            if c.min is not None:
                violation.append(max(0.0, c.min - v))
        feasible = not errors and all(x == 0.0 for x in violation) and all(
            np.isfinite(means[k]) for k, _ in self.objs)
        row = {"candidate": len(self.rows), **{f"x:{k}": v for k, v in point.items()},
               **{f"mean:{k}": v for k, v in means.items()}, "replications": len(runs),
               "feasible": feasible, "violation": float(sum(violation)),
               "errors": "; ".join(errors), "run_ids": [r["run_id"] for r in runs]}
        self.rows.append(row)
        return row

    def point_of(self, row: dict[str, Any]) -> dict[str, Any]:
        return {d.path: row[f"x:{d.path}"] for d in self.dims}

    # -- the search ---------------------------------------------------------------------

    def run_grid(self, points: list[dict[str, Any]]) -> None:
        reps = range(self.opt.replications)
        for point, runs in zip(points, self.evaluate(points, reps), strict=True):
            self.record(point, runs)

    def run_optuna(self) -> None:
        import optuna

        directions = ["maximize" if m else "minimize" for _, m in self.objs]
        constrained = bool(self.opt.constraints or self.opt.linear)
        study = optuna.create_study(directions=directions, sampler=_sampler(
            self.opt.method, self.opt.seed, len(self.objs), constrained))
        reps = range(self.opt.replications)
        while len(self.rows) < self.opt.budget:
            size = min(self.opt.batch, self.opt.budget - len(self.rows))
            trials, points = [], []
            while len(trials) < size:
                trial, point = self._ask_feasible(study)
                trials.append(trial)
                points.append(point)
            for trial, point, runs in zip(trials, points, self.evaluate(points, reps),
                                          strict=True):
                row = self.record(point, runs)
                values = [row[f"mean:{k}"] for k, _ in self.objs]
                if not all(np.isfinite(values)):
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
                    continue
                trial.set_user_attr("violation", [row["violation"]])
                study.tell(trial, values)
            self.save()

    def _ask_feasible(self, study: Any) -> tuple[Any, dict[str, Any]]:
        """A proposal that keeps the linear constraints. One that breaks them is never
        simulated: it is told with its violation (and the worst objective values seen), so
        the constrained sampler learns where the feasible region is."""
        for _ in range(500):
            trial = study.ask()
            point = {d.path: d.suggest(trial) for d in self.dims}
            violation = linear_violation(self.opt, self.dims, point)
            if violation == 0.0:
                return trial, point
            trial.set_user_attr("violation", [violation])
            study.tell(trial, self._worst())
        raise SpecError([Problem("optimise.linear", "the sampler found no point that keeps "
                                 "the linear constraints in 500 tries: are they satisfiable?")],
                        f"scenario {self.sc.name!r}")

    def _worst(self) -> list[float]:
        """The worst mean seen per objective (0 before any), for unsimulated proposals."""
        out = []
        for k, maximize in self.objs:
            seen = [r[f"mean:{k}"] for r in self.rows if np.isfinite(r[f"mean:{k}"])]
            out.append((min(seen) if maximize else max(seen)) if seen else 0.0)
        return out

    # -- outputs ------------------------------------------------------------------------

    def history(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)

    def save(self, extra: dict[str, Any] | None = None) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        hist = self.history()
        hist.drop(columns=["run_ids"]).to_csv(self.root / "history.csv", index=False)
        points: list[dict[str, Any]] = []
        index: dict[str, int] = {}
        tasks = []
        for run_id, point, rep, seed in self.ev.planned:
            key = json.dumps(point, sort_keys=True, default=str)
            if key not in index:
                index[key] = len(points)
                points.append(point)
            tasks.append({"point": index[key], "replication": rep, "seed": seed,
                          "run_id": run_id})
        unique = list({t["run_id"]: t for t in tasks}.values())
        write_study(self.root, "optimisation", {
            "scenario": self.sc.spec.model_dump(mode="json", by_alias=True),
            "line_file": str(self.sc.line_path()),
            "objectives": [{"kpi": k, "maximize": m} for k, m in self.objs],
            "rank_by": self.objs[0][0], "maximize": self.objs[0][1],
            "points": points, "tasks": unique,
            "candidates": json.loads(hist.to_json(orient="records")), **(extra or {})})


def _select(s: _Search) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """Procedure KN over the best feasible candidates, then paired intervals vs the start."""
    kpi, maximize = s.objs[0]
    hist = s.history()
    feas = hist[hist["feasible"]].copy()
    if feas.empty:
        return None, {"note": "no feasible candidate"}
    feas["_key"] = feas[[c for c in feas.columns if c.startswith("x:")]].astype(str).agg(
        "|".join, axis=1)
    feas = feas.drop_duplicates("_key")
    feas = feas.sort_values(f"mean:{kpi}", ascending=not maximize)
    finalists = [s.point_of(r) for _, r in feas.head(s.opt.select.candidates).iterrows()]
    sel_spec = s.opt.select
    best_mean = float(feas[f"mean:{kpi}"].iloc[0])
    delta = sel_spec.delta or abs(best_mean) * sel_spec.relative_delta or 1e-9
    if len(finalists) == 1:
        best = finalists[0]
        info: dict[str, Any] = {"kpi": kpi, "finalists": finalists, "guaranteed": False,
                                "note": "only one feasible candidate"}
    else:
        def observe(pairs: list[tuple[int, int]]) -> list[float]:
            rows = s.ev.kpis([(finalists[i], r) for i, r in pairs])
            return [float(r.get(kpi, float("nan"))) if "error" not in r else float("nan")
                    for r in rows]

        sel = kn_select(observe, len(finalists), delta=delta, alpha=sel_spec.alpha,
                        n0=sel_spec.first_stage, maximize=maximize,
                        max_replications=sel_spec.max_replications)
        best = finalists[sel.best]
        info = {"kpi": kpi, "maximize": maximize, "delta": delta, "alpha": sel_spec.alpha,
                "finalists": finalists, "replications": sel.replications, "means": sel.means,
                "survivors": sel.survivors, "guaranteed": sel.guaranteed, "best": sel.best}
    # paired comparison with the starting design over the winner's replications
    n = max(sel_spec.first_stage, s.opt.replications)
    reps = range(n)
    start = s.evaluate([{}], reps)[0]
    won = s.evaluate([best], reps)[0]
    a = [float(r[kpi]) for r in won if "error" not in r]
    b = [float(r[kpi]) for r in start if "error" not in r]
    if len(a) == len(b) == n and n >= 2:
        iv = stats.paired_difference(a, b)
        info["versus_start"] = {"kpi": kpi, "best_mean": float(np.mean(a)),
                                "start_mean": float(np.mean(b)), "difference": iv.mean,
                                "low": iv.low, "high": iv.high, "replications": n}
    return best, info


def _front(s: _Search) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The non-dominated feasible candidates of the search, re-run with independent seeds
    and put through :func:`pareto_select` (column ``selected``; ``dominated_by`` names the
    candidate that beats a left-out one with confidence)."""
    hist = s.history()
    feas = hist[hist["feasible"]]
    keys, maximize = [k for k, _ in s.objs], [m for _, m in s.objs]
    if feas.empty:
        return pd.DataFrame(), {"pareto_size": 0, "note": "no feasible candidate"}
    front = feas[non_dominated(feas[[f"mean:{k}" for k in keys]].to_numpy(), maximize)].copy()
    points = [s.point_of(r) for _, r in front.iterrows()]
    sel_spec = s.opt.select
    deltas = [sel_spec.front_relative_delta * max(float(front[f"mean:{k}"].abs().max()), 1e-12)
              for k in keys]

    def observe(pairs: list[tuple[int, int]]) -> list[list[float]]:
        rows = s.ev.kpis([(points[i], CONFIRM_SEED_OFFSET + r) for i, r in pairs])
        return [[float(row.get(k, float("nan"))) if "error" not in row else float("nan")
                 for k in keys] for row in rows]

    info: dict[str, Any] = {"pareto_size": len(front), "alpha": sel_spec.alpha,
                            "deltas": dict(zip(keys, deltas, strict=True))}
    if len(points) >= 2:
        sel = pareto_select(observe, len(points), deltas=deltas, maximize=maximize,
                            alpha=sel_spec.alpha, n0=sel_spec.first_stage,
                            max_replications=sel_spec.max_replications)
        obs, chosen, beaten = sel.observations, set(sel.selected), sel.dominated_by
        info.update(selected=len(chosen), guaranteed=sel.guaranteed)
    else:
        obs = [observe([(0, r) for r in range(max(s.opt.replications, 5))])]
        chosen, beaten = {0}, {}
        info.update(selected=1, guaranteed=False, note="one candidate on the front")
    labels = [", ".join(f"{k}={v}" for k, v in p.items()) for p in points]
    front["selected"] = [i in chosen for i in range(len(points))]
    front["dominated_by"] = [labels[beaten[i]] if i in beaten else "" for i in range(len(points))]
    front["confirm_replications"] = [len(o) for o in obs]
    for m, k in enumerate(keys):
        ivs = [stats.mean_ci([row[m] for row in o]) for o in obs]
        front[f"confirm:{k}"] = [iv.mean for iv in ivs]
        front[f"confirm_hw:{k}"] = [iv.half_width for iv in ivs]
    return front.drop(columns=["run_ids"]), info


def optimise(scenario: Scenario | str | Path, out: str | Path = "studies", *,
             executor: Executor = "local", workers: int | None = None,
             cluster: str | None = None, progress: Progress | None = None) -> Optimisation:
    """Optimise a scenario's ``[optimise]`` section; resumes from the stored runs.

    Results go to ``<out>/<scenario name>/``: ``runs/`` (one run folder per evaluation),
    ``history.csv``, ``study.json`` (kind ``optimisation``: plan, candidates, selection),
    ``best.toml`` (the best design as a line spec) and, with several objectives,
    ``pareto.csv``.

    Raises
    ------
    twin.data.checks.SpecError
        If the scenario has no ``[optimise]`` section or it does not fit the line (before any
        run).
    """
    sc = scenario if isinstance(scenario, Scenario) else Scenario.load(scenario)
    if sc.spec.optimise is None:
        raise SpecError([Problem("optimise", "the scenario has no [optimise] section")],
                        f"scenario {sc.name!r}")
    root = Path(out) / sc.name
    ev = Evaluator(sc, root, executor, workers, cluster, progress)
    search = _Search(sc, root, ev)
    if sc.spec.run.warmup == "auto":
        ev.warmup = ev.auto_warmup({})
    grid = grid_points(search.opt, search.dims, search.opt.budget)
    if search.opt.method == "grid" and not grid:
        raise SpecError([Problem("optimise.method", "'grid' needs a finite space (integer, "
                                 "stepped or categorical variables) within the budget")],
                        f"scenario {sc.name!r}")
    if grid and search.opt.method in ("grid", "auto"):
        search.run_grid(grid)
    else:
        search.run_optuna()
    best, front = None, None
    if len(search.objs) == 1:
        best, info = _select(search)
    else:
        front, info = _front(search)
        front.to_csv(root / "pareto.csv", index=False)
    extra = {"selection": info, "best": best, "warmup_s": ev.warmup,
             "runs_executed": ev.executed, "runs_read_back": ev.read_back}
    search.save(extra)
    if best is not None:
        _write_best(sc, best, root / "best.toml")
    return Optimisation(root, search.history(), best, info, front)


def _write_best(sc: Scenario, best: dict[str, Any], path: Path) -> None:
    """The best design as a line spec file (the base line with every override applied)."""
    import tomli_w

    from twin.data.overrides import apply_overrides

    data, problems = apply_overrides(sc.line_data(), {**sc.spec.overrides, **best})
    if problems:  # the same overrides were validated before any run
        raise SpecError(problems, str(path))
    header = (f"# Best design of scenario {sc.name!r} found by twin optimise\n"
              f"# base line: {sc.line_path()}\n"
              + "".join(f"# {k} = {v!r}\n" for k, v in best.items()))
    path.write_text(header + tomli_w.dumps(data))
