"""Pilot Twin against raw SimPy on the same serial line, in one process.

The line: an infinite supply, 10 stations in series with input buffers of 5 slots (blocking
after service), exponential processing times of mean 1 s (station 5: 1.2 s), a sink; the run
stops when ``PARTS`` parts have left. Raw SimPy is the baseline: the same logic written
directly (``simpy.Store`` buffers, ``random.expovariate`` draws, no recording). Pilot Twin
runs the line from its spec with full recording (states, part events, parts) and builds its
tables. Printed: wall time of each and the ratio Pilot Twin / raw SimPy (target <= 1.5).

Run: ``python benchmarks/serial_line_vs_simpy.py [PARTS] [REPEATS]``
"""

from __future__ import annotations

import random
import statistics
import sys
import time

import simpy

from twin.data.checks import line_from_dict
from twin.observation.recorder import Recorder
from twin.simulation.line import LineModel

N_STATIONS = 10
MEANS = [1.2 if i == 4 else 1.0 for i in range(N_STATIONS)]
BUFFER = 5


def raw_simpy(parts: int, seed: int) -> float:
    """The serial line in plain SimPy; returns the time the last part left [s]."""
    env = simpy.Environment()
    rng = random.Random(seed)
    stores = [simpy.Store(env, capacity=BUFFER) for _ in range(N_STATIONS)]
    done = env.event()
    count = [0]

    def source():  # noqa: ANN202
        while True:
            yield stores[0].put(object())

    def station(i: int):  # noqa: ANN202
        rate = 1.0 / MEANS[i]
        inbox = stores[i]
        outbox = stores[i + 1] if i + 1 < N_STATIONS else None
        while True:
            part = yield inbox.get()
            yield env.timeout(rng.expovariate(rate))
            if outbox is not None:
                yield outbox.put(part)
            else:
                count[0] += 1
                if count[0] == parts:
                    done.succeed()

    env.process(source())
    for i in range(N_STATIONS):
        env.process(station(i))
    env.run(until=done)
    return env.now


def line_spec(parts: int):  # noqa: ANN201
    """The same line as a Pilot Twin spec."""
    stations: dict = {"supply": {"type": "source", "product": "P", "to": "s1", "limit": parts}}
    for i in range(N_STATIONS):
        stations[f"s{i + 1}"] = {
            "type": "machine",
            "buffer": BUFFER,
            "cycle_time": {"dist": "exponential", "mean": f"{MEANS[i]} s"},
            "to": f"s{i + 2}" if i + 1 < N_STATIONS else "out",
        }
    stations["out"] = {"type": "sink"}
    return line_from_dict({"line": {"name": "serial10"}, "products": {"P": {}},
                           "stations": stations})


def pilot_twin(parts: int, seed: int) -> float:
    """The line in Pilot Twin with full recording and table building; returns end time [s]."""
    line = line_spec(parts)
    rec = Recorder()
    model = LineModel(line, seed, rec)
    model.run(until=float("inf"))
    end = model.env.now
    tables = rec.tables(end)
    assert len(tables["parts"]) == parts
    return end


def main(parts: int = 100_000, repeats: int = 3) -> None:
    ratios, raw_t, twin_t = [], [], []
    for r in range(repeats):
        t0 = time.perf_counter()
        raw_simpy(parts, r)
        t1 = time.perf_counter()
        pilot_twin(parts, r)
        t2 = time.perf_counter()
        raw_t.append(t1 - t0)
        twin_t.append(t2 - t1)
        ratios.append((t2 - t1) / (t1 - t0))
    print(f"serial line, {N_STATIONS} stations, buffers {BUFFER}, {parts} parts, {repeats} pairs")
    print(f"raw SimPy   : median {statistics.median(raw_t):.2f} s")
    print(f"Pilot Twin  : median {statistics.median(twin_t):.2f} s (full recording + tables)")
    print(f"ratio twin/raw: median {statistics.median(ratios):.2f} "
          f"(min {min(ratios):.2f}, max {max(ratios):.2f}); target <= 1.5")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
