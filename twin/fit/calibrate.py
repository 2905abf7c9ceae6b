"""Calibrating process kernels to batch data by weighted least squares (``twin
calibrate``).

Each :class:`Batch` has its own initial state (concentrations, temperature, volume, jacket
temperature, feed) and observations (concentrations or the temperature at times after the
phase start, each with a standard deviation that weights it). A model is the reactor kernel
(:class:`Reactor`: rate constants, activation energies, heats of reaction, UA) or the
fermentation kernel (:class:`Fermenter`: Monod, yield, maintenance and kLa parameters),
integrated from one observation time to the next, so predictions are exact at the
observation times. ``<VAR>0@BATCH`` fits a batch's initial value of an observed variable
(e.g. ``A0@B1``, ``X0@B1``).

Arrhenius pairs are fitted in the reference-temperature form k(T) = k_ref exp(-Ea/R (1/T -
1/T_ref)): near T_ref the estimates of k_ref and Ea are almost uncorrelated, where k0 and Ea
are correlated to within 1e-6 of 1 (Schwaab & Pinto 2007). Positive parameters are fitted on
the log scale. Intervals: from the Jacobian (s^2 (J'J)^-1, t quantile with n - p degrees of
freedom), and by profile likelihood (the values where the least-squares objective with the
other parameters re-fitted rises to S_min (1 + t^2 / (n - p)), Bates & Watts 1988, ch. 6).
Identifiability warnings: correlations beyond 0.95, relative standard errors beyond 100 %, and
an ill-conditioned J'J.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
from scipy import optimize, stats

from twin.kernels import integrate
from twin.kernels.fermentation import (
    fermentation_parameters,
    fermentation_phase,
    fermentation_state,
)
from twin.kernels.reactor import PARALLEL, SERIES, SINGLE, reactor_parameters, reactor_phase
from twin.kernels.rhs import fermentation as fm
from twin.kernels.rhs import reactor as rx

R_GAS = 8.314462618
"""Molar gas constant [J/(mol K)]."""
SPECIES = {"A": rx.N_A, "B": rx.N_B, "C": rx.N_C}
"""Observable species of the reactor kernel and their state index; ``T`` is the
temperature."""


class CalibrationError(ValueError):
    """Calibration inputs that cannot work (unknown parameter, no data, a failed model)."""


@dataclass
class Batch:
    """One batch: initial state and observations.

    ``c0``: initial values of observed variables (concentrations of A, B, C [mol/m3],
    ...); ``t0``: initial temperature [K]; ``volume`` [m3]; ``jacket``: jacket temperature
    [K] (for a dryer the drying-air temperature, for a crystalliser the end of the cooling
    ramp). Observations: ``time`` [s after the start], ``variable`` (``A``, ``B``, ``C`` or
    ``T``; other models name theirs), ``value`` [mol/m3 or K] and ``sd`` (measurement
    standard deviation; weights 1 / sd^2). ``feed``: a fermenter's feed; ``conditions``:
    other per-batch settings a model names (a crystalliser's cooling time and seeds).
    """

    name: str
    c0: dict[str, float]
    t0: float
    volume: float
    jacket: float
    time: np.ndarray
    variable: np.ndarray
    value: np.ndarray
    sd: np.ndarray
    feed: dict[str, float] = field(default_factory=dict)
    conditions: dict[str, float] = field(default_factory=dict)


def initial_value(values: dict[str, float], batch: Batch, var: str, default: float) -> float:
    """A batch's initial value of ``var``: fitted (``VAR0@BATCH``), given, or ``default``."""
    return values.get(f"{var}0@{batch.name}", batch.c0.get(var, default))


@dataclass
class Reactor:
    """The reactor model's base values (SI): kinetics of one or two reactions (``scheme``
    ``single``, ``series`` or ``parallel``) in reference-temperature form, heats of
    reaction, UA, volumetric heat capacity ``rho_cp`` [J/(m3 K)] and ``t_ref`` [K]."""

    k_ref: float
    ea: float
    t_ref: float
    dh: float = 0.0
    ua: float = 1.0
    rho_cp: float = 4.0e6
    scheme: str = "single"
    k_ref_2: float = 0.0
    ea_2: float = 0.0
    dh_2: float = 0.0

    names = ("k_ref", "ea", "dh", "ua", "k_ref_2", "ea_2", "dh_2")
    positive = frozenset({"k_ref", "ea", "ua", "k_ref_2", "ea_2"})
    variables = ("A", "B", "C", "T")
    units = {"A": "mol/m3", "B": "mol/m3", "C": "mol/m3", "T": "K"}

    def values(self) -> dict[str, float]:
        """Current values of the fittable parameters."""
        return {k: getattr(self, k) for k in self.names}

    def k0(self, k_ref: float, ea: float) -> float:
        """Pre-exponential factor [1/s] of k_ref at t_ref with activation energy ea."""
        return k_ref * math.exp(ea / (R_GAS * self.t_ref))

    def predict(self, values: dict[str, float], batch: Batch, rtol: float = 1e-10
                ) -> np.ndarray:
        """Concentrations [mol/m3] and temperatures [K] at the batch's observations."""
        v = self.values() | {k: x for k, x in values.items() if "@" not in k}
        scheme = {"single": SINGLE, "series": SERIES, "parallel": PARALLEL}[self.scheme]
        n = {sp: initial_value(values, batch, sp, 0.0) * batch.volume for sp in SPECIES}
        p = reactor_parameters(
            k0=self.k0(v["k_ref"], v["ea"]), ea=v["ea"], dh=v["dh"], rho_cp=self.rho_cp,
            ua=v["ua"], t_jacket=batch.jacket, n_a_total=max(n["A"], 1e-300), scheme=scheme,
            k0_2=self.k0(v["k_ref_2"], v["ea_2"]) if v["k_ref_2"] > 0 else 0.0,
            ea_2=v["ea_2"], dh_2=v["dh_2"])
        y = np.zeros(rx.N_STATES)
        for sp, index in SPECIES.items():
            y[index] = n[sp]
        y[rx.TEMP], y[rx.VOL] = initial_value(values, batch, "T", batch.t0), batch.volume

        def step(y: np.ndarray, t_now: float, dt: float) -> tuple[int, np.ndarray]:
            status, _, _, y_end, _, _, _ = reactor_phase(p, y, dt, rtol, integrate.AUTO,
                                                         1_000_000, 2)
            return status, y_end

        def observe(s: np.ndarray, var: str) -> float:
            return s[rx.TEMP] if var == "T" else s[SPECIES[var]] / s[rx.VOL]

        return march(step, observe, y, batch, "reactor", values)


@dataclass
class Fermenter:
    """The fermentation model's base values (SI): Monod growth on substrate (``ks``) and
    dissolved oxygen (``ko``), yields ``y_xs``, ``y_xo``, maintenance ``m_s``, ``m_o``, and
    oxygen transfer ``kla``, ``c_star``. Observed: biomass ``X``, substrate ``S`` and
    dissolved oxygen ``O`` [kg/m3]; a batch's ``feed`` holds ``s_feed`` [kg/m3], ``f0``
    [m3/s], ``mu_feed`` [1/s], ``t_feed_start`` and ``t_feed_end`` [s]."""

    mu_max: float
    ks: float
    y_xs: float
    y_xo: float
    kla: float
    c_star: float = 7.5e-3
    ko: float = 0.0
    m_s: float = 0.0
    m_o: float = 0.0

    names = ("mu_max", "ks", "ko", "y_xs", "y_xo", "m_s", "m_o", "kla", "c_star")
    positive = frozenset({"mu_max", "ks", "ko", "y_xs", "y_xo", "kla", "c_star"})
    variables = ("X", "S", "O")
    units = {"X": "kg/m3", "S": "kg/m3", "O": "kg/m3"}

    def values(self) -> dict[str, float]:
        """Current values of the fittable parameters."""
        return {k: getattr(self, k) for k in self.names}

    def predict(self, values: dict[str, float], batch: Batch, rtol: float = 1e-9
                ) -> np.ndarray:
        """Concentrations [kg/m3] at the batch's observations."""
        v = self.values() | {k: x for k, x in values.items() if "@" not in k}
        f = {"s_feed": 0.0, "f0": 0.0, "mu_feed": 0.0, "t_feed_start": 0.0,
             "t_feed_end": math.inf} | batch.feed
        y = fermentation_state(biomass=initial_value(values, batch, "X", 0.0),
                               substrate=initial_value(values, batch, "S", 0.0),
                               dissolved_oxygen=initial_value(values, batch, "O", v["c_star"]),
                               volume=batch.volume)

        def step(y: np.ndarray, t_now: float, dt: float) -> tuple[int, np.ndarray]:
            p = fermentation_parameters(  # the feed window counted from this segment's start
                mu_max=v["mu_max"], ks=v["ks"], ko=v["ko"], y_xs=v["y_xs"], y_xo=v["y_xo"],
                m_s=v["m_s"], m_o=v["m_o"], kla=v["kla"], c_star=v["c_star"],
                s_feed=f["s_feed"], f0=f["f0"], mu_feed=f["mu_feed"],
                t_feed_start=f["t_feed_start"] - t_now, t_feed_end=f["t_feed_end"] - t_now)
            status, _, _, y_end, _, _, _ = fermentation_phase(p, y, dt, rtol, integrate.AUTO,
                                                              1_000_000, 2)
            return status, y_end

        index = {"X": fm.M_X, "S": fm.M_SUB, "O": fm.M_O2}

        def observe(s: np.ndarray, var: str) -> float:
            return s[index[var]] / s[fm.VOL]

        return march(step, observe, y, batch, "fermentation", values)


if TYPE_CHECKING:
    from twin.fit.kinetic_models import Crystalliser, Dryer, Network

Model: TypeAlias = "Reactor | Fermenter | Network | Dryer | Crystalliser"
"""The calibration models (the reactor's schemes and the fermenter here; the reaction
network, dryer and crystalliser in :mod:`twin.fit.kinetic_models`)."""


def march(step: Any, observe: Any, y: np.ndarray, batch: Batch, what: str,
           values: dict[str, float]) -> np.ndarray:
    """Integrate from one observation time to the next (``step(y, t_now, dt)``) and read
    each observation from the state at its time."""
    states = {}
    t_now = 0.0
    for t in np.unique(batch.time):
        if t > t_now:
            status, y = step(y, t_now, float(t - t_now))
            if status != 0:
                raise CalibrationError(f"the {what} model failed for batch {batch.name} "
                                       f"(status {status}) with {values}")
            t_now = float(t)
        states[t] = y.copy()
    return np.array([observe(states[t], var) for t, var in zip(batch.time, batch.variable,
                                                                strict=True)])


def predict(model: Model, values: dict[str, float], batch: Batch) -> np.ndarray:
    """Model values at the batch's observations (same order), with parameter ``values``
    overriding the model's."""
    return model.predict(values, batch)


@dataclass
class Calibration:
    """A fitted calibration: estimates, intervals, correlations, fit statistics."""

    params: list[str]
    estimate: dict[str, float]
    se: dict[str, float]
    jacobian_ci: dict[str, tuple[float, float]]
    correlation: np.ndarray
    ssr: float
    n: int
    dof: int
    confidence: float
    warnings: list[str] = field(default_factory=list)
    profile_ci: dict[str, tuple[float, float]] = field(default_factory=dict)
    residuals: dict[str, np.ndarray] = field(default_factory=dict)
    predictions: dict[str, np.ndarray] = field(default_factory=dict)
    log: list[bool] = field(default_factory=list)
    fitted: np.ndarray = field(default_factory=lambda: np.zeros(0))
    covariance: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    """``log``: whether each parameter is fitted on the log scale; ``fitted``: the
    estimates on the fitted scale; ``covariance``: s^2 (J'J)^-1 on the fitted scale."""

    @property
    def s(self) -> float:
        """Residual standard error (weighted) [-]."""
        return math.sqrt(self.ssr / self.dof)

    def table(self) -> str:
        """Plain-text table of estimates, standard errors and intervals."""
        lvl = f"{self.confidence:.0%}"
        out = [f"{'parameter':<16}{'estimate':>14}{'std error':>12}  Jacobian {lvl}"
               + (f"{'':>20}profile {lvl}" if self.profile_ci else "")]
        for p in self.params:
            lo, hi = self.jacobian_ci[p]
            line = f"{p:<16}{self.estimate[p]:>14.6g}{self.se[p]:>12.4g}  [{lo:.6g}, {hi:.6g}]"
            if p in self.profile_ci:
                a, b = self.profile_ci[p]
                line += f"  [{a:.6g}, {b:.6g}]"
            out.append(line)
        out.append(f"n = {self.n}, p = {len(self.params)}, weighted SSR = {self.ssr:.6g}, "
                   f"s = {self.s:.4g}")
        return "\n".join(out)


def _check(model: Model, params: list[str], batches: list[Batch]) -> None:
    names = {b.name for b in batches}
    for p in params:
        base, _, batch = p.partition("@")
        initial = base.endswith("0") and base[:-1] in model.variables and batch in names
        if base not in model.names and not initial:
            raise CalibrationError(
                f"cannot fit {p!r}: parameters are {', '.join(model.names)} and VAR0@BATCH "
                f"with VAR in {', '.join(model.variables)} (batches: {', '.join(sorted(names))})")
    if not batches or not sum(b.value.size for b in batches):
        raise CalibrationError("no observations to fit")


def _is_log(model: Model, p: str) -> bool:
    """Whether ``p`` is fitted on the log scale (positive parameters, initial values)."""
    base = p.partition("@")[0]
    return base in model.positive or (base.endswith("0") and base[:-1] in model.variables)


def _to_natural(log: bool, z: float) -> float:
    if not log:
        return z
    return math.exp(z) if z < 700.0 else math.inf


def _to_fit(log: bool, p: str, x: float) -> float:
    if log:
        if x <= 0:
            raise CalibrationError(f"{p} must start positive, got {x}")
        return math.log(x)
    return x


EA_RANGE = (1.0e3, 5.0e5)
"""Activation energies searched [J/mol] (beyond them k0 overflows)."""


def _bounds(params: list[str], log: list[bool], z0: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """Search bounds in fitted coordinates: activation energies (``ea``, ``ea_2``, a
    network's ``<reaction>.ea`` and ``.ea_reverse``) within :data:`EA_RANGE`,
    other log-scale parameters within e^+-30 of their start, the rest free."""
    lo, hi = np.full(z0.size, -np.inf), np.full(z0.size, np.inf)
    for i, p in enumerate(params):
        if p.rpartition(".")[2] in ("ea", "ea_2", "ea_reverse"):
            lo[i], hi[i] = math.log(EA_RANGE[0]), math.log(EA_RANGE[1])
        elif log[i]:
            lo[i], hi[i] = z0[i] - 30.0, z0[i] + 30.0
    return lo, hi


def residual_function(model: Model, batches: list[Batch], params: list[str]
                      ) -> tuple[Any, list[bool]]:
    """The weighted residuals (prediction - value) / sd of all ``batches`` as a function of
    the parameters on the fitted scale, and which parameters are fitted on the log scale
    (the least-squares fit and the MCMC posterior use the same function)."""
    log = [_is_log(model, p) for p in params]

    def resid(z: np.ndarray) -> np.ndarray:
        vals = {p: _to_natural(g, zi) for p, g, zi in zip(params, log, z, strict=True)}
        return np.concatenate([(predict(model, vals, b) - b.value) / b.sd for b in batches])

    return resid, log


def calibrate(model: Model, batches: list[Batch], params: list[str], *,
              start: dict[str, float] | None = None, confidence: float = 0.95,
              profile: bool = False) -> Calibration:
    """Weighted least squares of ``params`` to the observations of all ``batches``.

    ``start``: starting values (default: the model's, and each batch's initial values).
    ``profile``: also compute profile-likelihood intervals (one constrained fit per point).
    """
    _check(model, params, batches)
    resid, log = residual_function(model, batches, params)
    base = model.values() | {f"{v}0@{b.name}": x for b in batches for v, x in b.c0.items()}
    base |= {f"T0@{b.name}": b.t0 for b in batches} | (start or {})
    missing = [p for p in params if p not in base]
    if missing:
        raise CalibrationError(f"no starting value for {missing[0]} (give it in start)")
    z0 = np.array([_to_fit(g, p, base[p]) for p, g in zip(params, log, strict=True)])
    lo, hi = _bounds(params, log, z0)
    sol = optimize.least_squares(resid, np.clip(z0, lo, hi), jac="3-point", x_scale="jac",
                                 xtol=1e-12, ftol=1e-12, gtol=1e-12, max_nfev=2000,
                                 bounds=(lo, hi))
    n, k = sol.fun.size, len(params)
    dof = max(n - k, 1)
    ssr = float(sol.fun @ sol.fun)
    s2 = ssr / dof
    jtj = sol.jac.T @ sol.jac
    warnings: list[str] = []
    cond = np.linalg.cond(jtj)
    if not np.isfinite(cond) or cond > 1e12:
        weakest = params[int(np.argmax(np.abs(np.linalg.eigh(jtj)[1][:, 0])))]
        warnings.append(f"J'J is ill-conditioned (condition number {cond:.3g}): the data do "
                        f"not determine all parameters (weakest: {weakest})")
    cov = s2 * np.linalg.pinv(jtj)
    se_z = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    q = float(stats.t.ppf(0.5 + confidence / 2, dof))
    est, se, ci = {}, {}, {}
    for p, g, z, s in zip(params, log, sol.x, se_z, strict=True):
        est[p] = _to_natural(g, z)
        se[p] = est[p] * s if g else s
        ci[p] = (_to_natural(g, z - q * s), _to_natural(g, z + q * s))
        if se[p] > abs(est[p]):
            warnings.append(f"{p}: standard error {se[p]:.3g} exceeds the estimate "
                            f"{est[p]:.3g} (not identifiable from these data)")
    d = np.sqrt(np.diag(cov))
    corr = cov / np.outer(d, d) if np.all(d > 0) else np.full_like(cov, np.nan)
    for i in range(k):
        for j in range(i + 1, k):
            if abs(corr[i, j]) > 0.95:
                warnings.append(f"{params[i]} and {params[j]} are correlated "
                                f"({corr[i, j]:+.3f}): the data hardly separate them")
    cal = Calibration(list(params), est, se, ci, corr, ssr, n, dof, confidence, warnings,
                      log=log, fitted=sol.x.copy(), covariance=cov)
    vals = dict(est)
    for b in batches:
        cal.predictions[b.name] = predict(model, vals, b)
        cal.residuals[b.name] = cal.predictions[b.name] - b.value
    if profile:
        cal.profile_ci = {p: _profile(resid, sol.x, log[i], i, se_z[i], ssr * (1 + q * q / dof))
                          for i, p in enumerate(params)}
    return cal


def _profile(resid: Any, z_hat: np.ndarray, log: bool, i: int, se: float,
             level: float) -> tuple[float, float]:
    """Profile-likelihood interval of parameter ``i``: where the objective minimised over
    the other parameters crosses ``level``."""
    others = [j for j in range(z_hat.size) if j != i]

    def excess(zi: float) -> float:
        def r(zo: np.ndarray) -> np.ndarray:
            z = z_hat.copy()
            z[i], z[others] = zi, zo
            return resid(z)
        if others:
            f = optimize.least_squares(r, z_hat[others], jac="2-point", x_scale="jac",
                                       xtol=1e-10, ftol=1e-10).fun
        else:
            f = r(np.zeros(0))
        return float(f @ f) - level

    ends = []
    for sign in (-1.0, 1.0):
        step = max(se, 1e-6)
        a = z_hat[i]
        b = a + sign * step
        tries = 0
        while excess(b) < 0 and tries < 30:
            a, b, step, tries = b, b + sign * step, step * 2, tries + 1
        root = optimize.brentq(excess, min(a, b), max(a, b), xtol=1e-10) if tries < 30 \
            else math.inf * sign
        ends.append(_to_natural(log, root) if math.isfinite(root) else root)
    return ends[0], ends[1]


@dataclass
class Validation:
    """Prediction against measurement on held-out batches: error metrics per variable and
    whether the twin passes (held-out RMSE at most ``tolerance`` x the fit's RMSE for every
    variable)."""

    rows: list[dict[str, Any]]
    passed: bool
    message: str


def validate(model: Model, cal: Calibration, fit_batches: list[Batch],
             test_batches: list[Batch], tolerance: float = 2.0) -> Validation:
    """Predict the held-out ``test_batches`` with the calibrated parameters and compare with
    their measurements (RMSE, MAE, bias, R^2 per variable)."""
    vals = dict(cal.estimate)
    rows, ok = [], True
    fails = []
    for var in sorted({v for b in fit_batches + test_batches for v in set(b.variable)}):
        def errs(bs: list[Batch], var: str = var) -> tuple[np.ndarray, np.ndarray]:
            e, y = [], []
            for b in bs:
                m = b.variable == var
                if m.any():
                    e.append(predict(model, vals, b)[m] - b.value[m])
                    y.append(b.value[m])
            return (np.concatenate(e), np.concatenate(y)) if e else (np.zeros(0), np.zeros(0))
        e_fit, _ = errs(fit_batches)
        e, y = errs(test_batches)
        if not e.size:
            continue
        rmse_fit = float(np.sqrt(np.mean(e_fit ** 2))) if e_fit.size else math.nan
        rmse = float(np.sqrt(np.mean(e ** 2)))
        sst = float(np.sum((y - y.mean()) ** 2))
        row = {"variable": var, "n": int(e.size), "rmse": rmse, "mae": float(np.mean(abs(e))),
               "bias": float(e.mean()), "r2": 1 - float(e @ e) / sst if sst > 0 else math.nan,
               "rmse_fit": rmse_fit}
        rows.append(row)
        if not rmse <= tolerance * rmse_fit:
            ok = False
            fails.append(f"{var}: held-out RMSE {rmse:.4g} > {tolerance} x fit RMSE "
                         f"{rmse_fit:.4g}")
    msg = ("the calibrated twin predicts the held-out batches within tolerance" if ok else
           "VALIDATION FAILED: " + "; ".join(fails))
    return Validation(rows, ok, msg)
