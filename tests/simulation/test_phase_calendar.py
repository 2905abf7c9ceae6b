"""A process phase is never paused by the shift calendar: it runs on past the shift end (the
operator finishes the phase), and the next phase waits for the next shift.

Reference: the timeline worked out by hand below (shift 06:00-24:00 every day; a lot released
at 23:00 is charged in 30 min, so its 45-min hold at 130 degC starts at 23:30).
"""

from __future__ import annotations

import numpy as np
import pytest

from twin.orchestration.run import run

H = 3600.0


def line(follows_calendar: bool = True) -> dict:
    return {"line": {"name": "hold130"}, "products": {"lot": {}},
            "calendar": {"shifts": [{"start": "06:00", "end": "24:00"}]},
            "species": {"W": {"molar_mass": "0.018 kg/mol"}},
            "stations": {
                "src": {"type": "source", "product": "lot", "schedule": [{"at": "23 h"}],
                        "to": "vessel"},
                "vessel": {"type": "process", "to": "out", "follows_calendar": follows_calendar,
                           "recipe": [
                               {"phase": "charge", "duration": "30 min",
                                "temperature": "130 degC", "materials": {"W": "100 kg"}},
                               {"phase": "hold", "name": "hold-130C", "duration": "45 min"},
                               {"phase": "transfer", "duration": "10 min"}]},
                "out": {"type": "sink"}}}


def test_hold_started_at_2330_runs_on_past_midnight() -> None:
    r = run(line(), duration="2 d", warmup="0 s", seed=1)
    ph = r.tables["phases"].set_index("phase")
    assert ph.loc["hold-130C", "start"] == pytest.approx(23.5 * H)
    assert ph.loc["hold-130C", "end"] == pytest.approx(24.25 * H)  # 45 min, not 6 h 45 min
    # the next phase waits for the next shift (06:00 the next day)
    assert ph.loc["transfer", "start"] == pytest.approx(30.0 * H)
    assert ph.loc["transfer", "end"] == pytest.approx(30.0 * H + 600.0)
    # the unit produced through the overrun, then was off until the shift
    st = r.tables["states"]
    st = st[st["station"].astype(str) == "vessel"]
    at = st[(st["start"] <= 24.0 * H) & (st["end"] > 24.0 * H)]
    assert at["state"].astype(str).tolist() == ["producing"]
    off = st[np.isclose(st["start"], 24.25 * H)]
    assert off["state"].astype(str).tolist() == ["off"]
    assert float(off["end"].iloc[0]) == pytest.approx(30.0 * H)


def test_a_phase_does_not_start_outside_a_shift() -> None:
    """Released at 23:00 the lot's charge starts at once; a lot released off-shift (at
    01:00) waits for 06:00 before its charge starts."""
    data = line()
    data["stations"]["src"]["schedule"] = [{"at": "25 h"}]
    r = run(data, duration="2 d", warmup="0 s", seed=1)
    ph = r.tables["phases"].set_index("phase")
    assert ph.loc["charge", "start"] == pytest.approx(30.0 * H)
