"""A station type and a phase model added from outside the package (docs/EXTENDING.md).

The toy labeller (``toy_labeller.py``: one spec class, one node class) and the toy ageing
phase (``toy_ageing.py``: one kernel, one registration) live beside this file; nothing in
``twin/`` names them. Once registered, a line file using them validates, runs on the SimPy
engine (the compiled engine says why it cannot), records their states and flows, offers
their signals to alarms, and draws them in their colour in the report's diagram and the
dashboard's line description. Without the registration the same line is refused.

References: the labeller's record is checked against the closed form of a saturated
single server (an infinite supply, constant times): rolls of ``roll`` parts of ``cycle``
seconds each, separated by changes of ``change`` seconds. The ageing phase against
first-order kinetics, ``X = 1 - exp(-k t)`` (computed here with the standard library).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import toy_ageing
import toy_labeller
import toy_oven
from matplotlib.colors import to_hex

from twin.data import registry
from twin.data.alarms import signal_tags
from twin.data.checks import SpecError, line_from_dict
from twin.data.spec import json_schema
from twin.edges.dashboard.describe import describe_line
from twin.edges.report_diagram import line_diagram
from twin.figures.style import FigureStyle
from twin.observation.run_state import state_from_tables
from twin.orchestration.run import RunFailed, run
from twin.process.phases import phase_kernels, unregister_phase
from twin.process.scaleup import scale_line
from twin.simulation.node_types import unregister_station

CYCLE, ROLL, CHANGE, HORIZON = 10.0, 5, 25.0, 600.0


@pytest.fixture
def toys() -> Iterator[None]:
    toy_labeller.register()
    toy_ageing.register()
    yield
    unregister_station(toy_labeller.LabellerNode)
    unregister_phase(toy_ageing.Age)


def labelling_line() -> dict[str, Any]:
    return {
        "line": {"name": "labelling"},
        "products": {"box": {}},
        "stations": {
            "supply": {"type": "source", "product": "box", "to": "lab"},
            "lab": {"type": "labeller", "cycle_time": f"{CYCLE} s", "roll": ROLL,
                    "roll_change": f"{CHANGE} s", "buffer": 2, "to": "out"},
            "out": {"type": "sink"}},
        "alarms": {"lab_queue": {"tag": "buffer.lab", "limit": 2, "direction": "high"}},
    }


def ageing_line() -> dict[str, Any]:
    species = {sp: {"molar_mass": "0.1 kg/mol", "density": "1000 kg/m3",
                    "cp": "2000 J/(kg*K)"} for sp in ("A", "B")}
    recipe = [{"phase": "charge", "duration": "10 min", "materials": {"A": "100 kg"}},
              {"phase": "age", "name": "ageing", "reactant": "A", "product": "B",
               "k": "1e-3 /s", "duration": "30 min"}]
    return {
        "line": {"name": "ageing"}, "products": {"batch": {}}, "species": species,
        "stations": {
            "src": {"type": "source", "product": "batch",
                    "schedule": [{"at": "0 s", "quantity": 1}], "to": "vessel"},
            "vessel": {"type": "process", "volume": "1 m3", "recipe": recipe, "to": "out"},
            "out": {"type": "sink"}},
    }


def saturated_server(cycle: float, roll: int, change: float, horizon: float
                     ) -> tuple[int, float]:
    """Parts finished by ``horizon`` [s] and setup time in it, by walking the rolls."""
    t, done, setup = 0.0, 0, 0.0
    while True:
        for _ in range(roll):
            if t + cycle > horizon:
                return done, setup
            t += cycle
            done += 1
        setup += min(change, horizon - t)
        t += change
        if t >= horizon:
            return done, setup


# ------------------------------------------------------------------ the station type


def test_unregistered_station_type_is_refused() -> None:
    with pytest.raises(SpecError) as err:
        line_from_dict(labelling_line())
    assert "unknown station type 'labeller'" in str(err.value)


def test_toy_station_validates_runs_and_is_recorded(toys: None) -> None:
    spec = line_from_dict(labelling_line())
    assert type(spec.stations["lab"]) is toy_labeller.Labeller
    res = run(spec, duration=HORIZON, warmup=0, seed=1, engine="simpy")
    states = res.tables["states"]
    lab = states[states["station"].astype(str) == "lab"]
    spent = (lab["end"] - lab["start"]).groupby(lab["state"].astype(str)).sum()
    done, setup = saturated_server(CYCLE, ROLL, CHANGE, HORIZON)
    assert spent["setup"] == pytest.approx(setup, abs=1e-9)
    assert spent["producing"] == pytest.approx(HORIZON - setup, abs=1e-9)
    parts = res.tables["parts"]
    assert int((parts["fate"].astype(str) == "good").sum()) == done
    signals = res.tables["signals"]
    assert set(signals["tag"].astype(str)) >= {"buffer.lab"}  # the alarm's signal is recorded


def test_toy_station_signals_drawing_and_schema(toys: None,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    spec = line_from_dict(labelling_line())
    assert signal_tags(spec)["buffer.lab"] == "count"  # Equipment's declared signal
    assert "temperature.lab" not in signal_tags(spec)
    monkeypatch.setattr(toy_labeller.Labeller, "signals", ("buffer", "temperature"))
    assert signal_tags(spec)["temperature.lab"] == "temperature"  # read from the class
    colour = toy_labeller.Labeller.drawing.colour
    described = describe_line(spec)
    assert described["stations"]["lab"]["colour"] == colour
    box = described["diagram"]["boxes"]["lab"]
    assert box["colour"] == colour and box["type"] == "labeller"
    fig = line_diagram(spec.model_dump(mode="json", by_alias=True)["stations"],
                       FigureStyle("en", None))
    fills = {to_hex(p.get_facecolor()) for p in fig.axes[0].patches}
    assert colour in fills
    texts = {t.get_text() for t in fig.axes[0].texts}
    assert f"labeller buf 2, roll {ROLL}" in texts  # the keys its drawing shows
    schema = json_schema()
    assert "Labeller" in schema["$defs"] and "Age" in schema["$defs"]
    assert schema["$defs"]["Labeller"]["properties"]["type"]["const"] == "labeller"


def test_compiled_engine_says_why_not(toys: None) -> None:
    line = labelling_line()
    del line["alarms"]  # the compiled engine runs no alarms either: leave only the type
    with pytest.raises(ValueError, match=r"station 'lab': type 'labeller' \(it runs "):
        run(line, duration=HORIZON, warmup=0, seed=1, engine="compiled")
    auto = run(line, duration=HORIZON, warmup=0, seed=1, engine="auto")
    assert "type 'labeller'" in auto.provenance["engine_note"]


def test_spec_without_node_class_fails_with_its_name(toys: None) -> None:
    unregister_station(toy_labeller.LabellerNode)
    registry.register_station(toy_labeller.Labeller)  # the data side only
    with pytest.raises(RunFailed, match="has no node class"):
        run(labelling_line(), duration=HORIZON, warmup=0, seed=1, engine="simpy")


def test_registration_errors_name_the_problem() -> None:
    class Odd(toy_labeller.Labeller):
        signals = ("pressure",)

    with pytest.raises(registry.RegistrationError, match="not station signals"):
        registry.register_station(Odd)
    with pytest.raises(registry.RegistrationError, match="already"):
        registry.register_station(_clash())
    with pytest.raises(registry.RegistrationError, match="built in"):
        registry.unregister(registry.station_types()["machine"])


def _clash() -> type:
    """A spec class whose ``type`` is a built-in one's."""
    from typing import Literal

    from twin.data.spec import Equipment

    class NotAMachine(Equipment):
        type: Literal["machine"]

    return NotAMachine


def test_installed_extension_is_found_by_entry_point(monkeypatch: pytest.MonkeyPatch
                                                     ) -> None:
    here = Path(__file__).parent
    monkeypatch.syspath_prepend(str(here))
    ep = metadata.EntryPoint("labeller", "toy_labeller:register", registry.ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry.metadata, "entry_points",
                        lambda group: [ep] if group == registry.ENTRY_POINT_GROUP else [])
    monkeypatch.setattr(registry, "_LOADED", set())
    try:
        spec = line_from_dict(labelling_line())  # no register() call: the entry point
        assert spec.stations["lab"].type == "labeller"
    finally:
        unregister_station(toy_labeller.LabellerNode)


# ------------------------------------------------------------------ the phase model


def test_unregistered_phase_model_is_refused() -> None:
    with pytest.raises(SpecError) as err:
        line_from_dict(ageing_line())
    assert "unknown phase model 'age'" in str(err.value)


def test_toy_phase_model_runs_and_closes_the_balance(toys: None) -> None:
    res = run(ageing_line(), duration="2 h", warmup=0, seed=3)
    phases = res.tables["phases"]
    row = phases[phases["phase"] == "ageing"].iloc[0]
    assert row["end"] - row["start"] == pytest.approx(1800.0, abs=1e-9)
    expected = 100.0 * (1.0 - math.exp(-1e-3 * 1800.0))  # first-order kinetics
    flows = res.tables["flows"]
    aged = flows[(flows["phase"] == "ageing") & (flows["kind"] == "transformation")]
    by_species = aged.groupby(aged["species"].astype(str))["kg"].sum()
    assert by_species["B"] == pytest.approx(expected, rel=1e-12)
    assert by_species["A"] == pytest.approx(-expected, rel=1e-12)
    assert res.tables["balance"]["closed"].all()  # every change of material was a flow
    assert (toy_ageing.converted_fraction, toy_ageing.SIGNATURE) in phase_kernels()


def test_scaled_line_keeps_the_toy_phase(toys: None) -> None:
    spec = line_from_dict(ageing_line())
    scaled = scale_line(spec, "vessel", "8 m3")  # L = 2
    charge, aged = scaled.line.stations["vessel"].recipe
    assert type(aged) is toy_ageing.Age and aged.k == pytest.approx(1e-3, rel=1e-15)
    assert charge.materials["A"] == pytest.approx(100.0 * 8.0, rel=1e-12)  # mass ~ volume
    rows = scaled.derivation[scaled.derivation["path"] == "stations.vessel.recipe[1].k"]
    assert list(rows["how"]) == ["unchanged (first-order rate constant: intensive)"]


def test_toy_phase_species_are_checked(toys: None) -> None:
    line = ageing_line()
    line["stations"]["vessel"]["recipe"][1]["product"] = "C"
    with pytest.raises(SpecError) as err:
        line_from_dict(line)
    assert any(p.path == "stations.vessel.recipe[1].product" and "'C'" in p.message
               for p in err.value.problems)


def test_package_never_names_the_toys() -> None:
    """Adding the toy station type and phase model touched only their own files."""
    root = Path(__file__).parents[2] / "twin"
    for path in root.rglob("*"):
        if path.suffix in {".py", ".js", ".html", ".css", ".toml"}:
            text = path.read_text(encoding="utf-8").lower()
            assert "labeller" not in text and "toy_ageing" not in text, path


def test_a_broken_extension_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    ep = metadata.EntryPoint("broken", "toy_labeller:no_such_hook", registry.ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry.metadata, "entry_points",
                        lambda group: [ep] if group == registry.ENTRY_POINT_GROUP else [])
    monkeypatch.setattr(registry, "_LOADED", set())
    with pytest.raises(SpecError) as err:
        line_from_dict(labelling_line())
    p = next(p for p in err.value.problems if p.path == "stations.lab")
    assert "extension 'broken' (toy_labeller:no_such_hook) could not register" in p.message


def baking_line(kind: str) -> dict[str, Any]:
    return {
        "line": {"name": "baking"},
        "products": {"tray": {}},
        "stations": {
            "supply": {"type": "source", "product": "tray", "to": "bake",
                       "interarrival": {"dist": "exponential", "mean": "20 s"}},
            "bake": {"type": kind, "batch_size": 3, "buffer": 6,
                     "cycle_time": {"dist": "exponential", "mean": "50 s"}, "to": "out"},
            "out": {"type": "sink"}},
    }


def test_a_subclass_of_a_builtin_type_is_read_as_that_type() -> None:
    """An oven (a registered subclass of ``Batch``) runs as the batch station does, and the
    state of a run taken from its tables holds its batches whole, as for ``batch``: the
    readers ask the class, not the type name (by name, each part would be a job of its own)."""
    toy_oven.register()
    try:
        oven = run(line_from_dict(baking_line("oven")), duration=600.0, warmup=0, seed=3,
                   engine="simpy")
        plain = run(line_from_dict(baking_line("batch")), duration=600.0, warmup=0, seed=3,
                    engine="simpy")
        for t in (130.0, 290.0, 470.0):
            got = state_from_tables(oven.line, oven.tables, t).stations["bake"]
            want = state_from_tables(plain.line, plain.tables, t).stations["bake"]
            assert got == want
        assert any(len(u.parts) == 3 for t in (130.0, 290.0, 470.0)
                   for u in state_from_tables(oven.line, oven.tables, t).stations["bake"].units)
        page = describe_line(oven.line)["stations"]["bake"]  # the page draws it as a batch
        assert (page["queue_curve"], page["profiles"]) == (False, False)
    finally:
        unregister_station(toy_oven.OvenNode)
