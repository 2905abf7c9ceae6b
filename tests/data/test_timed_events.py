"""Timed events given as plain data to ``twin.run`` are validated like a scenario's: a bad one
is a located error, a good one runs as its model would."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.data.checks import SpecError
from twin.data.scenario import Fouling
from twin.orchestration.run import run

API = Path(__file__).resolve().parents[2] / "lines" / "api_batch" / "line.toml"
FOULING = {"kind": "fouling", "at": "12 h", "station": "reactor", "factor": 0.6}


def test_events_as_data_run_like_their_models() -> None:
    a = run(API, duration="1 d", warmup="0 s", seed=2, events=[FOULING])
    b = run(API, duration="1 d", warmup="0 s", seed=2,
            events=[Fouling.model_validate(FOULING)])
    assert a.tables["phases"].equals(b.tables["phases"])
    assert not a.tables["phases"].equals(
        run(API, duration="1 d", warmup="0 s", seed=2).tables["phases"])


@pytest.mark.parametrize(("event", "path", "words"), [
    ({**FOULING, "factor": -1}, "events[0].factor", "greater than 0"),
    ({"kind": "flood", "at": "1 h"}, "events[0]", "unknown event kind 'flood'"),
    ({"at": "1 h"}, "events[0]", "'kind'"),
    ({**FOULING, "station": "nowhere"}, "events[0].station", "nowhere"),
])
def test_bad_events_are_located(event: dict, path: str, words: str) -> None:
    with pytest.raises(SpecError) as info:
        run(API, duration="1 d", events=[event])
    assert any(p.path == path and words in p.message for p in info.value.problems), \
        info.value.problems
