"""ECharts options for the dashboard, built on the server as plain JSON-able dicts.

The page embeds each option in a ``<script type="application/json">`` next to its chart container
and ``static/js/charts.js`` hands it to ``echarts.init(...).setOption``: no data is fetched by the
browser, no function is needed in an option, so the options are easy to test here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from battrace.domain.state import BATTERY_STATES
from battrace.services.flows import Flow
from battrace.web.i18n import Translator

PALETTE = ["#0f766e", "#2563eb", "#d97706", "#7c3aed", "#dc2626", "#0891b2", "#65a30d", "#db2777",
           "#475569", "#ca8a04", "#4f46e5"]
STATE_COLOURS = {
    "produced": "#94a3b8", "assembled": "#cbd5e1", "installed": "#60a5fa", "in_service": "#2563eb",
    "swap_stock": "#38bdf8", "waste": "#d97706", "in_transit": "#f59e0b", "remade": "#0f766e",
    "dismantled": "#a16207", "recycled": "#65a30d", "missing": "#dc2626",
}
RULE_COLOURS = {"R01": "#dc2626", "R02": "#ea580c", "R03": "#be123c", "R04": "#d97706", "R04b": "#ca8a04",
                "R05": "#7c3aed", "R09": "#2563eb", "R10": "#0891b2", "R11": "#64748b"}
MAX_FLOWS = 60
#: A receiving province is named like the sending one plus this invisible mark, so the sankey is
#: two columns (senders, receivers) and a province can appear in both without forming a cycle.
RECEIVER_MARK = "\u200b"
TEXT = {"color": "#334155", "fontFamily": "inherit"}
GRID = {"left": 48, "right": 24, "top": 40, "bottom": 48, "containLabel": True}


def _base(t: Translator) -> dict[str, Any]:
    return {"color": PALETTE, "textStyle": TEXT, "aria": {"enabled": True}, "animationDuration": 600,
            "tooltip": {"confine": True}}


def by_state(t: Translator, counts: Mapping[str, int]) -> dict[str, Any]:
    data = [{"name": t.vocab("state", s), "value": counts[s], "itemStyle": {"color": STATE_COLOURS.get(s)}}
            for s in BATTERY_STATES if counts.get(s)]
    data += [{"name": t.vocab("state", s), "value": n} for s, n in counts.items() if s not in BATTERY_STATES and n]
    return {
        **_base(t),
        "tooltip": {"trigger": "item", "formatter": "{b}: {c} ({d}%)", "confine": True},
        "legend": {"type": "scroll", "orient": "vertical", "right": 0, "top": "middle"},
        "series": [{
            "type": "pie", "name": t("chart.by_state"), "radius": ["45%", "72%"], "center": ["38%", "50%"],
            "avoidLabelOverlap": True, "itemStyle": {"borderColor": "#fff", "borderWidth": 2},
            "label": {"show": False}, "emphasis": {"label": {"show": True, "fontWeight": "bold"}},
            "data": data,
        }],
    }


def month_range(first: str, last: str) -> list[str]:
    """Every ``YYYY-MM`` from ``first`` to ``last`` (so that a month without retirements shows as 0)."""
    year, month = int(first[:4]), int(first[5:7])
    out = []
    while f"{year:04d}-{month:02d}" <= last:
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def retirements(t: Translator, per_month: Mapping[str, int]) -> dict[str, Any]:
    known = sorted(m for m in per_month if len(m) == 7 and m[4] == "-")
    months = month_range(known[0], known[-1]) if known else []
    option: dict[str, Any] = {
        **_base(t),
        "tooltip": {"trigger": "axis", "confine": True},
        "grid": GRID,
        "xAxis": {"type": "category", "data": months, "axisTick": {"alignWithLabel": True}},
        "yAxis": {"type": "value", "minInterval": 1},
        "series": [{"type": "bar", "name": t("chart.retirements_series"), "data": [per_month.get(m, 0) for m in months],
                    "itemStyle": {"color": "#d97706", "borderRadius": [3, 3, 0, 0]}, "barMaxWidth": 28}],
    }
    if len(months) > 24:
        option["dataZoom"] = [{"type": "slider", "startValue": months[-24], "endValue": months[-1], "height": 18,
                               "bottom": 8}, {"type": "inside"}]
        option["grid"] = {**GRID, "bottom": 56}
    return option


def flows(t: Translator, items: list[Flow]) -> dict[str, Any]:
    """A two-column sankey: sending provinces on the left, receiving provinces on the right."""
    top = sorted(items, key=lambda f: -f.batteries)[:MAX_FLOWS]
    sources = sorted({f.source for f in top})
    targets = sorted({f.target for f in top})
    provinces = sorted(set(sources) | set(targets))
    colour = {p: PALETTE[i % len(PALETTE)] for i, p in enumerate(provinces)}  # a province keeps its colour
    nodes = [{"name": t.vocab("province", p), "depth": 0, "itemStyle": {"color": colour[p]},
              "label": {"position": "left"}} for p in sources]
    nodes += [{"name": t.vocab("province", p) + RECEIVER_MARK, "depth": 1, "itemStyle": {"color": colour[p]}}
              for p in targets]
    links = [{"source": t.vocab("province", f.source), "target": t.vocab("province", f.target) + RECEIVER_MARK,
              "value": f.batteries} for f in top]
    return {
        **_base(t),
        "tooltip": {"trigger": "item", "triggerOn": "mousemove", "confine": True},
        "series": [{
            "type": "sankey", "name": t("chart.flows"), "data": nodes, "links": links,
            "left": 120, "right": 120, "top": 12, "bottom": 12, "nodeWidth": 14, "nodeGap": 10,
            "layoutIterations": 32, "draggable": False, "emphasis": {"focus": "adjacency"},
            "lineStyle": {"color": "source", "opacity": 0.3, "curveness": 0.5},
            "label": {"fontSize": 11, "color": "#1e293b"},
            # small provinces' labels would sit on top of each other: hide a label that overlaps (the
            # tooltip still names the province)
            "labelLayout": {"hideOverlap": True},
        }],
    }


def findings(t: Translator, matrix: Mapping[str, Any], *, top: int = 15) -> dict[str, Any]:
    """A stacked bar per province (the provinces with the most findings), one series per rule."""
    provinces = list(matrix["provinces"])[:top]
    counts = matrix["counts"]

    def name(p: str) -> str:
        return t("chart.findings_unplaced") if p == "unknown" else t.vocab("province", p)

    series = [
        {"type": "bar", "name": f"{rule} {t.vocab('rule', rule)}", "stack": "findings",
         "itemStyle": {"color": RULE_COLOURS.get(rule)}, "barMaxWidth": 32,
         "emphasis": {"focus": "series"}, "data": [counts[p].get(rule, 0) for p in provinces]}
        for rule in matrix["rules"]
    ]
    return {
        **_base(t),
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}, "confine": True},
        "legend": {"type": "scroll", "top": 0},
        "grid": {**GRID, "top": 48, "bottom": 16},
        "xAxis": {"type": "category", "data": [name(p) for p in provinces],
                  "axisLabel": {"interval": 0, "rotate": 30 if len(provinces) > 6 else 0}},
        "yAxis": {"type": "value", "minInterval": 1},
        "series": series,
    }


FORECAST_PROVINCES = 8
OTHER_COLOUR = "#94a3b8"
TOTAL_COLOUR = "#0f172a"
REFERENCE_COLOUR = "#dc2626"


def forecast(t: Translator, data: Mapping[str, Any], *, top: int = FORECAST_PROVINCES) -> dict[str, Any]:
    """Expected retirements per year: a stacked bar per province (the ``top`` provinces with the most,
    the rest as one), the total as a line, and a dashed mark at each year with a published figure.

    ``data`` is :func:`battrace.services.forecast.retirement_forecast`'s result. The published figures
    are in kilotonnes of all waste batteries, far above a ledger's vehicle retirements, so they are
    marked at their year (and compared in the table under the chart) rather than drawn on the packs axis.
    """
    years = [str(y) for y in data["years"]]
    series_of: Mapping[str, list[float]] = data["series"]
    ranked = sorted(series_of, key=lambda p: (-sum(series_of[p]), p))
    shown, rest = ranked[:top], ranked[top:]
    if len(rest) == 1:  # one province more reads better than "other provinces"
        shown, rest = ranked, []

    def name(p: str) -> str:
        return t("chart.forecast_unplaced") if p == "unknown" else t.vocab("province", p)

    bar = {"type": "bar", "stack": "forecast", "barMaxWidth": 28, "emphasis": {"focus": "series"}}
    series: list[dict[str, Any]] = [
        {**bar, "name": name(p), "itemStyle": {"color": PALETTE[i % len(PALETTE)]}, "data": list(series_of[p])}
        for i, p in enumerate(shown)
    ]
    if rest:
        other = [round(sum(series_of[p][k] for p in rest), 1) for k in range(len(years))]
        series.append({**bar, "name": t("chart.forecast_other"), "itemStyle": {"color": OTHER_COLOUR}, "data": other})
    national = data["scope"]["national"]
    marks = [{"xAxis": str(c["year"]), "name": str(c["year"]),
              "label": {"formatter": t("chart.forecast_mark", year=c["year"], kt=f"{c['reference_kt']:,.0f}")}}
             for c in data["checks"] if str(c["year"]) in years]
    total: dict[str, Any] = {
        "type": "line", "name": t("chart.forecast_national" if national else "chart.forecast_total"),
        "data": [point["expected"] for point in data["national"]], "z": 5, "symbol": "circle", "symbolSize": 5,
        "itemStyle": {"color": TOTAL_COLOUR}, "lineStyle": {"width": 2},
    }
    if marks:
        total["markLine"] = {
            "silent": True, "symbol": "none", "data": marks,
            "lineStyle": {"color": REFERENCE_COLOUR, "type": "dashed", "width": 1.5},
            "label": {"position": "end", "color": REFERENCE_COLOUR, "fontSize": 11},
        }
    series.append(total)
    return {
        **_base(t),
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}, "confine": True},
        "legend": {"type": "scroll", "top": 0},
        "grid": {**GRID, "top": 64 if marks else 48, "bottom": 16},
        "xAxis": {"type": "category", "data": years, "axisTick": {"alignWithLabel": True}},
        "yAxis": {"type": "value", "name": t("chart.forecast_axis"), "minInterval": 1},
        "series": series,
    }
