"""The KPI catalogue: the one declaration of every KPI a run reports.

Each :class:`KPI` names its key (the column in ``run.json``'s ``kpis`` or in the ``stations``
table), unit, English and Chinese label, ISO 22400-2 name (or :data:`NOT_ISO`), direction
(higher is better, lower is better, or none), display format, the line kinds it applies to and
where it is shown. The CLI, the HTML report, the dashboard, scenario ranking and the optimiser
read this table; nothing else lists KPIs.

Adding a KPI touches this file (and its test): declare it in :data:`CATALOGUE`; a KPI that is
a function of other KPIs or of the recorded tables carries its ``compute`` and is filled in by
:func:`derive` after the built-in KPIs (:mod:`twin.observation.kpis`,
:mod:`twin.observation.process_kpis`, :func:`twin.observation.alarms.alarm_summary`).

Line kinds: ``discrete`` (no species declared) and ``process`` (a line with ``[species]``:
material ledger, utilities); ``requires = "alarms"`` (or ``"costs"``) marks KPIs that exist
only when the line declares alarms (or a ``[costs]`` section). Places (``shown``): ``cli``
(``twin run``), ``report`` (the run report's KPI table), ``energy`` and ``water`` (the
report's balance and emission tables), ``study`` (study and comparison tables), ``scaleup``
(KPIs by scale), ``tile`` (dashboard overview tiles), ``compare`` (dashboard comparison of
two runs).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from twin.data.alarms import PRIORITIES

NOT_ISO = "not ISO"
"""The ``iso`` of a KPI that ISO 22400-2 does not define."""

LINE_KINDS = ("discrete", "process")
"""Kinds of lines: ``process`` lines declare species (material ledger and utilities)."""

PLACES = ("cli", "report", "energy", "water", "study", "scaleup", "tile", "compare")
"""Where a KPI can be shown (see the module docstring)."""

BOTH = frozenset(LINE_KINDS)
PROCESS = frozenset({"process"})


@dataclass(frozen=True)
class KPI:
    """One KPI.

    Attributes
    ----------
    key
        Column name in the run's ``kpis`` (line level) or the ``stations`` table.
    unit
        Display unit of the stored value ("" for ratios, counts and names).
    en, zh
        Labels; an asterisk marks energy, emission, water and material intensities.
    iso
        ISO 22400-2 name (with its formula where it has one) or :data:`NOT_ISO`.
    higher_is_better
        ``True``, ``False``, or ``None`` when the KPI has no better direction.
    fmt
        Python format spec of the value (``".3f"``, ``"d"``; ``""`` for names).
    kinds
        Line kinds the KPI applies to (subset of :data:`LINE_KINDS`).
    level
        ``line`` (one value per run) or ``station`` (a column of the ``stations`` table).
    shown
        Places it is shown (subset of :data:`PLACES`).
    short
        Short English header for narrow tables (the CLI's station table); default ``en``.
    requires
        ``"alarms"`` (``"costs"``) if the KPI exists only when the line declares alarms
        (prices).
    compute
        For derived KPIs: ``compute(kpis, tables)`` returns the value from the built-in
        line KPIs and the recorded tables; ``None`` for KPIs computed by the observation
        modules themselves.
    """

    key: str
    unit: str
    en: str
    zh: str
    iso: str = NOT_ISO
    higher_is_better: bool | None = None
    fmt: str = ".3f"
    kinds: frozenset[str] = BOTH
    level: str = "line"
    shown: frozenset[str] = frozenset()
    short: str = ""
    requires: str = ""
    compute: Callable[[Mapping[str, Any], Mapping[str, Any]], Any] | None = field(
        default=None, compare=False)

    def label(self, lang: str = "en") -> str:
        """The label in ``lang`` (``en`` or ``zh``)."""
        return self.zh if lang == "zh" else self.en

    @property
    def is_iso(self) -> bool:
        """Whether ISO 22400-2 defines this KPI."""
        return self.iso != NOT_ISO

    @property
    def decimals(self) -> int:
        """Digits after the decimal point of :attr:`fmt` (0 for integers and names)."""
        spec = self.fmt.rstrip("f%egd")
        return int(spec.split(".")[1]) if "." in spec else 0

    def format(self, value: Any, with_unit: bool = False) -> str:
        """The value as text (``-`` when missing or NaN), optionally followed by the unit."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "-"
        if self.fmt == "d":
            value = int(value)
        text = format(value, self.fmt)
        return f"{text} {self.unit}" if with_unit and self.unit else text

    def applies_to(self, kind: str, alarms: bool, costs: bool = True) -> bool:
        """Whether a line of ``kind`` (with or without alarms, prices) reports this KPI."""
        return kind in self.kinds and (self.requires != "alarms" or alarms) and (
            self.requires != "costs" or costs)


def _k(key: str, unit: str, en: str, zh: str, iso: str = NOT_ISO, better: bool | None = None,
       fmt: str = ".3f", kinds: frozenset[str] = BOTH, shown: str = "", short: str = "",
       level: str = "line", requires: str = "",
       compute: Callable[[Mapping[str, Any], Mapping[str, Any]], Any] | None = None) -> KPI:
    return KPI(key, unit, en, zh, iso, better, fmt, kinds, level, frozenset(shown.split()),
               short or en, requires, compute)


_LINE = [
    _k("throughput_per_h", "units/h", "throughput (good units per hour)", "产出率(合格品/小时)",
       better=True, fmt=".2f", shown="cli report study scaleup tile compare"),
    _k("good_units", "units", "good units", "合格品数", "GQ (good quantity)", True, "d",
       shown="cli report compare"),
    _k("scrap_units", "units", "scrapped units", "报废数", "SQ (scrap quantity)", False, "d",
       shown="cli report compare"),
    _k("rework_events", "", "rework events", "返工次数", "RQ (rework quantity)", False, "d",
       shown="cli report"),
    _k("lost_arrivals", "units", "lost arrivals (line full)", "损失到达数(产线满)", better=False,
       fmt="d", shown="report"),
    _k("quality_ratio", "", "quality ratio", "质量比率", "Quality ratio = GQ/PQ", True,
       shown="cli report study tile compare"),
    _k("scrap_ratio", "", "scrap ratio", "报废率", "Scrap ratio = SQ/PQ", False,
       shown="report"),
    _k("first_pass_yield", "", "first pass yield", "一次通过率", "First pass yield", True,
       shown="cli report study"),
    _k("wip_mean", "units", "WIP (time-weighted mean)", "在制品(时间加权均值)", better=False,
       fmt=".2f", shown="cli report study tile compare"),
    _k("lead_time_mean_h", "h", "lead time, mean", "生产周期均值", better=False,
       shown="cli report study compare"),
    _k("lead_time_p50_h", "h", "lead time, median", "生产周期中位数", better=False,
       shown="cli report"),
    _k("lead_time_p95_h", "h", "lead time, 95th percentile", "生产周期95分位", better=False,
       shown="cli report"),
    _k("bottleneck", "", "bottleneck station", "瓶颈工位", fmt="", shown="cli report compare"),
    _k("bottleneck_utilisation", "", "bottleneck availability", "瓶颈可用率",
       "Availability = APT/PBT", True, shown="cli report study"),
    _k("bottleneck_oee", "", "bottleneck OEE", "瓶颈OEE", "OEE index", True,
       shown="cli report tile compare"),
    _k("shifting_bottleneck", "", "bottleneck, active period method", "瓶颈(活动周期法)",
       fmt="", shown="cli report"),
    _k("electricity_kwh", "kWh", "equipment electricity", "设备用电量", better=False, fmt=".1f",
       shown="cli report energy compare"),
    _k("co2e_kg", "kg", "CO2e of equipment electricity (scope 2)", "设备用电CO2e(范围二)",
       better=False, fmt=".1f", shown="cli report energy"),
    _k("kgce", "kgce", "primary energy of equipment electricity", "设备用电折标准煤",
       better=False, fmt=".2f", shown="report energy"),
    _k("final_energy_kwh", "kWh", "final energy, all carriers", "终端能耗(全部能源)",
       better=False, fmt=".1f", shown="cli report energy"),
    _k("total_electricity_kwh", "kWh", "electricity, equipment and utilities",
       "用电量(设备与公用工程)", better=False, fmt=".1f", shown="report energy"),
    _k("natural_gas_kwh", "kWh", "natural gas (lower heating value)", "天然气(低位热值)",
       better=False, fmt=".1f", shown="report energy"),
    _k("co2e_scope1_kg", "kg", "CO2e scope 1 (natural gas)", "CO2e范围一(天然气)",
       better=False, fmt=".1f", shown="report energy scaleup"),
    _k("co2e_scope2_kg", "kg", "CO2e scope 2 (all electricity)", "CO2e范围二(全部用电)",
       better=False, fmt=".1f", shown="report energy"),
    _k("co2e_total_kg", "kg", "CO2e, scope 1 + 2", "CO2e(范围一+二)", better=False,
       fmt=".1f", shown="cli report energy"),
    _k("kgce_total", "kgce", "primary energy, all carriers", "综合能耗折标准煤",
       better=False, fmt=".2f", shown="report energy"),
    _k("kwh_per_good_unit", "kWh", "final energy per good unit (all carriers) *",
       "单位合格品终端能耗(全部能源) *", better=False, shown="cli report study tile compare"),
    _k("co2e_kg_per_good_unit", "kg", "CO2e per good unit (scope 1 + 2) *",
       "单位合格品CO2e(范围一+二) *", better=False, shown="cli report study tile compare"),
    _k("co2e_scope1_kg_per_good_unit", "kg", "CO2e scope 1 per good unit *",
       "单位合格品CO2e范围一 *", better=False),
    _k("co2e_scope2_kg_per_good_unit", "kg", "CO2e scope 2 per good unit *",
       "单位合格品CO2e范围二 *", better=False),
    _k("kwh_per_good_unit_equipment", "kWh", "equipment electricity per good unit *",
       "单位合格品设备电耗 *", better=False, shown="report energy"),
    *[_k(f"kwh_per_good_unit_{c}", "kWh", f"final energy per good unit, {c.replace('_', ' ')} *",
         f"单位合格品终端能耗({zh}) *", better=False, kinds=PROCESS, shown="report energy")
      for c, zh in (("electricity", "公用工程电"), ("steam", "蒸汽"), ("chilled_water", "冷冻水"),
                    ("cooling_water", "冷却水"), ("compressed_air", "压缩空气"),
                    ("nitrogen", "氮气"), ("process_water", "工艺水"))],
    _k("kgce_per_good_unit", "kgce", "primary energy per good unit *", "单位合格品折标准煤 *",
       better=False, fmt=".4f", shown="cli report"),
    _k("window_h", "h", "observation window", "观测窗口", fmt=".1f"),
]

_PROCESS = [
    _k("product_kg", "kg", "product", "产品量", better=True, fmt=".1f", kinds=PROCESS,
       shown="cli report study scaleup"),
    _k("peak_temperature_max_c", "degC", "highest batch temperature (reaction phases)",
       "最高批次温度(反应阶段)", better=False, fmt=".1f", kinds=PROCESS, shown="report study"),
    _k("mtsr_max_c", "degC", "highest MTSR (reaction phases)", "最高MTSR(反应阶段)",
       better=False, fmt=".1f", kinds=PROCESS, shown="report study"),
    _k("utility_electricity_kwh", "kWh", "utility electricity", "公用工程用电量", better=False,
       fmt=".1f", kinds=PROCESS, shown="report energy"),
    _k("natural_gas_m3", "m3", "natural gas", "天然气", better=False, fmt=".2f", kinds=PROCESS,
       shown="report energy"),
    _k("co2e_scope2_utilities_kg", "kg", "CO2e scope 2 (utility electricity)",
       "CO2e范围二(公用工程用电)", better=False, fmt=".1f", kinds=PROCESS,
       shown="report energy scaleup"),
    _k("water_kg", "kg", "process water (charged, media and cleaning)",
       "工艺用水(投料、介质与清洗)", better=False, fmt=".1f", kinds=PROCESS, shown="water scaleup"),
    _k("cleaning_water_kg", "kg", "cleaning water", "清洗用水", better=False, fmt=".1f",
       kinds=PROCESS, shown="water"),
    _k("wastewater_kg", "kg", "wastewater", "废水", better=False, fmt=".1f", kinds=PROCESS,
       shown="water"),
    _k("waste_kg", "kg", "waste", "固液废物", better=False, fmt=".1f", kinds=PROCESS,
       shown="water"),
    _k("cod_kg", "kg O2", "COD load", "COD负荷", better=False, fmt=".2f", kinds=PROCESS,
       shown="water scaleup"),
    _k("voc_emitted_kg", "kg", "VOC emitted", "VOC排放", better=False, fmt=".2f",
       kinds=PROCESS, shown="water scaleup"),
    _k("solvent_recovered_kg", "kg", "solvent recovered", "溶剂回收", better=True, fmt=".1f",
       kinds=PROCESS, shown="water"),
    _k("material_recovered_kg", "kg", "material recovered", "物料回收", fmt=".1f",
       kinds=PROCESS),
    _k("voc_destroyed_kg", "kg", "VOC destroyed (abatement)", "VOC销毁(治理)", fmt=".2f",
       kinds=PROCESS, shown="water"),
    _k("kwh_electricity_per_kg", "kWh/kg", "electricity per kg product *", "单位产品电耗 *",
       better=False, fmt=".4f", kinds=PROCESS, shown="cli report study scaleup"),
    _k("co2e_kg_per_kg", "kg/kg", "CO2e per kg product *", "单位产品CO2e *", better=False,
       fmt=".4f", kinds=PROCESS, shown="cli report study scaleup"),
    _k("e_factor", "kg/kg", "E-factor (Sheldon) *", "E因子(Sheldon) *", better=False,
       kinds=PROCESS, shown="cli report scaleup"),
    _k("water_kg_per_kg", "kg/kg", "water per kg product *", "单位产品用水 *", better=False,
       kinds=PROCESS, shown="cli report water"),
]

_ALARM = [
    _k("alarm_activations", "", "alarms raised (ISA-18.2)", "报警总数(ISA-18.2)", better=False,
       fmt="d", shown="cli", requires="alarms"),
    *[_k(f"alarm_activations_{p}", "", f"alarms raised, {p} priority",
         f"{zh}优先级报警数", better=False, fmt="d", requires="alarms")
      for p, zh in zip(PRIORITIES, ("低", "中", "高", "紧急"), strict=True)],
    _k("alarm_max_per_10min", "", "most alarms in 10 min", "10分钟内最多报警数", better=False,
       fmt="d", requires="alarms"),
    _k("alarm_flood_count", "", "alarm floods", "报警泛滥次数", better=False, fmt="d",
       requires="alarms"),
    _k("alarm_flood_duration_s", "s", "time in alarm floods", "报警泛滥时长", better=False,
       fmt=".0f", requires="alarms"),
    _k("alarms_standing_at_end", "", "standing alarms at the end", "结束时常驻报警数",
       better=False, fmt="d", shown="cli", requires="alarms"),
    _k("alarm_rate_per_h", "1/h", "alarm rate", "报警率", better=False, fmt=".2f",
       requires="alarms"),
]


def _s(key: str, unit: str, en: str, zh: str, iso: str = NOT_ISO, better: bool | None = None,
       fmt: str = ".2f", shown: str = "report", short: str = "") -> KPI:
    return _k(key, unit, en, zh, iso, better, fmt, BOTH, shown, short, level="station")


_TIME_ELEMENTS = [
    ("POT_h", "planned operation time", "计划运行时间", "POT (planned operation time)"),
    ("PDOT_h", "planned downtime", "计划停机时间", "PDOT (planned downtime)"),
    ("PBT_h", "planned busy time", "计划忙碌时间", "PBT (planned busy time)"),
    ("APT_h", "actual production time", "实际生产时间", "APT (actual production time)"),
    ("AUST_h", "actual unit setup time", "实际换型时间", "AUST (actual unit setup time)"),
    ("ADET_h", "actual unit delay time", "实际延误时间", "ADET (actual unit delay time)"),
    ("ADOT_h", "actual unit down time", "实际故障停机时间", "ADOT (actual unit down time)"),
    ("AUBT_h", "actual unit busy time", "实际忙碌时间", "AUBT (actual unit busy time)"),
]

def _cost(key: str, en: str, zh: str, shown: str = "report", kinds: frozenset[str] = BOTH,
          unit: str = "¤", fmt: str = ".2f", better: bool | None = False) -> KPI:
    return _k(key, unit, en, zh, better=better, fmt=fmt, kinds=kinds, shown=shown,
              requires="costs")


_COST = [  # in the line's [costs] currency (¤): see twin.observation.costs
    _cost("cost_electricity", "electricity cost (time of use)", "电费(分时电价)"),
    _cost("cost_natural_gas", "natural gas cost", "天然气费用"),
    _cost("cost_materials", "raw material cost", "原材料费用"),
    _cost("cost_water", "process water cost", "工艺水费用"),
    _cost("cost_labour", "labour cost (paid shift hours)", "人工费用(班次工时)"),
    _cost("cost_waste", "waste and wastewater treatment cost", "固废与废水处理费用"),
    _cost("cost_carbon", "carbon cost (scope 1 + 2)", "碳排放费用(范围一+二)"),
    _cost("cost_maintenance", "maintenance cost (share of capital)", "维护费用(按资本比例)"),
    _cost("cost_depreciation", "depreciation (straight line)", "折旧(直线法)"),
    _cost("cost_total", "total cost", "总成本", shown="cli report study"),
    _cost("cost_per_good_unit", "cost per good unit *", "单位合格品成本 *",
          shown="cli report study tile compare"),
    _cost("cost_per_kg", "cost per kg product *", "单位产品成本 *", kinds=PROCESS,
          shown="cli report study scaleup", fmt=".4f"),
    _cost("capital_installed", "installed capital", "设备投资(含安装)", fmt=".0f"),
    _cost("revenue_per_year", "revenue per year (as in the window)", "年收入(按观测窗口)",
          fmt=".0f", better=True),
    _cost("npv", "net present value", "净现值", fmt=".0f", better=True, shown="report study"),
    _cost("irr", "internal rate of return", "内部收益率", unit="", fmt=".4f", better=True,
          shown="report study"),
    _cost("payback_years", "payback time", "投资回收期", unit="years", fmt=".2f",
          shown="report study"),
]


_STATION = [
    *[_s(key, "h", en, zh, iso, shown="", fmt=".2f") for key, en, zh, iso in _TIME_ELEMENTS],
    _s("idle_h", "h", "idle (starved) time", "空闲(饥饿)时间", shown=""),
    _s("utilisation", "", "availability APT/PBT", "可用率 APT/PBT", "Availability = APT/PBT",
       True, shown="cli report", short="util"),
    _s("blocked_fraction", "", "blocked", "阻塞", better=False, shown="cli report"),
    _s("starved_fraction", "", "starved", "饥饿", better=False, shown="cli report"),
    _s("down_fraction", "", "down", "故障", better=False, shown="cli report"),
    _s("setup_fraction", "", "setup", "换型", better=False),
    _s("waiting_fraction", "", "waiting for operator", "等待操作员", better=False, shown=""),
    _s("active_fraction", "", "active (producing, setup or down)", "活动(生产、换型或故障)",
       shown=""),
    _s("availability", "", "availability", "可用率", "Availability = APT/PBT", True,
       shown="cli", short="avail"),
    _s("allocation_efficiency", "", "allocation efficiency", "分配效率",
       "Allocation efficiency = AUBT/PBT", True, shown=""),
    _s("utilisation_efficiency", "", "utilisation efficiency", "利用效率",
       "Utilization efficiency = APT/AUBT", True, shown=""),
    _s("effectiveness", "", "effectiveness", "性能效率", "Effectiveness = PRI x PQ / APT", True,
       shown="cli report", short="effect"),
    _s("quality_ratio", "", "quality ratio", "质量比率", "Quality ratio = GQ/PQ", True,
       shown="cli report", short="quality"),
    _s("oee", "", "OEE", "OEE", "OEE index", True, shown="cli report"),
    _s("PQ", "units", "PQ", "PQ", "PQ (produced quantity)", True, "d", "cli report"),
    _s("GQ", "units", "GQ", "GQ", "GQ (good quantity)", True, "d"),
    _s("SQ", "units", "SQ", "SQ", "SQ (scrap quantity)", False, "d", "cli report"),
    _s("RQ", "units", "RQ", "RQ", "RQ (rework quantity)", False, "d", "cli report"),
    _s("throughput_rate_per_h", "units/h", "throughput rate PQ/AUBT", "产出速率 PQ/AUBT",
       "Throughput rate = PQ/AUBT", True, shown=""),
    _s("setup_rate", "", "setup rate", "换型率", "Set-up rate = AUST/AUPT", False, shown=""),
    _s("scrap_ratio", "", "scrap ratio", "报废率", "Scrap ratio = SQ/PQ", False, shown=""),
    _s("rework_ratio", "", "rework ratio", "返工率", "Rework ratio = RQ/PQ", False, shown=""),
    _s("failures", "", "failures", "故障次数", "FE (failure events)", False, "d", shown=""),
    _s("MTBF_h", "h", "MTBF [h]", "MTBF [h]", "MTBF (mean operating time between failures)",
       True, ".1f", "cli report", short="MTBF h"),
    _s("MTTR_h", "h", "MTTR [h]", "MTTR [h]", "MTTR (mean time to restoration)", False,
       ".2f", "cli report", short="MTTR h"),
    _s("bottleneck_sole_fraction", "", "sole bottleneck", "单独瓶颈", shown=""),
    _s("bottleneck_shifting_fraction", "", "shifting bottleneck", "交替瓶颈", shown=""),
]

CATALOGUE: dict[tuple[str, str], KPI] = {
    (k.level, k.key): k for k in (*_LINE, *_PROCESS, *_ALARM, *_COST, *_STATION)}
"""Every KPI, keyed by (level, key), in display order."""

STATION_IDENTITY = ("station", "type", "servers")
"""Columns of the ``stations`` table that name a station rather than measure it."""


class UnknownKPI(KeyError):
    """A KPI key that the catalogue does not declare; the message suggests close keys."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown KPI"


def kpis(level: str = "line", place: str | None = None, kind: str | None = None,
         alarms: bool = True, costs: bool = True) -> list[KPI]:
    """KPIs of ``level`` in display order, optionally only those shown at ``place`` and
    applying to a line of ``kind`` (with or without alarms)."""
    return [k for k in CATALOGUE.values() if k.level == level
            and (place is None or place in k.shown)
            and (kind is None or k.applies_to(kind, alarms, costs))]


def kpi(key: str, level: str = "line") -> KPI:
    """The catalogue entry of ``key``.

    Raises
    ------
    UnknownKPI
        If no KPI of that level has this key (the message names the closest keys).
    """
    found = CATALOGUE.get((level, key))
    if found is None:
        raise UnknownKPI(unknown_kpi_message(key, level))
    return found


def unknown_kpi_message(key: str, level: str = "line") -> str:
    """``no line KPI 'troughput_per_h'; did you mean 'throughput_per_h'?``"""
    keys = [k.key for k in kpis(level)]
    close = difflib.get_close_matches(key, keys, n=3, cutoff=0.6)
    hint = (f"; did you mean {' or '.join(repr(c) for c in close)}?" if close
            else f"; known: {', '.join(keys)}")
    return f"no {level} KPI {key!r}{hint}"


def label(key: str, lang: str = "en", level: str = "line") -> str:
    """The label of a KPI (its key when the catalogue does not declare it)."""
    found = CATALOGUE.get((level, key))
    return found.label(lang) if found else key


def higher_is_better(key: str) -> bool | None:
    """The direction of a line KPI (``None`` when it has none)."""
    return kpi(key).higher_is_better


def line_kind(has_species: bool) -> str:
    """``process`` for a line that declares species, else ``discrete``."""
    return "process" if has_species else "discrete"


def derive(values: dict[str, Any], tables: Mapping[str, Any], kind: str,
           alarms: bool, costs: bool = False) -> dict[str, Any]:
    """Add the derived line KPIs (those with a ``compute``) that apply to the line; returns
    ``values`` (updated in place, in catalogue order)."""
    for k in kpis("line", kind=kind, alarms=alarms, costs=costs):
        if k.compute is not None:
            values[k.key] = k.compute(values, tables)
    return values


def as_rows(entries: Iterable[KPI]) -> list[dict[str, Any]]:
    """JSON-ready rows of catalogue entries (for the dashboard and documentation)."""
    return [{"key": k.key, "level": k.level, "unit": k.unit, "en": k.en, "zh": k.zh,
             "iso": k.iso, "higher_is_better": k.higher_is_better, "fmt": k.fmt,
             "decimals": k.decimals, "kinds": sorted(k.kinds), "shown": sorted(k.shown),
             "requires": k.requires} for k in entries]
