"""Physically impossible set-ups are refused by ``twin validate``, with the key path.

References: volume = mass / density of each charged species (values in the api_batch line
file); Newton's law of heating (a batch approaches its jacket temperature and never passes it).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.data.checks import SpecError, load_line
from twin.edges.cli import main

API = Path(__file__).resolve().parents[2] / "lines" / "api_batch" / "line.toml"
CHARGE = 'materials = { A = "300 kg", X = "214 kg", toluene = "1560 kg" }'


def _write(tmp_path: Path, text: str) -> Path:
    f = tmp_path / "line.toml"
    f.write_text(text)
    return f


def test_reference_charge_fits_its_vessel() -> None:
    """300/1200 + 214/1080 + 1560/867 = 2.25 m3 in the 2.5 m3 reactor: valid."""
    load_line(API)


def test_charge_larger_than_the_vessel_is_refused(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """4.2 m3 of toluene (3641 kg at 867 kg/m3) plus A and X into the 2.5 m3 reactor."""
    text = API.read_text()
    assert CHARGE in text
    f = _write(tmp_path, text.replace(CHARGE, CHARGE.replace('"1560 kg"', '"3641 kg"')))
    assert main(["validate", str(f)]) == 1
    err = capsys.readouterr().err
    expected = 300 / 1200 + 214 / 1080 + 3641 / 867
    assert "stations.reactor.recipe[0].materials" in err
    assert f"{expected:.3g} m3" in err and "2.5 m3" in err
    assert "Traceback" not in err


def test_jacket_colder_than_the_heating_target_is_refused(tmp_path: Path) -> None:
    text = API.read_text().replace('to = "65 degC", jacket = "95 degC"',
                                   'to = "65 degC", jacket = "60 degC"')
    with pytest.raises(SpecError) as info:
        load_line(_write(tmp_path, text))
    msg = str(info.value)
    assert "stations.reactor.recipe[1].jacket" in msg
    assert "60.0 degC" in msg and "65.0 degC" in msg and "hotter" in msg


def test_cooling_jacket_must_be_colder_than_the_target(tmp_path: Path) -> None:
    text = API.read_text().replace('to = "65 degC", jacket = "95 degC"',
                                   'to = "65 degC", jacket = "65 degC"').replace(
        '{ phase = "heat", name = "heat-up"', '{ phase = "cool", name = "cool-down"')
    with pytest.raises(SpecError, match=r"recipe\[1\]\.jacket.*colder"):
        load_line(_write(tmp_path, text))
