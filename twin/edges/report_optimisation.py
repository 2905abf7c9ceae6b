"""The report of an optimisation study (``study.json`` of kind ``optimisation``): the search
settings, every candidate, the selected design with its selection guarantee and its paired
interval against the starting design, or the Pareto front with its selected set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from twin.edges.report_html import Section, document, esc, fmt_num, img, kv_table, note, table
from twin.edges.report_load import load_runs, report_id
from twin.edges.report_sections import assumptions_section, header_meta, model_section
from twin.edges.report_text import kpi_label
from twin.figures.studies import pareto_figure
from twin.figures.style import FigureStyle, figure_style, png_data_uri
from twin.observation import catalogue
from twin.observation.runfolder import RUNS_DIR, read_study

TITLE = {"en": "Optimisation report", "zh": "优化报告"}
LABELS = {
    "variable": ("variable", "决策变量"), "value": ("value", "取值"),
    "search": ("Search", "搜索"), "candidates": ("Candidates", "候选方案"),
    "selection": ("Selected design", "选定方案"), "front": ("Pareto front", "帕累托前沿"),
    "objectives": ("objectives", "目标"), "budget": ("candidates evaluated", "评估方案数"),
    "replications": ("replications per candidate", "每方案重复次数"),
    "method": ("search method", "搜索方法"), "executed": ("runs executed in the last call",
                                                        "本次执行的运行数"),
    "guarantee": ("Procedure KN (Kim & Nelson 2001): with probability at least {p} the design "
                  "below is the best whenever it is at least {d} better than every other "
                  "finalist.", "KN程序(Kim & Nelson 2001):当最优方案比其余方案至少好{d}时,"
                  "以不低于{p}的概率选中该方案。"),
    "no_guarantee": ("No selection guarantee: {why}.", "无选择保证:{why}。"),
    "versus": ("Against the starting design (paired-t 95 % interval over common random "
               "numbers):", "与初始方案比较(共同随机数下的配对t检验95%区间):"),
    "confirm": ("Front points re-run with independent seeds (confirm: mean, half width of "
                "its 95 % interval).", "前沿方案以独立随机种子重新运行(确认均值及95%区间半宽)。"),
    "front_guarantee": ("Pareto-set selection (two-stage, Stein 1945, Bonferroni over pairs "
                        "and objectives): with probability at least {p} every Pareto-optimal "
                        "point is kept (selected) and no kept point is beaten by another by "
                        "more than {d} in every objective.",
                        "帕累托集选择(Stein 1945两阶段程序,对方案对与目标作Bonferroni校正):"
                        "以不低于{p}的概率保留全部帕累托最优方案(selected),且任一保留方案"
                        "不会在所有目标上都被另一方案超出{d}以上。"),
    "front_partial": ("Pareto-set selection stopped at the replication cap: with probability "
                      "at least {p} every Pareto-optimal point is kept; a kept point may be "
                      "beaten by more than the indifference zone {d}.",
                      "帕累托集选择达到重复次数上限:以不低于{p}的概率保留全部帕累托最优方案;"
                      "保留方案可能被超出无差异区间{d}以上。"),
}


def _with_unit(sel: dict[str, Any]) -> str:
    """The indifference zone with the objective's unit."""
    try:
        unit = catalogue.kpi(sel["kpi"]).unit
    except catalogue.UnknownKPI:
        unit = ""
    return f"{fmt_num(sel['delta'])} {unit}".strip()


def _l(key: str, lang: str) -> str:
    en, zh = LABELS[key]
    return zh if lang == "zh" else en


def _short(path: str) -> str:
    first, _, rest = path.partition(".")
    return rest if first in ("stations", "operators", "products") and rest else path


def _search_section(meta: dict[str, Any], lang: str) -> Section:
    opt = (meta.get("scenario") or {}).get("optimise") or {}
    sec = Section("search", _l("search", lang))
    objectives = ", ".join(f"{kpi_label(o['kpi'], lang)} ({'max' if o['maximize'] else 'min'})"
                           for o in meta.get("objectives", []))
    rows = [(_l("objectives", lang), objectives),
            (_l("method", lang), opt.get("method", "")),
            (_l("budget", lang), len(meta.get("candidates", []))),
            (_l("replications", lang), opt.get("replications", "")),
            (_l("executed", lang), meta.get("runs_executed", ""))]
    sec.add(kv_table(rows, lang))
    return sec


def _candidates_section(meta: dict[str, Any], lang: str) -> Section:
    hist = pd.DataFrame(meta.get("candidates", []))
    sec = Section("candidates", _l("candidates", lang))
    if hist.empty:
        return sec
    cols = [c for c in hist.columns if c.startswith(("x:", "mean:"))] + ["feasible"]
    heads = [_short(c[2:]) if c.startswith("x:") else
             kpi_label(c[5:], lang) if c.startswith("mean:") else c for c in cols]
    sec.add(table(["#", *heads], [[r["candidate"], *[r[c] for c in cols]]
                                  for r in hist.to_dict("records")]))
    return sec


def _selection_section(meta: dict[str, Any], lang: str) -> Section:
    sel, best = meta.get("selection") or {}, meta.get("best")
    sec = Section("selection", _l("selection", lang))
    if sel.get("guaranteed"):
        sec.add(note(_l("guarantee", lang).format(p=f"{1 - sel['alpha']:.0%}",
                                                   d=_with_unit(sel))))
    else:
        sec.add(note(_l("no_guarantee", lang).format(
            why=sel.get("note", "the replication cap was reached first")), "warn"))
    if best:
        sec.add(table([_l("variable", lang), _l("value", lang)],
                      [[_short(k), v] for k, v in best.items()]))
    if sel.get("finalists") and sel.get("means"):
        sec.add(table(["finalist", "replications", f"mean {kpi_label(sel['kpi'], lang)}"],
                      [[", ".join(f"{_short(k)}={v}" for k, v in f.items()), n, m]
                       for f, n, m in zip(sel["finalists"], sel["replications"], sel["means"],
                                          strict=True)]))
    vs = sel.get("versus_start")
    if vs:
        sec.add(note(_l("versus", lang)))
        sec.add(table(["KPI", "best", "start", "difference", "low", "high", "n"],
                      [[kpi_label(vs["kpi"], lang), vs["best_mean"], vs["start_mean"],
                        vs["difference"], vs["low"], vs["high"], vs["replications"]]]))
    return sec


def _axis(kpi: str, lang: str) -> str:
    """An objective's axis label: catalogue label and unit."""
    try:
        unit = catalogue.kpi(kpi).unit
    except catalogue.UnknownKPI:
        unit = ""
    return f"{kpi_label(kpi, lang)} [{unit}]" if unit else kpi_label(kpi, lang)


def _front_section(path: Path, meta: dict[str, Any], lang: str, style: FigureStyle
                   ) -> Section | None:
    file = path / "pareto.csv"
    if not file.is_file():
        return None
    front = pd.read_csv(file)
    sec = Section("front", _l("front", lang))
    objectives = [o["kpi"] for o in meta.get("objectives", [])]
    history = pd.DataFrame(meta.get("candidates", []))
    if len(objectives) == 2 and not history.empty:  # the plane of the two objectives
        x, y = objectives
        fig = pareto_figure(history, front, x, y, (_axis(x, lang), _axis(y, lang)), style)
        sec.add(img(png_data_uri(fig, style), _l("front", lang)))
    sec.add(note(_l("confirm", lang)))
    sel = meta.get("selection") or {}
    if "deltas" in sel and "guaranteed" in sel:
        deltas = ", ".join(f"{kpi_label(k, lang)} {v:.4g}" for k, v in sel["deltas"].items())
        key = "front_guarantee" if sel["guaranteed"] else "front_partial"
        sec.add(note(_l(key, lang).format(p=f"{1 - sel['alpha']:.2f}", d=deltas)))
    cols = [c for c in front.columns if c.startswith(("x:", "mean:", "confirm:", "confirm_hw:"))
            or c in ("confirm_replications", "selected", "dominated_by")]
    sec.add(table([esc(_short(c.split(":", 1)[1])) if c.startswith("x:") else c for c in cols],
                  front[cols].to_numpy().tolist()))
    return sec


def _best_run(meta: dict[str, Any], runs: dict[str, Any]) -> Any:
    """A stored run of the selected design (its line is the one the model section draws)."""
    points = meta.get("points", [])
    if meta.get("best") not in points:
        return None
    index = points.index(meta["best"])
    ids = [t["run_id"] for t in meta.get("tasks", []) if t["point"] == index]
    return next((runs[i] for i in ids if i in runs), None)


def optimisation_report(path: Path, lang: str) -> str:
    """The report of an optimisation study folder."""
    meta = read_study(path)
    style = figure_style(lang)
    ids = sorted({t["run_id"] for t in meta.get("tasks", [])})
    runs = load_runs(path / RUNS_DIR, ids)
    first = next(iter(runs.values()), None)
    shown = _best_run(meta, runs) or first
    sections = [_search_section(meta, lang), model_section(shown, lang, style)]
    if meta.get("best") is not None or "kpi" in (meta.get("selection") or {}):
        sections.append(_selection_section(meta, lang))  # one objective: procedure KN
    front = _front_section(path, meta, lang, style)
    if front is not None:
        sections.append(front)
    sections.append(_candidates_section(meta, lang))
    sections.append(assumptions_section(first.parameters if first else {}, None, lang))
    name = (meta.get("scenario") or {}).get("name", path.name)
    line = first.provenance.get("line", "") if first else ""
    rid = report_id([path / "study.json", *(runs[k].path / "run.json" for k in sorted(runs))],
                    lang)
    started = min((r.provenance.get("started_utc", "") for r in runs.values()), default="")
    title = TITLE[lang]
    return document(title, header_meta(lang, f"{line} ({name})", started, style, rid,
                                       first.window if first else None),
                    sections, lang, running=f"{title} · {name} · {rid}")
