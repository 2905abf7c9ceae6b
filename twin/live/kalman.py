"""State estimation of a noisy continuous signal with a scalar Kalman filter whose model is
the twin's prediction.

The state is the true value ``x`` of the signal (e.g. a batch temperature [K]); between two
measurements it moves as the twin predicts, plus a random walk for what the model misses::

    x_k = x_{k-1} + u_k + w_k,   u_k = m(t_k) - m(t_{k-1}),   w_k ~ N(0, q (t_k - t_{k-1}))
    y_k = x_k + v_k,                                          v_k ~ N(0, r)

with ``m`` the twin's predicted trajectory, ``q`` the process-noise intensity [unit^2/s] and
``r`` the measurement variance [unit^2]. For a linear-Gaussian system this filter gives the
exact posterior mean and variance of ``x_k`` given ``y_1..y_k`` (Kalman 1960); its
innovations ``y_k - x_k^-`` are then independent N(0, S_k), which makes them residuals for
the change detectors. With ``q = 0`` and a known start the estimate is the model itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class KalmanStep:
    """One filter step: the prior (prediction) ``prior`` and its variance ``prior_var``,
    the ``innovation`` (measurement minus prior) and its variance ``innovation_var``, the
    ``gain``, and the posterior ``estimate`` and ``variance``."""

    prior: float
    prior_var: float
    innovation: float
    innovation_var: float
    gain: float
    estimate: float
    variance: float


class ScalarKalman:
    """A scalar Kalman filter (random walk around a known input).

    Parameters
    ----------
    x0, p0
        Initial estimate and its variance (0: known exactly).
    q
        Process-noise intensity [unit^2 / s] (variance added per second).
    r
        Measurement-noise variance [unit^2] (> 0).
    """

    def __init__(self, x0: float, p0: float, q: float, r: float) -> None:
        if not r > 0:
            raise ValueError(f"the measurement variance r must be positive, not {r}")
        if q < 0 or p0 < 0:
            raise ValueError("the variances q and p0 cannot be negative")
        self.x, self.p, self.q, self.r = float(x0), float(p0), float(q), float(r)

    def reset(self, x0: float, p0: float) -> None:
        """Re-synchronise: the state is ``x0`` with variance ``p0``."""
        self.x, self.p = float(x0), float(p0)

    def step(self, y: float, u: float = 0.0, dt: float = 1.0) -> KalmanStep:
        """Predict over ``dt`` [s] with the model's change ``u``, then take measurement
        ``y`` (a NaN measurement is skipped: the estimate is the prediction)."""
        if dt < 0:
            raise ValueError(f"time goes backwards (dt = {dt})")
        prior = self.x + u
        prior_var = self.p + self.q * dt
        s = prior_var + self.r
        if math.isnan(y):
            self.x, self.p = prior, prior_var
            return KalmanStep(prior, prior_var, math.nan, s, 0.0, prior, prior_var)
        gain = prior_var / s
        innovation = y - prior
        self.x = prior + gain * innovation
        self.p = (1.0 - gain) * prior_var
        return KalmanStep(prior, prior_var, innovation, s, gain, self.x, self.p)


def steady_state_gain(q: float, r: float) -> float:
    """The gain a filter with process variance ``q`` per step and measurement variance
    ``r`` settles to: the positive root of the Riccati equation ``P = P r / (P + r) + q``
    for the prior variance, ``P = (q + sqrt(q^2 + 4 q r)) / 2``, and ``K = P / (P + r)``."""
    if not r > 0 or q < 0:
        raise ValueError("need r > 0 and q >= 0")
    p = (q + math.sqrt(q * q + 4.0 * q * r)) / 2.0
    return p / (p + r)
