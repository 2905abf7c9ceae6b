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
from pdf_text import page_texts

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
    # the line's README is rendered (its title a heading, its bold text bold), not quoted raw
    title = (SERVO.parent / "README.md").read_text().splitlines()[0].removeprefix("# ")
    assert f"<h3>{title}</h3>" in doc and "<strong>SA-40</strong>" in doc
    assert "# Servo" not in doc


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
    to a multi-page PDF whose every page shows the report id and its page number."""
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
    # every printed page carries the running header with the report id, and its number
    rid = re.search(r"(TR-[0-9a-f]{12})", html_file.read_text(encoding="utf-8"))
    assert rid is not None
    pages = page_texts(pdf)
    assert len(pages) >= 2
    for n, page in enumerate(pages, start=1):
        assert rid.group(1) in page, (n, page[:120])
        assert f"{n} / {len(pages)}" in page, (n, page[:120])



# --------------------------------------------------------------------------- acceptance evidence

TD24_K = 453.15  # 180 degC, the TD24 the scale-up fixture uses


def _stoessel(mtsr: float, mtt: float, td24: float) -> int:
    """Stoessel's criticality classes (Stoessel 2008, table 3.3), written out independently."""
    if mtsr < mtt < td24:
        return 1
    if mtsr < td24 <= mtt:
        return 2
    if mtt <= mtsr < td24:
        return 3
    if mtt < td24 <= mtsr:
        return 4
    return 5


def _rows(doc: str, section: str) -> list[list[str]]:
    """The body rows of the tables of a section, as cell texts."""
    body = re.search(rf'<section id="{section}">(.*?)</section>', doc, re.S)
    assert body is not None, section
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in
            re.findall(r"<tr>(.*?)</tr>", body.group(1)) if "<td" in row]


def test_batch_record_recomputes_from_the_phases_table(built: dict[str, Path]) -> None:
    """Each batch whose reaction ended after the warm-up has a row with the reaction's
    conversion, selectivity, yield, peak T and MTSR (K -> degC) from phases.parquet, the
    span of its phases and its product from flows.parquet when it left the line, and a
    Stoessel class recomputed from MTSR, MTT (lowest boiling point of the species charged to
    the batch before its reaction, from flows.parquet) and TD24."""
    import numpy as np
    import pandas as pd

    folder = built["api"]
    summary = _run_json(folder)
    warmup = summary["provenance"]["settings"]["warmup_s"]
    phases = pd.read_parquet(folder / "phases.parquet")
    flows = pd.read_parquet(folder / "flows.parquet")
    parts = set(pd.read_parquet(folder / "parts.parquet")["part"])
    react = phases[(phases["kind"] == "react") & (phases["end"] >= warmup)].sort_values("start")
    assert len(react) >= 2
    doc = build_report(folder, td24=TD24_K)
    check_html(doc)
    rows = _rows(doc, "batches")
    record = {r[0]: r for r in rows if r[0].isdigit() and len(r) == 13}
    safety = {r[0]: r for r in rows if r[0].isdigit() and len(r) == 7}
    assert sorted(record) == sorted(str(p) for p in react["part"])
    params = summary["provenance"]["parameters"]
    for rec in react.to_dict("records"):
        row = record[str(rec["part"])]
        for value, cell in ((rec["conversion"], 6), (rec["selectivity"], 7), (rec["yield"], 8),
                            (rec["peak_temperature_K"] - 273.15, 9),
                            (rec["max_mtsr_K"] - 273.15, 10),
                            ((rec["end"] - rec["start"]) / 3600, 5)):
            assert row[cell] == fmt_num(float(value)), (rec["part"], cell, row)
        mine = phases[phases["part"] == rec["part"]]
        if rec["part"] in parts:
            assert row[4] == fmt_num(float(mine["end"].max() - mine["start"].min()) / 3600)
            out = flows[(flows["part"] == rec["part"]) & (flows["kind"] == "output")]["kg"]
            assert row[11] == fmt_num(float(out.sum()))
        else:
            assert row[4] == "–" and row[11] == "–"
        charged = flows[(flows["part"] == rec["part"]) & (flows["kind"] == "input")
                        & (flows["time"] <= rec["start"])]["species"].astype(str)
        mtt = min(float(params["species"][m]["t_boil"].split()[0]) for m in set(charged)
                  if params["species"][m]["t_boil"])
        cls = _stoessel(rec["max_mtsr_K"], mtt, TD24_K)
        assert safety[str(rec["part"])][-1] == str(cls)
        assert safety[str(rec["part"])][3] == fmt_num(mtt - 273.15)
    mean = next(r for r in rows if r[0] == "mean")
    assert mean[6] == fmt_num(float(np.mean(react["conversion"])))
    # without TD24 the class is not made up
    plain = build_report(folder)
    assert "No TD24 was given" in plain
    assert all(r[-1] == "–" for r in _rows(plain, "batches") if len(r) == 7)


def test_utilities_table_covers_the_observation_window(built: dict[str, Path],
                                                        tmp_path: Path) -> None:
    """Gas, scope 1 and chiller electricity per utility recomputed from the heat of the
    phases ending after the warm-up with the line's factors; the totals are the run's KPIs."""
    import shutil

    import pandas as pd

    folder = built["api"]
    summary = _run_json(folder)
    kpis, params = summary["kpis"], summary["provenance"]["parameters"]
    warmup = summary["provenance"]["settings"]["warmup_s"]
    phases = pd.read_parquet(folder / "phases.parquet")
    heat = phases[phases["end"] >= warmup].groupby("utility")["heat_J"].sum()
    energy = params["energy"]
    lhv = float(energy["natural_gas_lhv"].split()[0])
    steam = params["utilities"]["steam"]
    gas = heat["steam"] / steam["boiler_efficiency"] / lhv
    chiller_kwh = heat["chilled_water"] / params["utilities"]["chilled_water"]["cop"] / 3.6e6
    doc = build_report(folder)
    rows = {r[0]: r for r in _rows(doc, "balances") if len(r) == 9}
    assert rows["steam"][5] == fmt_num(gas)
    assert rows["steam"][6] == fmt_num(gas * energy["natural_gas_co2_per_m3"])
    assert rows["chilled_water"][4] == fmt_num(chiller_kwh)
    total = rows["<b>total</b>"]
    assert total[4] == fmt_num(kpis["utility_electricity_kwh"])
    assert total[5] == fmt_num(kpis["natural_gas_m3"])
    assert total[6] == fmt_num(kpis["co2e_scope1_kg"])
    assert total[7] == fmt_num(kpis["co2e_scope2_utilities_kg"])
    assert "observation window: phases ending after the warm-up" in doc
    # a later warm-up leaves the earlier phases out (a copy of the run with 40 h of warm-up)
    copy = tmp_path / folder.name
    shutil.copytree(folder, copy)
    summary["provenance"]["settings"]["warmup_s"] = 40 * 3600.0
    (copy / "run.json").write_text(json.dumps(summary))
    late = phases[phases["end"] >= 40 * 3600.0].groupby("utility")["heat_J"].sum()
    assert late["steam"] < heat["steam"]
    rows = {r[0]: r for r in _rows(build_report(copy), "balances") if len(r) == 9}
    assert rows["steam"][5] == fmt_num(late["steam"] / steam["boiler_efficiency"] / lhv)


def test_report_states_its_window_and_id_on_every_page(built: dict[str, Path],
                                                      tmp_path: Path) -> None:
    """One observation window in the header; a report id that follows what is reported
    (same folder and language: same id; another language or a changed run.json: another);
    the id in the printed page header of every page."""
    import shutil

    from twin.data.units import format_duration

    folder = built["servo"]
    settings = _run_json(folder)["provenance"]["settings"]
    doc = build_report(folder)
    window = (f"observation window: {format_duration(settings['warmup_s'])} to "
              f"{format_duration(settings['warmup_s'] + settings['duration_s'])} since the run "
              f"start (warm-up {format_duration(settings['warmup_s'])} excluded)")
    assert window in doc
    rid = re.search(r"report id: (TR-[0-9a-f]{12})", doc)
    assert rid is not None
    assert re.search(r"@top-left \{ content: \"[^\"]*" + rid.group(1), doc)
    assert "counter(page)" in doc
    assert f"report id: {rid.group(1)}" in build_report(folder)
    assert rid.group(1) not in build_report(folder, lang="zh")
    copy = tmp_path / folder.name
    shutil.copytree(folder, copy)
    data = _run_json(copy)
    data["kpis"]["good_units"] += 1
    (copy / "run.json").write_text(json.dumps(data))
    assert rid.group(1) not in build_report(copy)


def test_run_report_shows_the_run_over_time(built: dict[str, Path]) -> None:
    """Process runs: state Gantt, levels, batch temperature and conversion, utility load
    against capacity; discrete runs: Gantt and levels."""
    api = build_report(built["api"])
    section = re.search(r'<section id="timeline">(.*?)</section>', api, re.S)
    assert section is not None
    for caption in ("States of every unit", "Buffer and tank levels",
                    "Batch temperature and conversion", "Utility load against capacity"):
        assert f"<h3>{caption}</h3>" in section.group(1)
    assert section.group(1).count("<img") == 4
    servo = re.search(r'<section id="timeline">(.*?)</section>', build_report(built["servo"]),
                      re.S)
    assert servo is not None and servo.group(1).count("<img") == 2
    assert "Batch record" not in build_report(built["servo"])


def test_chinese_report_translates_its_tables(built: dict[str, Path]) -> None:
    doc = build_report(built["api"], lang="zh", td24=TD24_K)
    for header in ("<th>输入</th>", "<th>不平衡量</th>", "<th>转化率</th>", "<th>选择性</th>",
                   "<th>峰值温度 [degC]</th>", "<th>Stoessel等级</th>", "<th>生产</th>",
                   "<th>天然气 [m3]</th>", "<th>单位</th>"):
        assert header in doc, header
    for english in ("<th>input</th>", "<th>producing</th>", "<th>unit</th>",
                    "<th>conversion</th>"):
        assert english not in doc, english


def test_readme_markdown_is_rendered_safely() -> None:
    """Headings move under the section, raw HTML is text, links keep their address as text
    and point nowhere, images become their alt text."""
    from twin.edges.report_markdown import markdown_html

    out = markdown_html("# Title\n\nSee [docs](https://example.org/x) <b>raw</b> "
                        "<script>alert(1)</script> ![a pump](p.png)\n\n| a | b |\n|---|---|\n"
                        "| 1 | 2 |\n")
    assert "<h3>Title</h3>" in out
    assert "<script" not in out and "&lt;script&gt;" in out and "&lt;b&gt;raw" in out
    assert "href" not in out and "docs</span> (https://example.org/x)" in out
    assert "<img" not in out and "[a pump]" in out
    assert "<td>1</td>" in out


def test_report_diagram_draws_the_shared_layout_with_readable_labels() -> None:
    """The report's line diagram puts each station where the shared layout (the dashboard's)
    puts it, so the flow reads left to right along the routes (a station reached only by
    rework sits after its sender, not at the far left); no label is below the minimum size."""
    import twin
    from twin.edges.layout import MIN_LABEL_PT, line_layout
    from twin.edges.report_diagram import line_diagram
    from twin.figures.style import figure_style

    for path in sorted((ROOT / "lines").glob("*/line.toml")):
        stations = twin.load_line(path).model_dump(mode="json", by_alias=True)["stations"]
        fig = line_diagram(stations, figure_style("en"))
        texts = [t for ax in fig.axes for t in ax.texts] + [
            t for legend in fig.legends for t in legend.get_texts()]
        assert texts and min(t.get_fontsize() for t in texts) >= MIN_LABEL_PT, path
        name_x = {t.get_text(): t.get_position()[0] for t in fig.axes[0].texts
                  if t.get_text() in stations}
        assert set(name_x) == set(stations), path
        lay = line_layout(stations)
        for a, b in ((a, b) for a in stations for b in stations):
            if lay.column(a) < lay.column(b):
                assert name_x[a] < name_x[b], (path.parent.name, a, b)
    servo = twin.load_line(SERVO).model_dump(mode="json", by_alias=True)["stations"]
    lay = line_layout(servo)
    assert lay.column("rework_bench") > lay.column("eol_test") > lay.column("housing_blanks")


def test_energy_and_emission_tables_recompute_from_stored_tables(built: dict[str, Path]) -> None:
    """Equipment electricity by station and state sums energy.parquet; the scope total is
    equipment CO2e (energy.parquet) + scope 1 gas and scope 2 utility electricity recomputed
    from the heat of the phases in the window; species emissions sum flows.parquet after the
    warm-up."""
    import pandas as pd

    folder = built["api"]
    summary = _run_json(folder)
    params, warmup = (summary["provenance"]["parameters"],
                      summary["provenance"]["settings"]["warmup_s"])
    doc = build_report(folder)
    energy = pd.read_parquet(folder / "energy.parquet")
    balances = _rows(doc, "balances")
    by_state = energy.assign(station=energy["station"].astype(str)).groupby("station")["kwh"]
    for station, kwh in by_state.sum().items():
        row = next(r for r in balances if r[0] == station)
        assert row[-1] == fmt_num(float(kwh)), station
    assert next(r for r in balances if r[0] == "<b>total</b>" and len(r) < 9)[-1] == \
        fmt_num(float(energy["kwh"].sum()))
    phases = pd.read_parquet(folder / "phases.parquet")
    heat = phases[phases["end"] >= warmup].groupby("utility")["heat_J"].sum()
    e, u = params["energy"], params["utilities"]
    grid = float(e["grid"]["value"].split()[0]) * 3.6e6  # kg/J -> kg/kWh
    scope1 = heat["steam"] / u["steam"]["boiler_efficiency"] / float(
        e["natural_gas_lhv"].split()[0]) * e["natural_gas_co2_per_m3"]
    utility_kwh = (heat["chilled_water"] / u["chilled_water"]["cop"]
                   + heat["cooling_water"] * u["cooling_water"]["specific_power"]) / 3.6e6
    total = float(energy["kg_co2e"].sum()) + scope1 + utility_kwh * grid
    emissions = _rows(doc, "emissions")
    assert next(r for r in emissions if r[0] == "<b>total</b>")[2] == fmt_num(total)
    flows = pd.read_parquet(folder / "flows.parquet")
    late = flows[(flows["time"] >= warmup) & (flows["kind"] == "emission")]
    for (station, species), kg in late.groupby(
            [late["station"].astype(str), late["species"].astype(str)])["kg"].sum().items():
        row = next(r for r in emissions if r[:2] == [station, species])
        assert row[3] == fmt_num(float(kg)), (station, species)


def test_study_kpis_by_configuration_are_student_t_intervals(built: dict[str, Path]) -> None:
    """Each configuration's mean ± half-width recomputed from its runs' run.json with SciPy's
    Student-t quantile (95%, n - 1 degrees of freedom)."""
    import numpy as np
    from scipy import stats

    root = built["study"]
    meta = json.loads((root / "study.json").read_text())
    doc = build_report(root)
    rows = _rows(doc, "kpis")
    values: dict[int, list[float]] = {}
    for task in meta["tasks"]:
        kpis = _run_json(root / "runs" / task["run_id"])["kpis"]
        values.setdefault(task["point"], []).append(kpis["throughput_per_h"])
    for point, xs in values.items():
        x = np.asarray(xs)
        hw = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
        shown = f"{fmt_num(float(x.mean()))} ± {fmt_num(float(hw))}"
        assert any(len(r) > 2 and r[1] == str(len(x)) and r[2] == shown for r in rows), \
            (point, shown)


def test_run_report_draws_material_and_energy_sankeys(built: dict[str, Path]) -> None:
    """Process runs: a material and an energy Sankey of the window; discrete runs: energy."""
    api = re.search(r'<section id="flows">(.*?)</section>', build_report(built["api"]), re.S)
    assert api is not None and api.group(1).count("<img") == 2
    assert 'alt="Material [kg]"' in api.group(1) and 'alt="Energy [kWh]"' in api.group(1)
    servo = re.search(r'<section id="flows">(.*?)</section>', build_report(built["servo"]),
                      re.S)
    assert servo is not None and servo.group(1).count("<img") == 1
