"""`twin run --report` writes a self-contained report into the run folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from twin.edges.cli import main

LINE = Path(__file__).resolve().parents[2] / "lines" / "servo_actuator" / "line.toml"


def test_run_with_report_writes_report_html(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", str(LINE), "--duration", "2d", "--warmup", "0d", "--seed", "4",
                 "--out", str(tmp_path), "--report", "--json"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    report = Path(summary["report"])
    assert report == Path(summary["folder"]) / "report.html"
    html = report.read_text(encoding="utf-8")
    assert summary["provenance"]["spec_hash"] in html
    assert "http://" not in html and "https://" not in html
