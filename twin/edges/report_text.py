"""Labels of the HTML report (:mod:`twin.edges.report`) in English and Chinese.

Only headings, table headers and fixed phrases are translated; numbers, units, station names,
hashes and other identifiers are shown as they are stored.
"""

from __future__ import annotations

LANGS = ("en", "zh")

TEXT: dict[str, tuple[str, str]] = {
    # document and sections
    "report_run": ("Virtual pilot run report", "虚拟中试运行报告"),
    "report_study": ("Virtual pilot study report", "虚拟中试研究报告"),
    "report_scaleup": ("Virtual pilot scale-up study report", "虚拟中试放大研究报告"),
    "generated": ("Report generated", "报告生成时间"),
    "contents": ("Contents", "目录"),
    "sec_provenance": ("Inputs and provenance", "输入与溯源信息"),
    "sec_model": ("Line model", "产线模型"),
    "sec_kpis": ("Key performance indicators", "关键绩效指标"),
    "sec_bottlenecks": ("Bottlenecks", "瓶颈分析"),
    "sec_balances": ("Mass and energy balances", "物料与能量平衡"),
    "sec_emissions": ("Emissions inventory, water and COD", "排放清单、用水与COD"),
    "sec_alarms": ("Alarms", "报警"),
    "sec_scaleup": ("Comparison across scales", "不同规模对比"),
    "sec_safety": ("Thermal safety classes and alarms", "热安全等级与报警"),
    "sec_assumptions": ("Assumptions", "假设条件"),
    "sec_failed": ("Run failed", "运行失败"),
    # provenance
    "line": ("line", "产线"),
    "description": ("description", "描述"),
    "sector": ("sector", "行业"),
    "source": ("source (line file)", "来源(产线文件)"),
    "spec_hash": ("spec hash (SHA-256 of the resolved spec)", "规格哈希(解析后规格的SHA-256)"),
    "run_hash": ("run hash (spec + settings + events + code)", "运行哈希(规格+设置+事件+代码)"),
    "code_hash": ("code hash (library source)", "代码哈希(程序库源码)"),
    "run_id": ("run id", "运行编号"),
    "seed": ("seed", "随机种子"),
    "seeds": ("seeds", "随机种子"),
    "duration": ("observed period (after warm-up)", "观测时长(预热后)"),
    "warmup": ("warm-up (excluded from statistics)", "预热期(不计入统计)"),
    "events": ("timed events", "定时事件"),
    "started": ("started (UTC)", "开始时间(UTC)"),
    "wall_time": ("wall time", "计算耗时"),
    "status": ("status", "状态"),
    "versions": ("package versions", "软件包版本"),
    "package": ("package", "软件包"),
    "version": ("version", "版本"),
    "item": ("item", "项目"),
    "value": ("value", "数值"),
    "none": ("none", "无"),
    "scenario": ("scenario", "场景"),
    "design": ("design", "试验设计"),
    "factors": ("factors", "因子"),
    "overrides": ("overrides", "参数覆盖"),
    "replications": ("replications per configuration", "每个配置的重复次数"),
    "rank_by": ("ranked by", "排序指标"),
    "higher_better": ("higher is better", "越高越好"),
    "lower_better": ("lower is better", "越低越好"),
    "configurations": ("Configurations and replications", "配置与重复运行"),
    "configuration": ("configuration", "配置"),
    "point": ("point", "设计点"),
    "replication": ("replication", "重复"),
    "runs": ("runs", "运行"),
    "runs_failed": ("runs failed", "失败运行数"),
    "unit": ("scaled unit", "放大单元"),
    "rule": ("agitation rule", "搅拌放大准则"),
    "volumes": ("volumes [m3]", "体积 [m3]"),
    "derivation": ("Derivation of the scaled lines", "放大产线参数推导"),
    "path": ("parameter", "参数"),
    "before": ("before", "放大前"),
    "after": ("after", "放大后"),
    "how": ("how", "推导方式"),
    # model
    "model_note": ("Stations and routes from the resolved parameters in run.json; boxes by "
                   "station type, solid arrows for routes, dashed arrows for rework loops and "
                   "routes back upstream.",
                   "根据run.json中解析后的参数绘制的工位与路径;方框按工位类型区分,实线箭头为"
                   "路径,虚线箭头为返工回路及回流路径。"),
    "stations_table": ("Stations", "工位"),
    "station": ("station", "工位"),
    "type": ("type", "类型"),
    "servers": ("servers", "并行数"),
    "buffer": ("buffer", "缓冲区"),
    "routes": ("routes", "去向"),
    # KPIs
    "line_kpis": ("Line KPIs", "产线KPI"),
    "station_kpis": ("Station KPIs", "工位KPI"),
    "kpi": ("KPI", "指标"),
    "iso": ("ISO 22400-2", "ISO 22400-2"),
    "mean_ci": ("mean ± 95% CI half-width", "均值 ± 95%置信区间半宽"),
    "not_iso": ("not ISO 22400", "非ISO 22400"),
    "not_iso_note": ("* not ISO 22400: energy, emission, water and material intensities "
                     "(see the KPI definitions under Assumptions).",
                     "* 非ISO 22400指标:能耗、排放、用水及物料强度(定义见“假设条件”)。"),
    "window_note": ("KPIs are computed over the observation window (after warm-up).",
                    "KPI按观测窗口(预热期之后)计算。"),
    "ci_note": ("Intervals: Student-t 95% confidence interval of the mean over the "
                "independent replications of each configuration (n = replications).",
                "区间:各配置独立重复运行均值的Student-t 95%置信区间(n为重复次数)。"),
    "ranking": ("Ranking of configurations", "配置排序"),
    "rank": ("rank", "名次"),
    "n": ("n", "n"),
    "mean": ("mean", "均值"),
    "half_width": ("95% half-width", "95%半宽"),
    "diff_to_best": ("difference to best (paired, 95% CI)", "与最优之差(配对, 95%置信区间)"),
    "indistinguishable": ("indistinguishable from best", "与最优无显著差异"),
    "yes": ("yes", "是"),
    "no": ("no", "否"),
    "best_config": ("Station KPIs of the best configuration", "最优配置的工位KPI"),
    "kpis_by_config": ("Line KPIs by configuration", "各配置的产线KPI"),
    # bottlenecks
    "bottleneck_note": ("Fractions of planned busy time per station; the bottleneck is the "
                        "station with the largest active fraction (producing, setup or down).",
                        "各工位占计划忙碌时间的比例;瓶颈为活动比例(生产、换型或故障)最大的工位。"),
    "bottleneck": ("bottleneck", "瓶颈"),
    "shifting_note": ("Shifting bottleneck detection (Roser, Nakano & Tanaka 2002): share of the "
                      "observation window in which each station was the bottleneck alone, and "
                      "while the bottleneck moved to or from it.",
                      "移动瓶颈检测(Roser、Nakano、Tanaka,2002):各工位单独成为瓶颈的时间,以及瓶颈"
                      "在其与其他工位之间转移的时间,占观察窗口的比例。"),
    "shifting_bottleneck": ("bottleneck by the active period method", "活动周期法瓶颈"),
    "bottleneck_sole": ("sole bottleneck", "单独瓶颈"),
    "bottleneck_shifting": ("shifting bottleneck", "交替瓶颈"),
    "utilisation": ("utilisation", "利用率"),
    "blocked": ("blocked", "阻塞"),
    "starved": ("starved", "饥饿"),
    "down": ("down", "故障"),
    "setup": ("setup", "换型"),
    "waiting": ("waiting for operator", "等待操作员"),
    # balances
    "material_balance": ("Material balance per species [kg]", "各物种物料平衡 [kg]"),
    "balance_note": ("inputs + transformations = outputs + waste + wastewater + emissions + "
                     "recovered + destroyed + inventory, per species over the whole run "
                     "(including warm-up); imbalance = left - right.",
                     "每个物种在整个运行期(含预热)内:输入 + 转化 = 产出 + 废物 + 废水 + 排放 + "
                     "回收 + 销毁 + 库存;不平衡量 = 左边 - 右边。"),
    "species": ("species", "物种"),
    "closed": ("closed", "闭合"),
    "closure": ("closure", "闭合情况"),
    "all_closed": ("all species close", "所有物种均闭合"),
    "not_closed": ("NOT CLOSED", "未闭合"),
    "max_imbalance": ("largest imbalance", "最大不平衡量"),
    "no_material": ("Discrete line: no species are declared, so there is no material ledger; "
                    "parts are counted in the KPIs.",
                    "离散产线:未声明物种,因此无物料账;零件数量见KPI。"),
    "energy_carrier": ("Utilities: delivered energy to final energy, CO2e and kgce (whole run, "
                       "including warm-up)",
                       "公用工程:输送能量折算为终端能源、CO2e与kgce(整个运行期,含预热)"),
    "energy_state": ("Equipment electricity by station and state [kWh] (observation window)",
                     "各工位各状态设备用电 [kWh](观测窗口)"),
    "energy_totals": ("Energy totals (observation window)", "能源合计(观测窗口)"),
    "total": ("total", "合计"),
    "utility": ("utility", "公用工程"),
    "carrier": ("carrier", "能源介质"),
    # emissions
    "scopes": ("Greenhouse gases by scope (observation window)", "按范围划分的温室气体(观测窗口)"),
    "scope": ("scope", "范围"),
    "emission_source": ("source", "排放源"),
    "scope1_gas": ("natural gas combustion (steam boilers)", "天然气燃烧(蒸汽锅炉)"),
    "scope2_equipment": ("purchased electricity: equipment", "外购电力:设备"),
    "scope2_utilities": ("purchased electricity: utilities (chillers, pumps)",
                         "外购电力:公用工程(冷水机、泵)"),
    "species_emissions": ("Emissions to air by species [kg] (observation window)",
                          "按物种划分的大气排放 [kg](观测窗口)"),
    "voc": ("VOC", "VOC"),
    "no_species_emissions": ("No emissions to air by species were recorded.",
                             "未记录按物种划分的大气排放。"),
    "process_note": ("Emissions to air by species are masses; they are not converted to CO2e "
                     "and not included in the scope totals above.",
                     "按物种的大气排放为质量,未折算为CO2e,也未计入上方的范围合计。"),
    "water": ("Water and wastewater (observation window)", "用水与废水(观测窗口)"),
    "discrete_emissions": ("Discrete line: scope 2 electricity only (no fuels, species or water "
                           "declared).",
                           "离散产线:仅有范围二电力排放(未声明燃料、物种或用水)。"),
    # alarms
    "no_alarms": ("No alarms were defined for this run (no alarms table in the run folder).",
                  "本次运行未定义报警(运行目录中没有报警表)。"),
    "alarms_by_priority": ("Alarms by priority", "按优先级统计的报警"),
    "priority": ("priority", "优先级"),
    "count": ("count", "数量"),
    "floods": ("alarm floods (more than 10 alarms in 10 min, ISA-18.2)",
               "报警泛滥(10分钟内超过10条, ISA-18.2)"),
    "standing": ("standing alarms (active at the end of the run)", "常驻报警(运行结束时仍激活)"),
    "alarm_total": ("alarms raised", "报警总数"),
    # scale-up
    "scaleup_note": ("Means over the replications of each scale; the annual output carries its "
                     "95% half-width.",
                     "为各规模重复运行的均值;年产量附95%置信区间半宽。"),
    "volume": ("volume [m3]", "体积 [m3]"),
    "stoessel": ("Stoessel class", "Stoessel等级"),
    "severity": ("severity (dT_ad)", "严重度(dT_ad)"),
    "alarms": ("alarms", "报警"),
    "safety_note": ("Criticality classes after Stoessel from MTSR, MTT and TD24; severity from "
                    "the adiabatic temperature rise.",
                    "依据MTSR、MTT和TD24按Stoessel划分危险度等级;严重度由绝热温升确定。"),
    "kpis_by_scale": ("KPIs by scale (mean ± 95% CI half-width)",
                      "各规模KPI(均值 ± 95%置信区间半宽)"),
    # assumptions
    "readme": ("Line documentation (README next to the line file)", "产线说明(产线文件旁的README)"),
    "no_readme": ("No README was found next to the line file.", "产线文件旁未找到README。"),
    "readme_by_name": ("(found by the base line's name among the reference lines)",
                       "(按基础产线名称在参考产线中找到)"),
    "kpi_definitions": ("KPI definitions", "KPI定义"),
    "factors_title": ("Emission and conversion factors (resolved parameters)",
                      "排放与折算因子(解析后参数)"),
    "factor": ("factor", "因子"),
    "year": ("year", "年份"),
    "reference": ("source", "出处"),
    "grid_factor": ("grid electricity emission factor", "电网电力排放因子"),
    "kgce_electricity": ("primary energy of electricity", "电力折标准煤"),
    "gas_co2": ("natural gas CO2", "天然气CO2排放因子"),
    "gas_lhv": ("natural gas lower heating value", "天然气低位发热量"),
    "gas_kgce": ("primary energy of natural gas", "天然气折标准煤"),
    "utilities_params": ("Utility parameters", "公用工程参数"),
    # failures and notes
    "failed_note": ("This run FAILED: it produced no KPIs. The traceback excerpt below is from "
                    "run.json.",
                    "本次运行失败,未产生KPI。以下为run.json中的错误堆栈摘录。"),
    "traceback": ("traceback (excerpt)", "错误堆栈(摘录)"),
    "sec_warnings": ("Warnings", "警告"),
    "warnings_note": ("The run completed, but these results need a second look (from "
                      "run.json).",
                      "运行已完成,但以下结果需要复核(来自run.json)。"),
    "warning_code": ("code", "代码"),
    "warning_time": ("time [s]", "时间 [s]"),
    "warning_stations": ("stations", "工位"),
    "warning_message": ("message", "说明"),
    "font_note": ("Figures are labelled in English: no CJK-capable font was found for "
                  "matplotlib on the machine that made this report.",
                  "图中标签为英文:生成本报告的机器上matplotlib未找到支持中文的字体。"),
    "completed": ("completed", "已完成"),
    "failed": ("failed", "失败"),
    "missing": ("missing", "缺失"),
}


def text(key: str, lang: str = "en") -> str:
    """The label ``key`` in ``lang`` (``en`` or ``zh``)."""
    en, zh = TEXT[key]
    return zh if lang == "zh" else en


# KPI labels: key -> (English, Chinese, unit, ISO 22400-2 name or "" when not ISO).
KPIS: dict[str, tuple[str, str, str, str]] = {
    "throughput_per_h": ("throughput (good units per hour)", "产出率(合格品/小时)",
                         "units/h", ""),
    "good_units": ("good units", "合格品数", "units", "GQ (good quantity)"),
    "scrap_units": ("scrapped units", "报废数", "units", "SQ (scrap quantity)"),
    "rework_events": ("rework events", "返工次数", "", "RQ (rework quantity)"),
    "quality_ratio": ("quality ratio", "质量比率", "", "Quality ratio = GQ/PQ"),
    "scrap_ratio": ("scrap ratio", "报废率", "", "Scrap ratio = SQ/PQ"),
    "first_pass_yield": ("first pass yield", "一次通过率", "", "First pass yield"),
    "wip_mean": ("WIP (time-weighted mean)", "在制品(时间加权均值)", "units", ""),
    "lead_time_mean_h": ("lead time, mean", "生产周期均值", "h", ""),
    "lead_time_p50_h": ("lead time, median", "生产周期中位数", "h", ""),
    "lead_time_p95_h": ("lead time, 95th percentile", "生产周期95分位", "h", ""),
    "bottleneck": ("bottleneck station", "瓶颈工位", "", ""),
    "bottleneck_utilisation": ("bottleneck availability", "瓶颈可用率", "",
                               "Availability = APT/PBT"),
    "bottleneck_oee": ("bottleneck OEE", "瓶颈OEE", "", "OEE index"),
    "shifting_bottleneck": ("bottleneck, active period method", "瓶颈(活动周期法)", "", ""),
    "electricity_kwh": ("equipment electricity", "设备用电量", "kWh", ""),
    "co2e_kg": ("CO2e of equipment electricity (scope 2)", "设备用电CO2e(范围二)", "kg", ""),
    "kgce": ("primary energy of equipment electricity", "设备用电折标准煤", "kgce", ""),
    "kwh_per_good_unit": ("electricity per good unit *", "单位合格品电耗 *", "kWh", ""),
    "co2e_kg_per_good_unit": ("CO2e per good unit *", "单位合格品CO2e *", "kg", ""),
    "kgce_per_good_unit": ("primary energy per good unit *", "单位合格品折标准煤 *", "kgce", ""),
    "product_kg": ("product", "产品量", "kg", ""),
    "utility_electricity_kwh": ("utility electricity", "公用工程用电量", "kWh", ""),
    "natural_gas_m3": ("natural gas", "天然气", "m3", ""),
    "co2e_scope1_kg": ("CO2e scope 1 (natural gas)", "CO2e范围一(天然气)", "kg", ""),
    "co2e_scope2_utilities_kg": ("CO2e scope 2 (utility electricity)",
                                 "CO2e范围二(公用工程用电)", "kg", ""),
    "water_kg": ("process and cleaning water", "工艺与清洗用水", "kg", ""),
    "wastewater_kg": ("wastewater", "废水", "kg", ""),
    "waste_kg": ("waste", "固液废物", "kg", ""),
    "cod_kg": ("COD load", "COD负荷", "kg O2", ""),
    "voc_emitted_kg": ("VOC emitted", "VOC排放", "kg", ""),
    "solvent_recovered_kg": ("solvent recovered", "溶剂回收", "kg", ""),
    "material_recovered_kg": ("material recovered", "物料回收", "kg", ""),
    "voc_destroyed_kg": ("VOC destroyed (abatement)", "VOC销毁(治理)", "kg", ""),
    "kwh_electricity_per_kg": ("electricity per kg product *", "单位产品电耗 *", "kWh/kg", ""),
    "co2e_kg_per_kg": ("CO2e per kg product *", "单位产品CO2e *", "kg/kg", ""),
    "e_factor": ("E-factor (Sheldon) *", "E因子(Sheldon) *", "kg/kg", ""),
    "water_kg_per_kg": ("water per kg product *", "单位产品用水 *", "kg/kg", ""),
}


def kpi_label(key: str, lang: str = "en") -> str:
    """The label of a KPI (its key when it has none)."""
    if key not in KPIS:
        return key
    en, zh, _, _ = KPIS[key]
    return zh if lang == "zh" else en


# Station KPI columns: key -> (English, Chinese).
STATION_COLUMNS: dict[str, tuple[str, str]] = {
    "station": ("station", "工位"),
    "type": ("type", "类型"),
    "servers": ("servers", "并行数"),
    "utilisation": ("availability APT/PBT", "可用率 APT/PBT"),
    "blocked_fraction": ("blocked", "阻塞"),
    "starved_fraction": ("starved", "饥饿"),
    "down_fraction": ("down", "故障"),
    "setup_fraction": ("setup", "换型"),
    "effectiveness": ("effectiveness", "性能效率"),
    "quality_ratio": ("quality ratio", "质量比率"),
    "oee": ("OEE", "OEE"),
    "PQ": ("PQ", "PQ"),
    "GQ": ("GQ", "GQ"),
    "SQ": ("SQ", "SQ"),
    "RQ": ("RQ", "RQ"),
    "MTBF_h": ("MTBF [h]", "MTBF [h]"),
    "MTTR_h": ("MTTR [h]", "MTTR [h]"),
}


def station_label(key: str, lang: str = "en") -> str:
    """The header of a station KPI column."""
    en, zh = STATION_COLUMNS.get(key, (key, key))
    return zh if lang == "zh" else en


# Columns of the scale-up comparison: key -> (English, Chinese).
SCALEUP_COLUMNS: dict[str, tuple[str, str]] = {
    "volume_m3": ("volume [m3]", "体积 [m3]"),
    "scale_factor": ("length scale L", "线性放大比L"),
    "runs": ("runs", "运行数"),
    "area_per_volume_1_m": ("A/V [1/m]", "比表面积A/V [1/m]"),
    "react_time_h": ("reaction time [h]", "反应时间 [h]"),
    "conversion": ("conversion", "转化率"),
    "selectivity": ("selectivity", "选择性"),
    "peak_temperature_C": ("peak T [degC]", "峰值温度 [degC]"),
    "max_mtsr_C": ("MTSR [degC]", "MTSR [degC]"),
    "heat_generation_kW": ("heat generation at Tp [kW]", "Tp下放热 [kW]"),
    "cooling_capacity_kW": ("jacket capacity [kW]", "夹套移热能力 [kW]"),
    "cooling_limited": ("cooling-limited", "移热受限"),
    "agitation_power_kW": ("agitation power [kW]", "搅拌功率 [kW]"),
    "kwh_electricity_per_kg": ("kWh/kg *", "kWh/kg *"),
    "co2e_kg_per_kg": ("kg CO2e/kg *", "kg CO2e/kg *"),
    "annual_output_t": ("annual output [t]", "年产量 [t]"),
    "annual_output_half_width_t": ("± 95% [t]", "± 95% [t]"),
    "bottleneck": ("bottleneck", "瓶颈"),
    "time_bottleneck": ("time bottleneck", "时间瓶颈"),
    "mtt_C": ("MTT [degC]", "MTT [degC]"),
    "dt_ad_K": ("dT_ad [K]", "dT_ad [K]"),
    "worst_cooling_failure_C": ("worst cooling failure [degC]", "最不利冷却失效温度 [degC]"),
    "worst_failure_at_h": ("failure at [h]", "失效时刻 [h]"),
    "stoessel_class": ("Stoessel class", "Stoessel等级"),
    "alarms": ("alarms", "报警"),
}


def scaleup_label(key: str, lang: str = "en") -> str:
    """The header of a scale-up comparison column."""
    en, zh = SCALEUP_COLUMNS.get(key, (key, key))
    return zh if lang == "zh" else en


# Figure labels (used in Chinese only when a CJK-capable font is available).
FIGURE: dict[str, tuple[str, str]] = {
    "fraction": ("fraction of planned busy time", "占计划忙碌时间比例"),
    "producing": ("producing", "生产"),
    "setup": ("setup", "换型"),
    "down": ("down", "故障"),
    "blocked": ("blocked", "阻塞"),
    "starved": ("starved (idle)", "饥饿(空闲)"),
    "waiting": ("waiting for operator", "等待操作员"),
    "bottleneck": ("bottleneck", "瓶颈"),
    "volume": ("volume [m3]", "体积 [m3]"),
    "temperature": ("temperature [degC]", "温度 [degC]"),
    "peak": ("peak", "峰值"),
    "heat": ("heat flow [kW]", "热流 [kW]"),
    "generation": ("generation at Tp", "Tp下放热"),
    "jacket": ("jacket capacity", "夹套移热能力"),
    "react_time": ("reaction time [h]", "反应时间 [h]"),
    "annual": ("annual output [t]", "年产量 [t]"),
    "rework": ("rework / back", "返工/回流"),
    "route": ("route", "路径"),
    "mean_ci": ("mean, 95% interval", "均值, 95%区间"),
}


def figure_label(key: str, lang: str = "en") -> str:
    """A figure label (pass ``lang='en'`` when no CJK font is available)."""
    en, zh = FIGURE[key]
    return zh if lang == "zh" else en
