"""Scenario script: a long CNC breakdown in week 2 of a pilot campaign.

How much output is lost when one machining centre is down for a whole day, and how long does
the line take to recover? Run it with ``twin sweep scenarios/cnc_breakdown.py`` or directly
with ``python scenarios/cnc_breakdown.py``.
"""

from pathlib import Path

from twin.orchestration.scenario import Scenario

HERE = Path(__file__).resolve().parent

scenario = Scenario.from_dict(
    {
        "name": "cnc_breakdown",
        "line": "../lines/servo_actuator/line.toml",
        "description": "CNC centre 0 down for 24 h on day 8; planned vs disturbed campaign",
        "run": {"duration": "21 d", "warmup": "1 d", "replications": 8, "seed": 7},
        "events": [
            {"kind": "failure", "station": "cnc", "server": 0, "at": "8 d", "duration": "24 h"},
        ],
    },
    base_dir=HERE,
)

if __name__ == "__main__":
    from twin.orchestration.sweep import run_study

    study = run_study(scenario, HERE.parent / "studies", executor="local")
    print(study.summary().to_string(index=False))
