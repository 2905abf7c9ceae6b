"""Unit parsing to SI (twin.data.units.to_si).

Reference values are the SI definitions: 1 h = 3600 s, 1 d = 86400 s, 1 kW = 1000 W,
T[K] = T[degC] + 273.15, 1 L = 1e-3 m3.
"""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from twin.data.units import UnitError, format_duration, to_si


@pytest.mark.parametrize(
    ("text", "dimension", "expected"),
    [
        ("90 s", "time", 90.0),
        ("2.5 h", "time", 2.5 * 3600.0),
        ("30 d", "time", 30 * 86400.0),
        ("45 min", "time", 2700.0),
        ("15 kW", "power", 15_000.0),
        ("85 degC", "temperature", 85.0 + 273.15),
        ("500 L", "volume", 0.5),
        ("3 kWh", "energy", 3.0 * 3.6e6),
        ("0.5306 kg/kWh", "mass_per_energy", 0.5306 / 3.6e6),
        ("2 kg", "mass", 2.0),
    ],
)
def test_to_si_converts_to_si_base_units(text: str, dimension: str, expected: float) -> None:
    assert to_si(text, dimension) == pytest.approx(expected, rel=1e-12)


def test_to_si_returns_plain_float() -> None:
    value = to_si("90 s", "time")
    assert type(value) is float


def test_whitespace_around_quantity_is_ignored() -> None:
    assert to_si("  90 s  ", "time") == 90.0


@pytest.mark.parametrize(
    ("text", "dimension", "expected_word"),
    [("5 kg", "time", "time"), ("15 kW", "time", "time"), ("90 s", "power", "power"),
     ("2 m", "volume", "volume")],
)
def test_wrong_dimension_names_the_expected_dimension(text: str, dimension: str,
                                                      expected_word: str) -> None:
    with pytest.raises(UnitError) as info:
        to_si(text, dimension)
    msg = str(info.value)
    assert f"expected a {expected_word}" in msg
    assert text in msg


@pytest.mark.parametrize("value", [90, 90.0, "90", "2.5"])
def test_bare_number_rejected_for_dimensional_quantity(value: object) -> None:
    with pytest.raises(UnitError, match="time"):
        to_si(value, "time")  # type: ignore[arg-type]


def test_bare_number_taken_in_bare_unit_when_given() -> None:
    assert to_si(90, "time", bare_unit="min") == 5400.0


def test_bare_number_accepted_for_dimensionless() -> None:
    assert to_si(0.25, "dimensionless") == 0.25


def test_boolean_rejected() -> None:
    with pytest.raises(UnitError):
        to_si(True, "time", bare_unit="s")


@pytest.mark.parametrize("value", [None, [1, "s"], {"value": 1}])
def test_non_text_rejected_with_unit_error(value: object) -> None:
    with pytest.raises(UnitError):
        to_si(value, "time")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text", ["", "   ", "five seconds", "5 parsecs per fortnight (", "1 s / 0"])
def test_unreadable_text_raises_unit_error(text: str) -> None:
    with pytest.raises(UnitError):
        to_si(text, "time")


def test_unknown_dimension_rejected() -> None:
    with pytest.raises(UnitError, match="unknown dimension"):
        to_si("1 s", "luminosity")


@pytest.mark.parametrize("text", ["nan s", "inf s", "-inf h", "1e400 s"])
def test_non_finite_text_rejected(text: str) -> None:
    with pytest.raises(UnitError, match="finite"):
        to_si(text, "time")


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_number_with_bare_unit_rejected(value: float) -> None:
    with pytest.raises(UnitError):
        to_si(value, "time", bare_unit="s")


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_number_rejected_for_dimensionless(value: float) -> None:
    with pytest.raises(UnitError):
        to_si(value, "dimensionless")


def test_integer_overflow_in_expression_is_a_unit_error() -> None:
    # pint evaluates the power exactly; the result does not fit a float
    with pytest.raises(UnitError):
        to_si("10**1000 s", "time")


def test_huge_power_expression_does_not_hang() -> None:
    # A spec file is untrusted text: parsing one quantity must finish quickly.
    code = (
        "from twin.data.units import to_si, UnitError\n"
        "try:\n    to_si('10**10**10 s', 'time')\nexcept UnitError:\n    pass\n"
    )
    try:
        subprocess.run([sys.executable, "-c", code], timeout=8, check=False,
                       capture_output=True)
    except subprocess.TimeoutExpired:
        pytest.fail("to_si('10**10**10 s', 'time') did not return within 8 s")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(45.0, "45.0 s"), (300.0, "5.0 min"), (9000.0, "2.50 h"), (3 * 86400.0, "3.0 d")],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
