"""The offered-load check reaches what it could not before: product mix with routing
probabilities, limited and scheduled supplies, least-loaded routes (the pooled capacity
bound) and stations after a tank (the upstream production rate in lots).

References, all by hand below: the traffic equations (arrivals = external + routed; a rework
loop visited 1 / (1 - p) times), offered load rho = lambda E[S] / c; for a pool of stations
served by least-loaded routing the necessary condition of stability lambda < sum_i mu_i
(no split of the parts can do more work than all servers together); after a tank the mass
flow is batches per hour x kg per batch, the continuous unit's load that mass over its rate,
and its lots per hour that mass over the lot mass. Each unstable line below is unstable
only through the feature the test names, and the check before these features said nothing
about it.
"""

from __future__ import annotations

import pytest

from twin.data.checks import line_from_dict
from twin.observation.stability import load_warnings, offered_load
from twin.orchestration.run import run


def _line(stations: dict, products: tuple[str, ...] = ("A",), **extra: object) -> dict:
    return {"line": {"name": "load"}, "products": {p: {} for p in products},
            "stations": {**stations, "out": {"type": "sink"}}, **extra}


def test_mix_product_routes_and_probabilities() -> None:
    """A and B (3:1) every 10 min; A to m1 (8 min), B to m2 (20 min); m1 sends 0.25 to a
    test (5 min, rework 0.2 back to m1) and 0.75 out. Arrivals per minute: m1 sees
    0.075 / (1 - 0.25 x 0.2) (the rework loop), the test a quarter of that, m2 0.025."""
    data = _line({
        "src": {"type": "source", "mix": {"A": 3, "B": 1}, "interarrival": "10 min",
                "routes": [{"to": "m1", "products": ["A"]}, {"to": "m2", "products": ["B"]}]},
        "m1": {"type": "machine", "cycle_time": "8 min",
               "routes": [{"to": "test", "probability": 0.25},
                          {"to": "out", "probability": 0.75}]},
        "test": {"type": "inspection", "cycle_time": "5 min", "rework_probability": 0.2,
                 "rework_to": "m1", "to": "out"},
        "m2": {"type": "machine", "cycle_time": "20 min", "to": "out"},
    }, ("A", "B"))
    rho = offered_load(line_from_dict(data))
    lam_m1 = 0.075 / (1 - 0.25 * 0.2)
    assert rho["m1"] == pytest.approx(lam_m1 * 8, rel=1e-12)
    assert rho["test"] == pytest.approx(lam_m1 * 0.25 * 5, rel=1e-12)
    assert rho["m2"] == pytest.approx(0.025 * 20, rel=1e-12)
    assert load_warnings(line_from_dict(data)) == []


def test_limited_supply_loads_while_it_releases() -> None:
    """1,000 parts, one every 50 s, on a machine of 60 s: rho = 1.2 while they come."""
    data = _line({"src": {"type": "source", "product": "A", "interarrival": "50 s",
                          "limit": 1000, "to": "m"},
                  "m": {"type": "machine", "cycle_time": "60 s", "to": "out"}})
    line = line_from_dict(data)
    assert offered_load(line)["m"] == pytest.approx(1.2)
    (w,) = load_warnings(line)
    assert w["stations"] == ["m"]
    assert "1.20 times" in w["message"] and "while the limited supply 'src' lasts" in w["message"]


def test_schedule_repeats_count_and_one_off_lots_do_not() -> None:
    """A one-off lot of 500 at t = 0 adds nothing to the long run; 10 A every hour and 4 B
    every 2 h (their own product) give 10 A + 2 B per hour: on a machine of 4 min (A) and
    15 min (B) that is (10 x 4 + 2 x 15) / 60 = 70 / 60."""
    data = _line({"src": {"type": "source", "product": "A", "to": "m", "schedule": [
        {"at": "0 s", "quantity": 500},
        {"at": "0 s", "quantity": 10, "every": "1 h"},
        {"at": "30 min", "quantity": 4, "every": "2 h", "product": "B"}]},
        "m": {"type": "machine", "cycle_time": "4 min",
              "product_cycle_time": {"B": "15 min"}, "to": "out"}}, ("A", "B"))
    line = line_from_dict(data)
    assert offered_load(line)["m"] == pytest.approx(70 / 60, rel=1e-12)
    assert [w["stations"] for w in load_warnings(line)] == [["m"]]


def pooled(b_cycle: str) -> dict:
    """One part a minute, least-loaded to a (2 min) or b, then to a packer (30 s)."""
    return _line({
        "src": {"type": "source", "product": "A", "interarrival": "1 min", "to": ["a", "b"]},
        "a": {"type": "machine", "cycle_time": "2 min", "to": "pack"},
        "b": {"type": "machine", "cycle_time": b_cycle, "to": "pack"},
        "pack": {"type": "machine", "cycle_time": "30 s", "to": "out"}})


def test_least_loaded_routes_share_one_pooled_bound() -> None:
    """a does 1/2 and b 1/3 of a part a minute: together 5/6 < 1, so rho = 1 / (5/6) = 1.2
    for both, whatever the split; the packer sees every part (rho 0.5). With b at 2 min
    they can do 1 a minute: rho 1.0; at 1.5 min 7/6: rho 6/7."""
    for b_cycle, want in (("3 min", 1.2), ("2 min", 1.0), ("1.5 min", 6 / 7)):
        rho = offered_load(line_from_dict(pooled(b_cycle)))
        assert rho["a"] == pytest.approx(want, rel=1e-12) and rho["b"] == rho["a"]
        assert rho["pack"] == pytest.approx(0.5, rel=1e-12)
    (w,) = load_warnings(line_from_dict(pooled("3 min")))
    assert w["stations"] == ["a", "b"]
    assert "stations 'a', 'b' (sharing parts by least-loaded routes) are offered 1.20" \
        in w["message"]
    assert load_warnings(line_from_dict(pooled("1.5 min"))) == []


def test_an_overloaded_pool_does_grow() -> None:
    """The pool at rho 1.2 in a run: 60 parts an hour in, 50 out, the WIP grows (the trend
    test after the run agrees with the bound before it)."""
    r = run(pooled("3 min"), duration="1 d", warmup="0 s", seed=1)
    assert [w["code"] for w in r.warnings] == ["unstable_station", "wip_grows"]
    assert r.kpis["throughput_per_h"] == pytest.approx(50.0, rel=0.01)


def tank_line(gap: str = "2 h", rate: str = "400 kg/h", pack: str = "1.5 h",
              extra_phase: dict | None = None) -> dict:
    """Batches of 400 + 100 kg every ``gap`` emptied into a tank; a coater draws it at
    ``rate`` and sends on lots of 300 kg to a packer taking ``pack`` per lot."""
    recipe = [{"phase": "charge", "duration": "30 min",
               "materials": {"slurry": "400 kg", "solvent": "100 kg"}}]
    return _line({
        "src": {"type": "source", "product": "batch", "interarrival": gap, "to": "mixer"},
        "mixer": {"type": "process", "to": "tank",
                  "recipe": recipe + ([extra_phase] if extra_phase else [])},
        "tank": {"type": "tank", "capacity": "5000 kg", "to": "coater"},
        "coater": {"type": "continuous", "rate": rate, "lot_mass": "300 kg",
                   "product": "roll", "to": "pack"},
        "pack": {"type": "machine", "cycle_time": pack, "to": "out"},
    }, ("batch", "roll"), species={"slurry": {"molar_mass": "0.1 kg/mol"},
                                   "solvent": {"molar_mass": "0.1 kg/mol"}})


def test_after_a_tank_the_upstream_production_rate() -> None:
    """250 kg/h reach the tank (500 kg every 2 h): the coater at 400 kg/h is offered
    250/400; its lots leave at 250/300 an hour, so a packer of 1.5 h is offered 1.25."""
    line = line_from_dict(tank_line())
    rho = offered_load(line)
    assert rho["mixer"] == pytest.approx(0.25, rel=1e-12)
    assert rho["coater"] == pytest.approx(250 / 400, rel=1e-12)
    assert rho["pack"] == pytest.approx(250 / 300 * 1.5, rel=1e-12)
    (w,) = load_warnings(line)
    assert w["stations"] == ["pack"] and "1.25 times" in w["message"]
    slow = offered_load(line_from_dict(tank_line(rate="200 kg/h", pack="1 h")))
    assert slow["coater"] == pytest.approx(1.25, rel=1e-12)


def test_after_a_tank_of_unknown_mass_nothing_is_claimed() -> None:
    """A recipe that dries the batch changes its mass: the coater and packer are left out,
    the stations before the tank are not."""
    dry = {"phase": "dry", "solvent": "solvent", "area": "10 m2", "h_conv": "50 W/m2/K",
           "k_mass": "1e-4 m/s", "air_temperature": "80 degC", "air_flow": "0.5 kg/s",
           "max_time": "2 h"}
    rho = offered_load(line_from_dict(tank_line(extra_phase=dry)))
    assert "mixer" in rho and "coater" not in rho and "pack" not in rho
