"""Labels of the HTML report (:mod:`twin.edges.report`) in English and Chinese.

Only headings, table headers and fixed phrases are translated; numbers, units, station names,
hashes and other identifiers are shown as they are stored. KPI labels come from the KPI
catalogue (:mod:`twin.observation.catalogue`).
"""

from __future__ import annotations

from twin.observation import catalogue

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
    "sec_flows": ("Material and energy flows", "物料与能量流"),
    "flows_note": ("Sankey diagrams of the observation window, drawn from the recorded flows, "
                   "phases and equipment states (the dashboard's Sankey view shows the same "
                   "numbers): material in kg (raw materials and the batches' inventory at the "
                   "start on the left, products, wastes, emissions and the inventory at the end "
                   "on the right), energy as delivered carriers in kWh. Band widths are the "
                   "flows; every unit and carrier closes.",
                   "观测窗口内的桑基图,由记录的物料流、阶段和设备状态计算(与看板桑基图数值一致):"
                   "物料以kg计(左侧为原料和窗口开始时批次库存,右侧为产品、废物、排放和窗口结束时库存),"
                   "能量以交付的能源载体kWh计。带宽即流量;每个单元和载体均闭合。"),
    "material_flows": ("Material [kg]", "物料 [kg]"),
    "energy_flows": ("Energy [kWh]", "能量 [kWh]"),
    "sec_emissions": ("Emissions inventory, water and COD", "排放清单、用水与COD"),
    "sec_alarms": ("Alarms", "报警"),
    "sec_scaleup": ("Comparison across scales", "不同规模对比"),
    "sec_safety": ("Thermal safety classes and alarms", "热安全等级与报警"),
    "sec_assumptions": ("Assumptions", "假设条件"),
    "sec_failed": ("Run failed", "运行失败"),
    "sec_warnings": ("Warnings", "警告"),
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
    "energy_carrier_window": ("Utilities: delivered energy to final energy, CO2e and kgce "
                              "(observation window: phases ending after the warm-up)",
                              "公用工程:输送能量折算为终端能源、CO2e与kgce(观测窗口:预热期后结束的阶段)"),
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
                    "the adiabatic temperature rise. Cooling-limited: the Semenov cooling ratio "
                    "(generation over jacket removal at the critical temperature, all reactant "
                    "present) is 1 or more, so the jacket has no stable operating point.",
                    "依据MTSR、MTT和TD24按Stoessel划分危险度等级;严重度由绝热温升确定。移热受限:"
                    "Semenov移热比(反应物全部存在时,临界温度下放热与夹套移热之比)不小于1,"
                    "夹套无稳定操作点。"),
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
    # time series and batches
    "sec_timeline": ("The run over time", "运行过程"),
    "timeline_note": ("Time in hours since the run started; the hatched band is the warm-up, "
                      "excluded from every statistic. The observation window follows it.",
                      "时间为自运行开始的小时数;斜线区域为预热期,不计入任何统计,其后为观测窗口。"),
    "fig_gantt": ("States of every unit", "各设备单元状态"),
    "fig_levels": ("Buffer and tank levels", "缓冲区与储罐液位"),
    "fig_batch_profiles": ("Batch temperature and conversion", "批次温度与转化率"),
    "fig_utility_load": ("Utility load against capacity", "公用工程负荷与能力上限"),
    "sec_batches": ("Batch record", "批次记录"),
    "batch_note": ("One row per batch whose reaction ended in the observation window: "
                   "reaction results from the phases table; for batches that left the line, "
                   "the span from the first phase start to the last phase end and the product "
                   "from the output flows (a dash while a batch is still in the line). Means "
                   "over the batches that have the value. Peak T is the temperature the batch "
                   "reached as it ran (a recipe's temperature limit caps it); MTSR is the "
                   "temperature a cooling failure at the worst moment would reach (not capped).",
                   "每行为反应在观测窗口内结束的一个批次:反应结果取自阶段表;已出线批次的时长为其"
                   "首个阶段开始至最后阶段结束,产品量取自产出物流(仍在线的批次以短横表示)。均值"
                   "按有该数值的批次计算。峰值温度为批次实际运行达到的温度(受配方温度上限限制);"
                   "MTSR为最不利时刻冷却失效时将达到的温度(不受限制)。"),
    "no_batches": ("No reaction ended in the observation window.", "观测窗口内没有反应结束。"),
    "safety_class": ("Thermal safety class per batch", "各批次热安全等级"),
    "batch_safety_note": ("Criticality class after Stoessel from the batch's MTSR, the maximum "
                          "technical temperature MTT (unless given: the lowest boiling point of "
                          "the species charged to the batch before its reaction) and TD24 "
                          "(given with the report).",
                          "依据批次MTSR、最高技术温度MTT(除非另行给定,取该批次反应前所加物料中的最低"
                          "沸点)和TD24(生成报告时给定)按Stoessel划分危险度等级。"),
    "no_td24": ("No TD24 was given (twin report --td24 \"180 degC\"), so the class is not "
                "determined; MTSR against MTT is shown.",
                "未给定TD24(twin report --td24 \"180 degC\"),故未判定等级;仅列出MTSR与MTT的比较。"),
    "mtsr_below_mtt": ("MTSR below MTT", "MTSR低于MTT"),
    "mtsr_reaches_mtt": ("MTSR reaches MTT", "MTSR达到MTT"),
    "report_id": ("report id", "报告编号"),
    "window": ("observation window", "观测窗口"),
    "window_text": ("{t0} to {t1} since the run start (warm-up {w} excluded); every figure and "
                    "table covers this window unless it says otherwise",
                    "自运行开始{t0}至{t1}(不含预热期{w});除另有说明外,所有图表均按此窗口统计"),
    # failures and notes
    "warnings_note": ("The numbers of this run need a second look before they are signed:",
                      "本次运行的数值在签署前需要复核:"),
    "failed_note": ("This run FAILED: it produced no KPIs. The traceback excerpt below is from "
                    "run.json.",
                    "本次运行失败,未产生KPI。以下为run.json中的错误堆栈摘录。"),
    "traceback": ("traceback (excerpt)", "错误堆栈(摘录)"),
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


def kpi_label(key: str, lang: str = "en") -> str:
    """The label of a line KPI, from the KPI catalogue (its key when it has none)."""
    return catalogue.label(key, lang)


# Column headers of the report's tables (balances, utilities, batches, alarms) and state
# names: key -> (English, Chinese).
COLUMNS: dict[str, tuple[str, str]] = {
    "input": ("input", "输入"), "transformation": ("transformation", "转化"),
    "output": ("output", "产出"), "waste": ("waste", "废物"),
    "wastewater": ("wastewater", "废水"), "emission": ("emission", "排放"),
    "recovered": ("recovered", "回收"), "destroyed": ("destroyed", "销毁"),
    "inventory": ("inventory", "库存"), "imbalance": ("imbalance", "不平衡量"),
    "delivered_kwh": ("delivered [kWh]", "输送能量 [kWh]"),
    "volume_m3": ("volume [m3]", "体积 [m3]"),
    "electricity_kwh": ("electricity [kWh]", "电力 [kWh]"),
    "natural_gas_m3": ("natural gas [m3]", "天然气 [m3]"),
    "kg_co2e_scope1": ("CO2e scope 1 [kg]", "CO2e范围一 [kg]"),
    "kg_co2e_scope2": ("CO2e scope 2 [kg]", "CO2e范围二 [kg]"),
    "kgce": ("kgce", "千克标准煤"),
    "load_integral_kwh": ("load integral [kWh]", "负荷积分 [kWh]"),
    "load_integral_m3": ("load integral [m3]", "负荷积分 [m3]"),
    "producing": ("producing", "生产"), "idle": ("idle", "空闲"),
    "blocked": ("blocked", "阻塞"), "setup": ("setup", "换型"), "down": ("down", "故障"),
    "off": ("off shift", "停班"), "maintenance": ("maintenance", "维护"),
    "waiting": ("waiting for operator", "等待操作员"), "total": ("total", "合计"),
    "batch": ("batch", "批次"), "station": ("station", "工位"),
    "start_h": ("start [h]", "开始 [h]"), "end_h": ("end [h]", "结束 [h]"),
    "duration_h": ("duration [h]", "时长 [h]"), "react_h": ("reaction [h]", "反应时间 [h]"),
    "conversion": ("conversion", "转化率"), "selectivity": ("selectivity", "选择性"),
    "yield": ("yield", "收率"), "peak_temperature_C": ("peak T [degC]", "峰值温度 [degC]"),
    "max_mtsr_C": ("MTSR [degC]", "MTSR [degC]"), "product_kg": ("product [kg]", "产品 [kg]"),
    "finished": ("left the line", "已出线"), "mtt_C": ("MTT [degC]", "MTT [degC]"),
    "td24_C": ("TD24 [degC]", "TD24 [degC]"), "mtsr_vs_mtt": ("MTSR vs MTT", "MTSR与MTT"),
    "stoessel_class": ("Stoessel class", "Stoessel等级"),
    "alarm": ("alarm", "报警"), "tag": ("tag", "位号"), "priority": ("priority", "优先级"),
    "state": ("state", "状态"), "time": ("time [s]", "时间 [s]"), "value": ("value", "数值"),
    "limit": ("limit", "限值"), "unit": ("unit", "单位"), "spec_hash": ("spec hash", "规格哈希"),
    "emission_kg": ("emission [kg]", "排放 [kg]"), "destroyed_kg": ("destroyed [kg]", "销毁 [kg]"),
}


def column_label(key: str, lang: str = "en") -> str:
    """The header of a table column (or a state name); the key itself when it has none."""
    en, zh = COLUMNS.get(key, (key, key))
    return zh if lang == "zh" else en


def station_label(key: str, lang: str = "en") -> str:
    """The header of a station KPI column (the naming columns from :data:`TEXT`)."""
    if key in catalogue.STATION_IDENTITY:
        return text(key, lang)
    return catalogue.label(key, lang, level="station")


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
    "cooling_ratio": ("Semenov cooling ratio (>= 1: no stable point)",
                      "Semenov移热比(>=1:无稳定操作点)"),
    "stable_rise_K": ("stable rise above Tp [K]", "稳定温升(高于Tp) [K]"),
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
