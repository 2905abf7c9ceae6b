"""Parameter uncertainty after a calibration: the record written into the calibrated spec,
and prediction bands (delta method, or quantiles over draws of the recorded distribution).

The record (``[calibration.<station>]``, :class:`twin.data.calibration.CalibrationRecord`)
keeps the parameters that are keys of the phase (or ``k_ref``/``ea`` pairs, written as the
phase's ``k0``/``ea``); batch initial values (``VAR0@BATCH``) and parameters the phase does
not hold are left out, which for a normal distribution is exactly its marginal: the
sub-matrix of the covariance.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from twin.data.calibration import CalibrationRecord, draws, phase_key
from twin.fit.calibrate import Batch, Calibration, Model, predict
from twin.fit.mcmc import Posterior


def record(model: Model, cal: Calibration, phase: Any, index: int, *, digest: str = "",
           posterior: Posterior | None = None) -> dict[str, Any]:
    """The ``[calibration.<station>]`` table of a calibration of ``phase`` (the spec's
    phase object, number ``index`` of the recipe): estimates and covariance on the fitted
    scale of the parameters the phase holds; with a ``posterior`` (of the same
    parameters), its mean and covariance on the fitted scale (``method = "mcmc"``).

    Raises
    ------
    ValueError
        If none of the fitted parameters is a key of the phase.
    """
    keys = [i for i, p in enumerate(cal.params)
            if "@" not in p and phase_key(p) in type(phase).model_fields]
    if not keys:
        raise ValueError(f"none of {', '.join(cal.params)} is a parameter of the "
                         f"{phase.phase} phase")
    z, cov = cal.fitted, cal.covariance
    if posterior is not None:
        if posterior.params != cal.params:
            raise ValueError(f"the posterior is of {posterior.params}, not {cal.params}")
        z, cov = posterior.samples.mean(axis=0), np.cov(posterior.samples, rowvar=False)
    cov = np.atleast_2d(cov)[np.ix_(keys, keys)]
    out: dict[str, Any] = {
        "phase": index,
        "parameters": [cal.params[i] for i in keys],
        "scale": ["log" if cal.log[i] else "linear" for i in keys],
        "estimate": [float(np.exp(z[i]) if cal.log[i] else z[i]) for i in keys],
        "covariance": [[float(x) for x in row] for row in cov],
        "dof": int(cal.dof), "method": "least_squares" if posterior is None else "mcmc"}
    if hasattr(model, "t_ref"):
        out["t_ref"] = f"{model.t_ref!r} K"
    if digest:
        out["data_sha256"] = digest
    CalibrationRecord.model_validate(out)  # what is written reads back
    return out


def _gradient(f: Any, z: np.ndarray, step: float = 1e-5) -> np.ndarray:
    """Central differences of a vector function at ``z``: one column per coordinate."""
    cols = []
    for i in range(z.size):
        h = step * max(1.0, abs(z[i]))
        up, down = z.copy(), z.copy()
        up[i] += h
        down[i] -= h
        cols.append((f(up) - f(down)) / (2 * h))
    return np.column_stack(cols)


def delta_band(model: Model, cal: Calibration, batch: Batch, confidence: float = 0.95
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Prediction at the batch's observation times with the delta-method band of its mean
    (parameter uncertainty only): yhat -+ z sqrt(g' C g), g the gradient on the fitted
    scale, C the calibration's covariance, z the normal quantile. Returns (yhat, low,
    high)."""
    def f(z: np.ndarray) -> np.ndarray:
        vals = {p: float(np.exp(v)) if g else float(v)
                for p, g, v in zip(cal.params, cal.log, z, strict=True)}
        return predict(model, vals, batch)

    yhat = f(cal.fitted)
    g = _gradient(f, cal.fitted)
    sd = np.sqrt(np.einsum("ij,jk,ik->i", g, cal.covariance, g))
    q = float(stats.norm.ppf(0.5 + confidence / 2))
    return yhat, yhat - q * sd, yhat + q * sd


def sample_band(model: Model, rec: CalibrationRecord | dict[str, Any], batch: Batch, *,
                n: int = 1000, seed: int = 0, confidence: float = 0.95
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median and equal-tailed band of the predictions at the batch's observation times
    over draws ``seed .. seed + n - 1`` of a calibration record (the draws runs take).
    Returns (median, low, high)."""
    rec = rec if isinstance(rec, CalibrationRecord) else CalibrationRecord.model_validate(rec)
    preds = np.array([predict(model, rec.natural(z), batch) for z in draws(rec, n, seed)])
    a = (1 - confidence) / 2
    lo, mid, hi = np.quantile(preds, [a, 0.5, 1 - a], axis=0)
    return mid, lo, hi
