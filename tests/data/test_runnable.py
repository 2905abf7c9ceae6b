"""Validation refuses what cannot run, at its key path, naming the limit it applies."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from twin.data.checks import validate
from twin.data.runnable import MAX_INFINITE_BUFFER, MAX_RELEASE, MAX_SERVERS, TIME_RESOLUTION


def line() -> dict[str, Any]:
    """source (every 10 min) -> m (5 min) -> out; a sound base to break."""
    return {
        "line": {"name": "t"}, "products": {"p": {}},
        "stations": {
            "src": {"type": "source", "product": "p", "interarrival": "10 min", "to": "m"},
            "m": {"type": "machine", "cycle_time": "5 min", "to": "out"},
            "out": {"type": "sink"},
        },
    }


def process_line() -> dict[str, Any]:
    data = line()
    data["species"] = {"A": {"molar_mass": "0.1 kg/mol"}}
    data["utilities"] = {"steam": {"carrier": "steam", "capacity": "100 kW"},
                         "air": {"carrier": "compressed_air", "capacity": "10 m3/h"}}
    data["stations"]["m"] = {"type": "process", "to": "out", "recipe": [
        {"phase": "charge", "duration": "10 min", "materials": {"A": "100 kg"}},
        {"phase": "heat", "to": "80 degC", "jacket": "120 degC", "ua": "1 kW/K",
         "utility": "steam"}]}
    return data


def infinite(data: dict[str, Any]) -> None:
    src = data["stations"]["src"]
    del src["interarrival"]
    data["stations"]["m"]["buffer"] = 2


def set_(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        *head, last = path.split(".")
        node = data
        for key in head:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[last] = value
    return change


def both(*changes: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        for c in changes:
            c(data)
    return change


CASES = [
    # (base, change, key path, words the message must contain)
    (line, set_("stations.src.interarrival", "0 s"), "stations.src.interarrival",
     ["0 s", f"{TIME_RESOLUTION:g} s"]),
    (line, set_("stations.src.interarrival", {"dist": "exponential", "mean": "0.1 ms"}),
     "stations.src.interarrival", ["0.0001 s", f"{TIME_RESOLUTION:g} s"]),
    (line, both(set_("stations.src.interarrival", None),
                set_("stations.src.schedule", [{"at": "0 s", "every": "1 us"}])),
     "stations.src.schedule[0].every", ["1e-06 s", f"{TIME_RESOLUTION:g} s"]),
    (line, set_("stations.m.failures", [{"ttf": "0 s", "ttr": "1 min", "basis": "calendar"}]),
     "stations.m.failures[0].ttf", [f"{TIME_RESOLUTION:g} s"]),
    (line, set_("stations.m.maintenance", {"every": "0.5 ms", "duration": "0 s"}),
     "stations.m.maintenance.every", [f"{TIME_RESOLUTION:g} s"]),
    (line, both(infinite, set_("stations.m.cycle_time", "0 s")), "stations.m.cycle_time",
     ["infinite supply 'src'", f"{TIME_RESOLUTION:g} s"]),
    (line, both(infinite, set_("stations.m.buffer", MAX_INFINITE_BUFFER + 1)),
     "stations.m.buffer", [str(MAX_INFINITE_BUFFER + 1), f"limit is {MAX_INFINITE_BUFFER}"]),
    (line, both(set_("stations.src.interarrival", None),
                set_("stations.src.schedule", [{"at": "0 s"},
                                               {"at": "1 h", "quantity": MAX_RELEASE + 1}])),
     "stations.src.schedule[1].quantity", [str(MAX_RELEASE + 1), f"limit of {MAX_RELEASE}"]),
    (line, set_("stations.m.servers", MAX_SERVERS + 1), "stations.m.servers",
     [str(MAX_SERVERS + 1), f"limit of {MAX_SERVERS}"]),
    (line, both(set_("operators", {"crew": {"count": MAX_SERVERS + 1}}),
                set_("stations.m.operator", {"pool": "crew"})), "operators.crew.count",
     [f"limit of {MAX_SERVERS}"]),
    (line, set_("calendar", {"shifts": [{"start": "06:00", "end": "14:00"}], "days": []}),
     "calendar.days", ["no working day"]),
    (process_line, set_("utilities.steam.capacity", "0.4 mW"), "utilities.steam.capacity",
     ["rounds to nothing", "0.001 W"]),
    (process_line, set_("utilities.air.capacity", "0.4 mL/s"), "utilities.air.capacity",
     ["rounds to nothing", "1e-06 m3/s"]),
    (process_line, set_("stations.m.recipe.0.temperature", "-10 K"),
     "stations.m.recipe[0].charge.temperature", ["above 0 K", "-10 K"]),
    (process_line, set_("stations.m.recipe.1.jacket", "0 K"),
     "stations.m.recipe[1].heat.jacket", ["above 0 K"]),
]


@pytest.mark.parametrize(("base", "change", "path", "words"), CASES)
def test_cannot_run_is_refused_at_its_path(base: Callable[[], dict[str, Any]],
                                           change: Callable[[dict[str, Any]], None],
                                           path: str, words: list[str]) -> None:
    good = base()
    assert validate(copy.deepcopy(good))[1] == []  # the base is sound
    change(good)
    spec, problems = validate(good)
    assert spec is None
    assert [p.path for p in problems] == [path], problems
    for word in words:
        assert word in problems[0].message, problems[0].message


def test_limits_are_inclusive() -> None:
    """At the limits themselves the spec is accepted."""
    data = line()
    infinite(data)
    data["stations"]["m"]["servers"] = MAX_SERVERS
    data["stations"]["m"]["buffer"] = MAX_INFINITE_BUFFER
    assert validate(data)[1] == []
    data = line()
    data["stations"]["src"]["interarrival"] = f"{TIME_RESOLUTION} s"
    assert validate(data)[1] == []
    data = line()
    data["stations"]["src"]["interarrival"] = None
    data["stations"]["src"]["schedule"] = [{"at": "0 s", "quantity": MAX_RELEASE}]
    assert validate(data)[1] == []


def test_zero_cycle_time_is_fine_where_the_clock_moves() -> None:
    """A zero cycle time behind a timed source, or behind an infinite supply but before a
    station that takes time, or with a limited supply, holds nothing still."""
    data = line()
    data["stations"]["m"]["cycle_time"] = "0 s"
    assert validate(data)[1] == []
    data = line()
    infinite(data)
    data["stations"]["m"]["cycle_time"] = "0 s"
    data["stations"]["m"]["to"] = "n"
    data["stations"]["n"] = {"type": "machine", "cycle_time": "1 min", "buffer": 1, "to": "out"}
    assert validate(data)[1] == []
    data["stations"]["n"]["cycle_time"] = "0 s"  # now the whole path takes no time
    assert [p.path for p in validate(data)[1]] == ["stations.m.cycle_time"]
    data["stations"]["src"]["limit"] = 100
    assert validate(data)[1] == []


def test_assembly_refuses_a_product_it_cannot_take() -> None:
    data = line()
    data["products"].update(c={}, stray={})
    data["stations"]["m"] = {"type": "assembly", "base": "p", "components": {"c": 1},
                             "cycle_time": "5 min", "to": "out"}
    data["stations"]["cs"] = {"type": "source", "product": "c", "interarrival": "10 min",
                              "to": "m"}
    assert validate(copy.deepcopy(data))[1] == []
    data["stations"]["ss"] = {"type": "source", "product": "stray", "interarrival": "10 min",
                              "to": "m"}
    problems = validate(data)[1]
    assert [p.path for p in problems] == ["stations.m"]
    assert "['stray']" in problems[0].message and "neither a base nor a component" in (
        problems[0].message)
