"""`twin report`: one self-contained HTML file per run, study or scale-up study.

Small runs and studies are built once per module in a temporary folder (fixed seeds); every
report is checked for self-containment (no external URLs, images as data: URIs), for
well-formedness with the standard library's HTML parser, and for the numbers it must carry
(hashes, seeds, KPI values as stored in run.json, balance closure, the scale-up comparison).
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from twin.edges.cli import main
from twin.edges.report import ReportError, build_report
from twin.edges.report_html import fmt_num
from twin.figures.style import cjk_font
from twin.orchestration import run as run_module
from twin.orchestration.run import RunFailed, run
from twin.orchestration.scaleup_study import study as scaleup_study
from twin.orchestration.sweep import run_study

ROOT = Path(__file__).resolve().parents[2]
SERVO = ROOT / "lines" / "servo_actuator" / "line.toml"
API = ROOT / "lines" / "api_batch" / "line.toml"
CHROMIUM = Path("/usr/bin/chromium")

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class _Checker(HTMLParser):
    """Tag balance, section count, every src/href, and the text content."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.sections_opened = 0
        self.sections_closed = 0
        self.urls: list[tuple[str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value is not None:
                self.urls.append((name, value))
        if tag == "section":
            self.sections_opened += 1
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value is not None:
                self.urls.append((name, value))

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            return
        self.stack.pop()
        if tag == "section":
            self.sections_closed += 1

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def check_html(doc: str) -> _Checker:
    """Parse the document and assert it is balanced and self-contained."""
    parser = _Checker()
    parser.feed(doc)
    parser.close()
    assert doc.startswith("<!DOCTYPE html>")
    assert not parser.errors, parser.errors[:5]
    assert parser.stack == [], parser.stack
    assert parser.sections_opened >= 4
    assert parser.sections_opened == parser.sections_closed
    assert "http://" not in doc and "https://" not in doc
    assert "<script" not in doc.lower()
    for name, value in parser.urls:
        assert not value.startswith("//"), (name, value)
        if name == "src":
            assert value.startswith("data:image/png;base64,"), value[:40]
            png = base64.b64decode(value.split(",", 1)[1])
            assert png[:8] == b"\x89PNG\r\n\x1a\n"
        else:
            assert value.startswith("#"), value
    assert sum(1 for n, _ in parser.urls if n == "src") >= 1
    return parser


def _run_json(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "run.json").read_text())


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A discrete run, a process run, a 2 x 2 sweep study and a 2-scale scale-up study."""
    root = tmp_path_factory.mktemp("report")
    out: dict[str, Path] = {}
    out["servo"] = run(SERVO, duration="1 d", warmup="4 h", seed=5).save(root / "runs")
    out["api"] = run(API, duration="2 d", warmup="12 h", seed=3).save(root / "runs")
    scenario = root / "tiny.toml"
    scenario.write_text(f"""
[scenario]
name = "tiny_report_study"
line = "{SERVO.as_posix()}"
description = "assembly benches on the servo line"
rank_by = "throughput_per_h"

[run]
duration = "1 d"
warmup = "4 h"
replications = 2
seed = 40

[sweep]
design = "grid"
factors."stations.assembly.servers" = {{ levels = [2, 3] }}
""")
    out["study"] = run_study(scenario, root / "studies", executor="serial").root
    out["scaleup"] = scaleup_study(API, "reactor", ["0.5 m3", "2.5 m3"], replications=2,
                                   duration="2 d", warmup="12 h", seed=1,
                                   out=root / "scaleup", td24=453.15).root
    return out


@pytest.fixture(scope="module")
def failed_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run that raised inside the engine, saved with its traceback."""
    root = tmp_path_factory.mktemp("failed")
    original = run_module.LineModel.run

    def boom(self: Any, until: float) -> None:
        raise RuntimeError("injected failure: cooling water pump lost")

    run_module.LineModel.run = boom  # type: ignore[method-assign]
    try:
        with pytest.raises(RunFailed) as info:
            run(SERVO, duration="1 d", warmup="1 h", seed=9)
    finally:
        run_module.LineModel.run = original  # type: ignore[method-assign]
    return info.value.result.save(root)


def test_discrete_run_report_carries_provenance_and_kpis(built: dict[str, Path]) -> None:
    folder = built["servo"]
    doc = build_report(folder)
    check_html(doc)
    summary = _run_json(folder)
    prov, kpis = summary["provenance"], summary["kpis"]
    for value in (prov["spec_hash"], prov["run_hash"], prov["code_hash"], str(prov["seed"]),
                  prov["versions"]["numpy"], prov["source"]):
        assert value in doc
    for key in ("throughput_per_h", "good_units", "quality_ratio", "wip_mean",
                "kwh_per_good_unit", "co2e_kg_per_good_unit"):
        assert f">{fmt_num(kpis[key])}<" in doc, key
    assert kpis["bottleneck"] in doc
    # ISO 22400 KPIs are named, the energy intensities marked as not ISO 22400
    assert "Quality ratio = GQ/PQ" in doc and "not ISO 22400" in doc
    # the line model lists every station; rework is shown
    for station in summary["provenance"]["parameters"]["stations"]:
        assert f">{station}<" in doc
    assert "rework_bench (rework)" in doc
    # no material ledger on a discrete line, no alarms table, the grid factor with its year
    assert "no material ledger" in doc
    if (folder / "alarms.parquet").is_file():
        assert "alarms raised" in doc and "standing alarms" in doc
    else:
        assert "No alarms were defined" in doc
    assert "0.5306 kg CO2e/kWh" in doc and "2023" in doc
    # the line's README is quoted as an assumption
    assert "# " in doc and (SERVO.parent / "README.md").read_text().splitlines()[0] in doc


def test_process_run_report_shows_balance_closure_and_emissions(built: dict[str, Path]) -> None:
    import pandas as pd

    folder = built["api"]
    doc = build_report(folder)
    check_html(doc)
    kpis = _run_json(folder)["kpis"]
    balance = pd.read_parquet(folder / "balance.parquet")
    assert bool(balance["closed"].all())
    assert f"all species close ({len(balance)}/{len(balance)})" in doc
    for species in balance["species"]:
        assert f">{species}<" in doc
    for key in ("product_kg", "co2e_scope1_kg", "co2e_scope2_utilities_kg", "cod_kg",
                "water_kg", "voc_emitted_kg", "e_factor", "co2e_kg_per_kg"):
        assert f">{fmt_num(kpis[key])}<" in doc, key
    assert "natural gas combustion" in doc and "purchased electricity" in doc
    assert "GB/T 2589" in doc
    assert "steam" in doc and "chilled_water" in doc


def test_sweep_study_report_ranks_with_intervals(built: dict[str, Path]) -> None:
    from twin.orchestration.sweep import Study

    root = built["study"]
    doc = build_report(root)
    check_html(doc)
    ranked = Study(root).summary()
    assert "Ranking of configurations" in doc
    for rec in ranked.to_dict("records"):
        assert rec["configuration"] in doc
        assert f">{fmt_num(rec['mean'])}<" in doc
    assert "±" in doc
    meta = json.loads((root / "study.json").read_text())
    for task in meta["tasks"]:
        assert task["run_id"] in doc
    assert "40, 41" in doc  # the replication seeds


def test_scaleup_report_compares_scales_and_safety(built: dict[str, Path]) -> None:
    import pandas as pd

    root = built["scaleup"]
    doc = build_report(root)
    check_html(doc)
    table = pd.read_csv(root / "comparison.csv")
    assert "Comparison across scales" in doc
    for col in ("annual_output_t", "peak_temperature_C", "max_mtsr_C", "react_time_h"):
        for value in table[col]:
            assert f">{fmt_num(float(value))}<" in doc, col
    assert "Stoessel class" in doc
    for cls in table["stoessel_class"]:
        assert f">{int(cls)}<" in doc
    assert "derivation.csv" in doc
    assert "all species close" in doc


def test_chinese_labels_keep_the_numbers(built: dict[str, Path]) -> None:
    folder = built["api"]
    doc = build_report(folder, lang="zh")
    check_html(doc)
    kpis = _run_json(folder)["kpis"]
    for heading in ("输入与溯源信息", "产线模型", "关键绩效指标", "物料与能量平衡", "假设条件"):
        assert heading in doc
    assert '<html lang="zh-CN">' in doc
    assert f">{fmt_num(kpis['product_kg'])}<" in doc
    assert _run_json(folder)["provenance"]["spec_hash"] in doc
    if cjk_font() is None:
        assert "未找到支持中文的字体" in doc
    study = build_report(built["scaleup"], lang="zh")
    check_html(study)
    assert "不同规模对比" in study and "热安全等级与报警" in study


def test_alarm_summary_counts_priorities_floods_and_standing() -> None:
    import pandas as pd

    from twin.edges.report_sections import alarms_html

    rows = [(30.0 * i, "TT101_HI", "TT101", "high", "activate", "unack", 1.0, 0.5)
            for i in range(12)]  # 12 activations within 6 minutes: one flood
    rows += [(9000.0, "PT201_HI", "PT201", "urgent", "activate", "unack", 3.0, 2.0),
             (9100.0, "TT101_HI", "TT101", "high", "rtn", "normal", 0.1, 0.5)]
    alarms = pd.DataFrame(rows, columns=["time", "alarm", "tag", "priority", "event", "state",
                                         "value", "limit"])
    doc = alarms_html(alarms, {"alarm_activations": 13}, "en")
    assert "<b>alarms raised:</b> 13" in doc
    assert "<td>high</td><td class=\"num\">12</td>" in doc
    assert "<td>urgent</td><td class=\"num\">1</td>" in doc
    assert "10 min, ISA-18.2):</b> 1" in doc
    assert "(active at the end of the run):</b> 1" in doc and "PT201_HI" in doc


def test_standing_alarm_values_are_shown_in_the_units_people_read() -> None:
    """A temperature alarm standing at the end: 378.15 K over a 373.15 K limit reads
    105 degC over 100 degC."""
    import pandas as pd

    from twin.edges.report_sections import alarms_html

    alarms = pd.DataFrame([(60.0, "TT_HI", "temperature.r1", "urgent", "activate", "unack",
                            378.15, 373.15)],
                          columns=["time", "alarm", "tag", "priority", "event", "state",
                                   "value", "limit"])
    doc = alarms_html(alarms, {}, "en", {"TT_HI": (1.0, -273.15, "degC")})
    row = re.search(r"<tr><td>TT_HI</td>.*?</tr>", doc)
    assert row is not None
    assert ">105.00<" in row.group(0) and ">100.00<" in row.group(0) and "degC" in row.group(0)


def test_failed_run_report_says_failed_with_traceback(failed_run: Path) -> None:
    doc = build_report(failed_run)
    check_html(doc)
    assert "FAILED" in doc
    assert "injected failure: cooling water pump lost" in doc
    assert "Traceback" in doc
    assert _run_json(failed_run)["provenance"]["spec_hash"] in doc


def test_not_a_run_or_study_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="not a run folder"):
        build_report(tmp_path)
    with pytest.raises(ReportError, match="not a folder"):
        build_report(tmp_path / "missing")
    (tmp_path / "run.json").write_text("{not json")
    with pytest.raises(ReportError, match="cannot read"):
        build_report(tmp_path)


def _cli(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()


def test_cli_writes_the_report_and_exits_1_on_bad_paths(built: dict[str, Path],
                                                        tmp_path: Path) -> None:
    target = tmp_path / "sub" / "report.html"
    code, out, err = _cli(["report", str(built["servo"]), "-o", str(target), "--lang", "zh"])
    assert code == 0, err
    assert str(target) in out
    check_html(target.read_text(encoding="utf-8"))
    code, out, err = _cli(["report", str(tmp_path / "nowhere"), "-o", str(tmp_path / "x.html")])
    assert code == 1
    assert err.startswith("error:") and "Traceback" not in err
    assert not (tmp_path / "x.html").exists()
    code, _, err = _cli(["report", str(tmp_path), "-o", str(tmp_path / "x.html")])
    assert code == 1 and "not a run folder" in err


def test_report_figures_fall_back_to_english_without_a_cjk_font(built: dict[str, Path],
                                                                 monkeypatch: pytest.MonkeyPatch
                                                                 ) -> None:
    from twin.figures import style as figure_style_module

    monkeypatch.setattr(figure_style_module, "cjk_font", lambda: None)
    doc = build_report(built["servo"], lang="zh")
    assert "未找到支持中文的字体" in doc
    # station names the default font cannot draw are replaced, not drawn as boxes
    style = figure_style_module.figure_style("zh")
    assert style.lang == "en" and style.safe("反应器 R1") == "??? R1"


@pytest.mark.parametrize(("kind", "lang"), [("api", "en"), ("study", "en"),
                                            ("scaleup", "en"), ("servo", "zh")])
def test_report_renders_in_chromium_and_prints_to_pdf(built: dict[str, Path], tmp_path: Path,
                                                     kind: str, lang: str) -> None:
    """The report opened in Debian's Chromium (Playwright): nothing is fetched from anywhere,
    every figure decodes, every section has content; a screenshot is kept and the page prints
    to a multi-page PDF."""
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "Debian's chromium is needed (the test command installs it)"
    html_file = tmp_path / f"report_{kind}_{lang}.html"
    html_file.write_text(build_report(built[kind], lang=lang), encoding="utf-8")
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM),
                                    args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("request", lambda r: requests.append(r.url))
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(html_file.as_uri())
        page.wait_for_load_state("load")
        images = page.evaluate("""() => [...document.images].map(i => ({
            alt: i.alt, ok: i.complete && i.naturalWidth > 0, w: i.naturalWidth }))""")
        sections = page.evaluate("""() => [...document.querySelectorAll('section')].map(s => ({
            id: s.id, text: s.innerText.trim().length }))""")
        shot = tmp_path / f"report_{kind}_{lang}.png"
        page.screenshot(path=str(shot), full_page=True)
        pdf = page.pdf(format="A4", print_background=True)
        browser.close()
    print(f"screenshot: {shot}")
    assert not errors, errors
    assert {u.split(":", 1)[0] for u in requests} <= {"file", "data"}, requests
    assert images and all(i["ok"] for i in images), [i for i in images if not i["ok"]]
    assert len(sections) >= 4 and all(s["text"] > 0 for s in sections), sections
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    assert pdf[:5] == b"%PDF-" and pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages") >= 2

