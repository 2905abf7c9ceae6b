"""Fonts, labels, colours and PNG output shared by every figure.

Figure labels exist in English and Chinese; Chinese is used only when matplotlib knows a
CJK-capable font, otherwise the figure falls back to English and characters the default font
cannot draw become ``?`` (no missing-glyph boxes, no warnings).
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans CJK TC", "Noto Sans SC",
             "Source Han Sans SC", "Source Han Sans CN", "WenQuanYi Micro Hei",
             "WenQuanYi Zen Hei", "Droid Sans Fallback", "SimHei", "Microsoft YaHei",
             "PingFang SC", "AR PL UMing CN", "AR PL UKai CN")
"""Fonts that carry Chinese glyphs, in order of preference, looked up in matplotlib."""

STATE_COLOURS: dict[str, str] = {
    "producing": "#2f6690", "setup": "#81b1d5", "down": "#c0392b", "waiting": "#8e6bb0",
    "blocked": "#e0a030", "maintenance": "#3a9d5d", "starved": "#d9dde0", "idle": "#d9dde0",
    "off": "#f7f7f7"}
"""Colour of each unit state, the same in every figure (idle and starved are one state: a
unit with nothing to do)."""

DPI = 110
"""Resolution of PNG output [dots per inch]."""

LABELS: dict[str, tuple[str, str]] = {
    "fraction": ("fraction of planned busy time", "占计划忙碌时间比例"),
    "producing": ("producing", "生产"),
    "setup": ("setup", "换型"),
    "down": ("down", "故障"),
    "blocked": ("blocked", "阻塞"),
    "starved": ("starved (idle)", "饥饿(空闲)"),
    "waiting": ("waiting for operator", "等待操作员"),
    "idle": ("idle", "空闲"),
    "maintenance": ("maintenance", "维护"),
    "off": ("off shift", "停班"),
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
    "candidates": ("candidates", "候选方案"),
    "front": ("Pareto front", "帕累托前沿"),
    "confirmed": ("front confirmed (independent replications)", "前沿确认(独立重复)"),
    "time": ("time of the run (day 1 starts Monday 00:00)", "运行时间(第1天自周一00:00起)"),
    "batch_time": ("time since phase start [h]", "自阶段开始的时间 [h]"),
    "warmup": ("warm-up (not in statistics)", "预热期(不计入统计)"),
    "buffer": ("parts in input buffer", "输入缓冲区零件数"),
    "tank": ("tank contents [kg]", "储罐存量 [kg]"),
    "load_kw": ("load [kW]", "负荷 [kW]"),
    "load_m3h": ("load [m3/h]", "负荷 [m3/h]"),
    "capacity": ("capacity", "能力上限"),
    "batch": ("batch", "批次"),
    "temperature_K": ("temperature [degC]", "温度 [degC]"),
    "conversion": ("conversion", "转化率"),
    "mtsr_K": ("MTSR [degC]", "MTSR [degC]"),
}
"""Figure labels: key -> (English, Chinese)."""


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The name of a CJK-capable font known to matplotlib, or None."""
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    for name in CJK_FONTS:
        if name in names:
            return name
    return None


@lru_cache(maxsize=1)
def _default_charmap() -> frozenset[int]:
    """Code points the default matplotlib font can draw."""
    from matplotlib import font_manager, ft2font

    path = font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans"),
                                 fallback_to_default=True)
    return frozenset(ft2font.FT2Font(path).get_charmap())


@dataclass(frozen=True)
class FigureStyle:
    """Language and font of figure labels."""

    lang: str
    font: str | None

    def label(self, key: str) -> str:
        """The figure label ``key`` in this style's language (the key itself if it has
        none, e.g. a profile variable without a declared label)."""
        en, zh = LABELS.get(key, (key, key))
        return zh if self.lang == "zh" else en

    def safe(self, value: Any) -> str:
        """Text a figure can draw: without a CJK font, characters the default font lacks
        become '?' (no missing-glyph boxes, no warnings)."""
        s = str(value)
        if self.font:
            return s
        cmap = _default_charmap()
        return "".join(c if (ord(c) in cmap or c in "\n\t") else "?" for c in s)

    @contextmanager
    def fonts(self) -> Iterator[None]:
        """Draw (and render) inside this block so text uses the style's font."""
        import matplotlib

        rc = {"font.family": [self.font, "DejaVu Sans"]} if self.font else {}
        with matplotlib.rc_context(rc):
            yield


def figure_style(lang: str = "en", font: str | None = None) -> FigureStyle:
    """Chinese figure labels only with a CJK-capable font (``font``, else the first of
    :data:`CJK_FONTS` that matplotlib knows); English otherwise."""
    if lang == "zh":
        font = font or cjk_font()
    return FigureStyle("zh" if lang == "zh" and font else "en", font if lang == "zh" else None)


@lru_cache(maxsize=1)
def _figure_class() -> type:
    """The figure class (made on first use, so importing this module stays light)."""
    from matplotlib.figure import Figure

    class TwinFigure(Figure):
        """A matplotlib figure that shows itself as PNG in notebooks (no pyplot needed)."""

        def _repr_png_(self) -> bytes:
            return png_bytes(self)

    return TwinFigure


def new_figure(size: tuple[float, float]) -> Any:
    """A new figure of ``size`` inches (width, height) with an Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = _figure_class()(figsize=size)
    FigureCanvasAgg(fig)
    return fig


def png_bytes(fig: Any, style: FigureStyle | None = None) -> bytes:
    """The figure as PNG (white background, tight bounding box)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    buf = io.BytesIO()
    with (style or FigureStyle("en", None)).fonts():
        fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", facecolor="white")
    return buf.getvalue()


def png_data_uri(fig: Any, style: FigureStyle | None = None) -> str:
    """The figure as a PNG ``data:`` URI (for self-contained HTML)."""
    return "data:image/png;base64," + base64.b64encode(png_bytes(fig, style)).decode("ascii")


def save_png(fig: Any, path: str | Path, style: FigureStyle | None = None) -> Path:
    """Write the figure to ``path`` as PNG (folders created); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png_bytes(fig, style))
    return path
