"""Degenerate results are flagged: a batch station whose last parts can never make a batch."""

from __future__ import annotations

from typing import Any

import pytest

from twin.orchestration.run import run


def line(released: int, max_wait: str | None = None) -> dict[str, Any]:
    """``released`` parts at t = 0 into an oven of batches of 24 (1 h), nothing after."""
    oven: dict[str, Any] = {"type": "batch", "batch_size": 24, "cycle_time": "1 h",
                            "to": "out"}
    if max_wait:
        oven["max_wait"] = max_wait
    return {"line": {"name": "w"}, "products": {"p": {}},
            "stations": {"src": {"type": "source", "product": "p",
                                 "schedule": [{"at": "0 s", "quantity": released}],
                                 "to": "oven"},
                         "oven": oven, "out": {"type": "sink"}}}


def stranded(r) -> list[dict[str, Any]]:  # noqa: ANN001
    return [w for w in r.warnings if w["code"] == "batch_never_full"]


def test_parts_left_short_of_a_batch_are_flagged() -> None:
    """30 parts: one batch of 24 runs, 6 wait for ever (time zero, nothing arrives after)."""
    r = run(line(30), duration="1 d", warmup="0 s", seed=1)
    (w,) = stranded(r)
    assert w["stations"] == ["oven"] and w["time"] == 0.0
    assert "6 part(s) wait since t = 0 s for a batch of 24" in w["message"]
    assert "set max_wait or min_batch" in w["message"]


@pytest.mark.parametrize(("released", "max_wait"), [(48, None), (30, "2 h")])
def test_full_batches_or_a_wait_limit_raise_nothing(released: int, max_wait: str | None) -> None:
    """Whole batches leave nothing behind; with max_wait the rest runs as a partial batch."""
    r = run(line(released, max_wait), duration="1 d", warmup="0 s", seed=1)
    assert stranded(r) == []
    assert r.kpis["good_units"] == released
