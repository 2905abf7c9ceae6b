"""The state vocabulary: JSON round trip, located errors against a line, and the conditional
remaining times a run from a state draws (checked against closed forms)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from twin.data import distributions as D
from twin.data.checks import SpecError, line_from_dict
from twin.data.residual import residual
from twin.data.state import LineState, state_problems

SPECIES = {"S": {"molar_mass": "0.018 kg/mol", "density": "1000 kg/m3",
                 "cp": "4180 J/(kg*K)"}}
LINE = line_from_dict({
    "line": {"name": "small"}, "products": {"A": {}}, "species": SPECIES,
    "stations": {
        "src": {"type": "source", "product": "A", "interarrival": "60 s", "to": "m"},
        "m": {"type": "machine", "buffer": 2, "cycle_time": "50 s", "to": "r",
              "failures": [{"name": "jam", "ttf": "2 h", "ttr": "5 min"}]},
        "r": {"type": "process", "to": "out", "recipe": [
            {"phase": "charge", "name": "fill", "duration": "5 min",
             "materials": {"S": "10 kg"}},
            {"phase": "hold", "name": "rest", "duration": "10 min"}]},
        "out": {"type": "sink"}}})


def good_state() -> dict:
    return {"line": "small", "time": 1000.0, "stations": {
        "src": {"source": {"made": 9, "since_arrival": 10.0}},
        "m": {"buffer": [{"id": 8, "product": "A", "created": 950.0, "arrived": 950.0}],
              "units": [{"server": 0, "state": "down", "elapsed": 20.0,
                         "parts": [{"id": 7, "product": "A", "created": 900.0}],
                         "stop": {"kind": "failure", "mode": "jam", "elapsed": 60.0,
                                  "remaining": 240.0},
                         "ages": {"jam": 10.0}}]},
        "r": {"units": [{"server": 0, "state": "producing", "phase": "rest",
                         "elapsed": 120.0,
                         "parts": [{"id": 5, "product": "A", "created": 500.0,
                                    "composition": {"S": 10.0}, "temperature": 298.15}]}]},
    }}


def test_a_state_round_trips_through_json_and_fits_its_line() -> None:
    state = LineState.parse(good_state())
    again = LineState.from_json(state.to_json())
    assert again == state
    assert state_problems(state, LINE) == []
    assert state.first_new_part() == 9
    assert state.calendar() == {"week": 0, "weekday": 0, "time_of_day_s": 1000.0}


BAD = [
    (lambda s: s["stations"].update(press={}), "stations.press", "no station named"),
    (lambda s: s["stations"]["m"]["buffer"].extend(
        [{"id": 20 + i, "product": "A", "created": 0.0} for i in range(2)]),
     "stations.m.buffer", "3 parts in a buffer of 2"),
    (lambda s: s["stations"]["m"]["units"][0]["parts"].append(
        {"id": 30, "product": "A", "created": 0.0}),
     "stations.m.units[0].parts", "2 parts on a server that holds 1"),
    (lambda s: s["stations"]["r"]["units"][0].update(phase="react"),
     "stations.r.units[0].phase", "has no phase 'react'"),
    (lambda s: s["stations"]["r"]["units"][0]["parts"][0]["composition"].update(S=-1.0),
     "stations.r.units[0].parts[0].composition.S", "must be >= 0"),
    (lambda s: s["stations"]["m"]["buffer"][0].update(product="B"),
     "stations.m.buffer[0].product", "no product named 'B'"),
    (lambda s: s["stations"]["m"]["buffer"][0].update(id=7),
     "stations.m.units[0].parts[0].id", "also at stations.m.buffer[0]"),
    (lambda s: s["stations"]["m"]["buffer"][0].update(created=2000.0),
     "stations.m.buffer[0].created", "after the state's time"),
    (lambda s: s["stations"]["m"]["units"][0]["stop"].update(mode="smoke"),
     "stations.m.units[0].stop.mode", "no failure mode 'smoke'"),
    (lambda s: s["stations"]["m"]["units"][0].update(server=3),
     "stations.m.units[0].server", "server 3 of a station with 1"),
    (lambda s: s.update(line="other"), "line", "not 'small'"),
]


@pytest.mark.parametrize(("spoil", "path", "message"), BAD,
                         ids=[b[1] + ":" + b[2][:12] for b in BAD])
def test_a_bad_state_is_reported_at_its_path(spoil, path, message) -> None:
    data = good_state()
    spoil(data)
    problems = state_problems(LineState.parse(data), LINE)
    assert any(p.path == path and message in p.message for p in problems), problems


def test_malformed_state_files_are_reported_with_their_place() -> None:
    with pytest.raises(SpecError, match="not valid JSON"):
        LineState.from_json("{")
    with pytest.raises(SpecError, match=r"stations\.m\.units\[0\]\.elapsed: must be greater"):
        LineState.parse({"line": "x", "time": 0,
                         "stations": {"m": {"units": [{"server": 0, "elapsed": -1}]}}})
    with pytest.raises(SpecError, match="version 9 is not supported"):
        LineState.parse({"line": "x", "time": 0, "version": 9})


# ----------------------------------------------------------------- remaining times


def test_remaining_time_of_a_constant_is_exactly_the_rest() -> None:
    rng = np.random.default_rng(0)
    assert residual(D.Constant(dist="constant", value="50 s"), 30.0, rng) == 20.0
    assert residual(D.Constant(dist="constant", value="50 s"), 80.0, rng) == 0.0  # overdue


def test_remaining_time_of_a_weibull_follows_its_conditional_survival() -> None:
    # Reference (closed form): P(R > r | X > e) = exp(-((e + r)/lam)^k + (e/lam)^k).
    k, lam, e = 2.5, 600.0, 400.0
    dist = D.Weibull(dist="weibull", shape=k, scale=f"{lam} s")
    rng = np.random.default_rng(1)
    draws = np.array([residual(dist, e, rng) for _ in range(800)])

    def cdf(r: np.ndarray) -> np.ndarray:
        return 1.0 - np.exp(-((e + r) / lam) ** k + (e / lam) ** k)

    assert stats.kstest(draws, cdf).pvalue > 1e-3


def test_remaining_time_of_a_uniform_is_uniform_on_what_is_left() -> None:
    # Reference: X ~ U(100, 300) given X > 250 is U(250, 300), so R ~ U(0, 50).
    dist = D.Uniform(dist="uniform", low="100 s", high="300 s")
    rng = np.random.default_rng(2)
    draws = np.array([residual(dist, 250.0, rng) for _ in range(800)])
    assert draws.min() >= 0 and draws.max() <= 50.0
    assert stats.kstest(draws, stats.uniform(0, 50).cdf).pvalue > 1e-3
    assert residual(dist, 400.0, rng) == 0.0


def test_remaining_time_of_an_exponential_is_a_fresh_draw() -> None:
    dist = D.Exponential(dist="exponential", mean="100 s")
    rng = np.random.default_rng(3)
    draws = np.array([residual(dist, 1e4, rng) for _ in range(800)])
    assert stats.kstest(draws, stats.expon(scale=100.0).cdf).pvalue > 1e-3
    assert math.isfinite(draws.mean())
