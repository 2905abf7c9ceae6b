"""The compiled engine's input buffers as SimPy's stores, instant by instant.

In SimPy a put or get takes effect at once, the store's callback (serving a waiting unit,
admitting a blocked sender) one event later; several parts handed over at one instant meet
those steps in order (``twin.simulation.compiled.stores``). Each line here makes one such
instant frequent, and the two engines must agree part by part (the random lines of
``test_compiled_engine.py`` found each case).
"""

from __future__ import annotations

from lines_for_tests import expo
from test_compiled_engine import assert_same_tables

from twin.data.checks import line_from_dict
from twin.simulation.compiled.lower import unsupported


def check(data: dict, seeds: tuple[int, ...], until: float) -> dict:
    spec = line_from_dict(data)
    assert unsupported(spec) == []
    for seed in seeds:
        tables = assert_same_tables(spec, seed, until)
    return tables


def test_a_part_handed_to_a_waiting_server_holds_its_slot() -> None:
    """An infinite supply feeds two machines sharing one operator: a part put into the
    one-slot buffer of a machine whose server waits stays in the slot until the put is
    processed, so the supply's next part there waits, and the servers ask for the operator in
    SimPy's order (a trial version handed the part over at once and let the next one in)."""
    check({"line": {"name": "slot"}, "products": {"A": {}},
           "operators": {"crew": {"count": 1}}, "stations": {
        "src": {"type": "source", "product": "A",
                "routes": [{"to": "m1", "probability": 0.4}, {"to": "m2", "probability": 0.6}]},
        "m1": {"type": "machine", "servers": 2, "buffer": 0, "cycle_time": expo(1.1),
               "operator": {"pool": "crew"}, "failures": [{"ttf": expo(30.0), "ttr": expo(2.0)}],
               "to": "out"},
        "m2": {"type": "machine", "servers": 2, "buffer": 1, "cycle_time": expo(0.8),
               "operator": {"pool": "crew"}, "to": "out"},
        "out": {"type": "sink"}}}, (1, 2), 2_000.0)


def test_a_new_get_serves_the_unit_that_waited_first() -> None:
    """A machine with three servers sends some parts back to its own (unlimited) buffer: the
    server that sent one finds it in the buffer, but SimPy's get serves the server already
    waiting, and the sender waits."""
    check({"line": {"name": "back"}, "products": {"A": {}}, "stations": {
        "src": {"type": "source", "product": "A", "interarrival": expo(0.5), "to": "m"},
        "m": {"type": "machine", "servers": 3, "cycle_time": expo(1.2),
              "routes": [{"to": "m", "probability": 0.3}, {"to": "out", "probability": 0.7}]},
        "out": {"type": "sink"}}}, (3, 4), 2_000.0)


def test_parts_a_batch_sends_at_one_instant_meet_a_full_slot() -> None:
    """A batch sends its parts on one by one at the end of its cycle to an assembly station
    with two benches waiting, through a buffer of one slot: the first part keeps the slot
    until its put is processed, so the batch waits for that instant, and the benches take
    their kits and start in SimPy's order."""
    tables = check({"line": {"name": "batch"}, "products": {"A": {}, "K": {}, "L": {}},
                    "stations": {
        "src": {"type": "source", "product": "A", "interarrival": expo(0.45), "to": "oven"},
        "oven": {"type": "batch", "batch_size": 3, "min_batch": 2, "max_wait": "2.2 s",
                 "buffer": 1, "cycle_time": expo(0.75), "to": "asm"},
        "kits": {"type": "source", "product": "K", "interarrival": expo(0.4), "to": "asm"},
        "gears": {"type": "source", "product": "L", "interarrival": expo(0.4), "to": "asm"},
        "asm": {"type": "assembly", "servers": 2, "buffer": 1, "base": ["A"],
                "components": {"K": 1, "L": 1}, "cycle_time": expo(0.4), "to": "out"},
        "out": {"type": "sink"}}}, (4,), 2_000.0)
    assert (tables["parts"]["fate"] == "consumed").sum() > 1_000
