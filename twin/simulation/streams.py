"""Seeded random streams, one per owner and purpose.

Each stream is a NumPy generator seeded from ``SeedSequence(seed, spawn_key=...)`` where the
spawn key is a stable hash (CRC-32) of the owner's name and the purpose. So a station's draws
depend only on the run seed and its own name: adding a station does not change another
station's random numbers, and two configurations that share a station share its streams
(common random numbers).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np


class Streams:
    """Factory of independent random generators for one run."""

    def __init__(self, seed: int) -> None:
        if seed < 0:
            raise ValueError("seed must be >= 0")
        self.seed = int(seed)

    def rng(self, *key: str) -> np.random.Generator:
        """The generator for ``key`` (e.g. ``("machining", "cycle")``)."""
        words = tuple(zlib.crc32(k.encode("utf-8")) for k in key)
        seq = np.random.SeedSequence(self.seed, spawn_key=words)
        return np.random.Generator(np.random.PCG64(seq))


def uniform_stream(rng: np.random.Generator, chunk: int = 1024):  # noqa: ANN201
    """A zero-argument callable returning U(0, 1) draws from ``rng``, drawn in chunks."""

    def stream():  # noqa: ANN202
        while True:
            yield from rng.random(chunk).tolist()

    return stream().__next__


def transport_keys(owner: str, routes: Sequence[Any]) -> list[tuple[str, ...] | None]:
    """The key of each route's transport-delay stream (``None``: no delay): ``(owner,
    "transport", destination)``; a second route with a delay to the same destination adds
    its index, so that two routes never draw the same numbers."""
    keys: list[tuple[str, ...] | None] = []
    taken: set[str] = set()
    for i, r in enumerate(routes):
        if r.delay is None:
            keys.append(None)
            continue
        keys.append((owner, "transport", r.to) + ((str(i),) if r.to in taken else ()))
        taken.add(r.to)
    return keys
