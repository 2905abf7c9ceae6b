"""Calibrating the reactor kernel to batch data by weighted least squares (``twin
calibrate``).

Each :class:`Batch` has its own initial state (concentrations, temperature, volume, jacket
temperature) and observations (species concentrations [mol/m3] or the temperature [K] at
times after the phase start, each with a standard deviation that weights it). The model is
the reactor kernel (:mod:`twin.kernels.reactor`), integrated from one observation time to the
next, so predictions are exact at the observation times.

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
from typing import Any

import numpy as np
from scipy import optimize, stats

from twin.kernels import integrate
from twin.kernels.reactor import PARALLEL, SERIES, SINGLE, reactor_parameters, reactor_phase
from twin.kernels.rhs import reactor as rx

R_GAS = 8.314462618
"""Molar gas constant [J/(mol K)]."""
SPECIES = {"A": rx.N_A, "B": rx.N_B, "C": rx.N_C}
"""Observable species of the reactor kernel and their state index; ``T`` is the
temperature."""
POSITIVE = {"k_ref", "ea", "ua", "k_ref_2", "ea_2", "c_a0"}
"""Parameters fitted on the log scale (``c_a0@BATCH`` too)."""
GLOBAL = ("k_ref", "ea", "dh", "ua", "k_ref_2", "ea_2", "dh_2")
"""Parameters shared by all batches; ``c_a0@BATCH`` is the initial concentration of A of
one batch [mol/m3]."""


class CalibrationError(ValueError):
    """Calibration inputs that cannot work (unknown parameter, no data, a failed model)."""


@dataclass
class Batch:
    """One batch: initial state and observations.

    ``c0``: initial concentrations of A, B, C [mol/m3]; ``t0``: initial temperature [K];
    ``volume`` [m3]; ``jacket``: jacket temperature [K]. Observations: ``time`` [s after
    the start], ``variable`` (``A``, ``B``, ``C`` or ``T``), ``value`` [mol/m3 or K] and
    ``sd`` (measurement standard deviation; weights 1 / sd^2).
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

    def values(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in GLOBAL}

    def k0(self, k_ref: float, ea: float) -> float:
        """Pre-exponential factor [1/s] of k_ref at t_ref with activation energy ea."""
        return k_ref * math.exp(ea / (R_GAS * self.t_ref))


def predict(model: Reactor, values: dict[str, float], batch: Batch, rtol: float = 1e-10
            ) -> np.ndarray:
    """Model values at the batch's observations (same order), with parameter ``values``
    overriding the model's."""
    v = model.values() | {k: x for k, x in values.items() if "@" not in k}
    c_a0 = values.get(f"c_a0@{batch.name}", batch.c0.get("A", 0.0))
    scheme = {"single": SINGLE, "series": SERIES, "parallel": PARALLEL}[model.scheme]
    n_a = c_a0 * batch.volume
    p = reactor_parameters(
        k0=model.k0(v["k_ref"], v["ea"]), ea=v["ea"], dh=v["dh"], rho_cp=model.rho_cp,
        ua=v["ua"], t_jacket=batch.jacket, n_a_total=max(n_a, 1e-300), scheme=scheme,
        k0_2=model.k0(v["k_ref_2"], v["ea_2"]) if v["k_ref_2"] > 0 else 0.0,
        ea_2=v["ea_2"], dh_2=v["dh_2"])
    y = np.zeros(rx.N_STATES)
    y[rx.N_A], y[rx.N_B] = n_a, batch.c0.get("B", 0.0) * batch.volume
    y[rx.N_C], y[rx.TEMP], y[rx.VOL] = batch.c0.get("C", 0.0) * batch.volume, batch.t0, \
        batch.volume
    times = np.unique(batch.time)
    states = {}
    t_now = 0.0
    for t in times:
        if t > t_now:
            status, _, _, y, _, _, _ = reactor_phase(p, y, float(t - t_now), rtol,
                                                     integrate.AUTO, 1_000_000, 2)
            if status != 0:
                raise CalibrationError(f"the reactor model failed for batch {batch.name} "
                                       f"(status {status}) with {values}")
            t_now = t
        states[t] = y.copy()
    out = np.empty(batch.value.size)
    for i, (t, var) in enumerate(zip(batch.time, batch.variable, strict=True)):
        s = states[t]
        out[i] = s[rx.TEMP] if var == "T" else s[SPECIES[var]] / s[rx.VOL]
    return out


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


def _check(params: list[str], batches: list[Batch]) -> None:
    names = {b.name for b in batches}
    for p in params:
        base, _, batch = p.partition("@")
        if base not in GLOBAL and not (base == "c_a0" and batch in names):
            raise CalibrationError(f"cannot fit {p!r}: parameters are {', '.join(GLOBAL)} and "
                                   f"c_a0@BATCH (batches: {', '.join(sorted(names))})")
    if not batches or not sum(b.value.size for b in batches):
        raise CalibrationError("no observations to fit")


def _to_natural(p: str, z: float) -> float:
    if p.partition("@")[0] not in POSITIVE:
        return z
    return math.exp(z) if z < 700.0 else math.inf


def _to_fit(p: str, x: float) -> float:
    if p.partition("@")[0] in POSITIVE:
        if x <= 0:
            raise CalibrationError(f"{p} must start positive, got {x}")
        return math.log(x)
    return x


EA_RANGE = (1.0e3, 5.0e5)
"""Activation energies searched [J/mol] (beyond them k0 overflows)."""


def _bounds(params: list[str], z0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Search bounds in fitted coordinates: activation energies within :data:`EA_RANGE`,
    other log-scale parameters within e^+-30 of their start, the rest free."""
    lo, hi = np.full(z0.size, -np.inf), np.full(z0.size, np.inf)
    for i, p in enumerate(params):
        base = p.partition("@")[0]
        if base in ("ea", "ea_2"):
            lo[i], hi[i] = math.log(EA_RANGE[0]), math.log(EA_RANGE[1])
        elif base in POSITIVE:
            lo[i], hi[i] = z0[i] - 30.0, z0[i] + 30.0
    return lo, hi


def calibrate(model: Reactor, batches: list[Batch], params: list[str], *,
              start: dict[str, float] | None = None, confidence: float = 0.95,
              profile: bool = False) -> Calibration:
    """Weighted least squares of ``params`` to the observations of all ``batches``.

    ``start``: starting values (default: the model's, and each batch's c0 of A).
    ``profile``: also compute profile-likelihood intervals (one constrained fit per point).
    """
    _check(params, batches)
    base = model.values() | {f"c_a0@{b.name}": b.c0.get("A", 0.0) for b in batches}
    base |= start or {}
    z0 = np.array([_to_fit(p, base[p]) for p in params])

    def resid(z: np.ndarray, fixed: dict[str, float] | None = None) -> np.ndarray:
        vals = {p: _to_natural(p, zi) for p, zi in zip(params, z, strict=True)} | (fixed or {})
        return np.concatenate([(predict(model, vals, b) - b.value) / b.sd for b in batches])

    lo, hi = _bounds(params, z0)
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
    for p, z, s in zip(params, sol.x, se_z, strict=True):
        est[p] = _to_natural(p, z)
        log = p.partition("@")[0] in POSITIVE
        se[p] = est[p] * s if log else s
        ci[p] = (_to_natural(p, z - q * s), _to_natural(p, z + q * s))
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
    cal = Calibration(list(params), est, se, ci, corr, ssr, n, dof, confidence, warnings)
    vals = dict(est)
    for b in batches:
        cal.predictions[b.name] = predict(model, vals, b)
        cal.residuals[b.name] = cal.predictions[b.name] - b.value
    if profile:
        cal.profile_ci = {p: _profile(resid, sol.x, params, i, se_z[i], ssr * (1 + q * q / dof))
                          for i, p in enumerate(params)}
    return cal


def _profile(resid: Any, z_hat: np.ndarray, params: list[str], i: int, se: float,
             level: float) -> tuple[float, float]:
    """Profile-likelihood interval of parameter ``i``: where the objective minimised over
    the other parameters crosses ``level``."""
    others = [j for j in range(len(params)) if j != i]

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
        ends.append(_to_natural(params[i], root) if math.isfinite(root) else root)
    return ends[0], ends[1]


@dataclass
class Validation:
    """Prediction against measurement on held-out batches: error metrics per variable and
    whether the twin passes (held-out RMSE at most ``tolerance`` x the fit's RMSE for every
    variable)."""

    rows: list[dict[str, Any]]
    passed: bool
    message: str


def validate(model: Reactor, cal: Calibration, fit_batches: list[Batch],
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
