"""How the blueprint report shows durations (BP-26): a readable length ("3 h 05 min"), hours
for the CSV, and the bar chart of median and 90th percentile per state, drawn as SVG on the
server like the satisfaction and SLA reports (no script; a title, a description, and the same
figures in the table beside it)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from .selectors import StateRow


def duration_text(seconds: float | None) -> str:
    """A length for people: "—" without one, minutes under an hour, else hours and minutes
    (business hours are not days: a 9-18 "day" is 9 hours, so hours are the one unit)."""
    if seconds is None:
        return "—"
    minutes = round(seconds / 60)
    if minutes < 1 and seconds > 0:
        return _("under 1 min")
    if minutes < 60:
        return _("%(minutes)d min") % {"minutes": minutes}
    return _("%(hours)d h %(minutes)02d min") % {"hours": minutes // 60, "minutes": minutes % 60}


def hours(seconds: float | None) -> str:
    """Hours with two decimals for the CSV ("" without a figure)."""
    return "" if seconds is None else f"{seconds / 3600:.2f}"


WIDTH, LABEL_W, BAR_H, PAIR_GAP, TOP, VALUE_W = 720, 180, 14, 14, 8, 90


@dataclass(frozen=True)
class Bar:
    kind: str  # "median" or "p90"
    y: float
    width: float
    text_x: float
    text: str
    title: str


@dataclass(frozen=True)
class ChartRow:
    name: str
    text_y: float
    bars: list[Bar]


def state_chart(rows: list[StateRow], *, business: bool) -> dict:
    """Two bars per state, median and 90th percentile of the time spent in it, on one scale
    (the longest 90th percentile fills the plot)."""
    plot_w = WIDTH - LABEL_W - VALUE_W
    figures = [row.durations.figures(business) for row in rows]
    longest = max((p90 or 0 for _avg, _median, p90 in figures), default=0) or 1
    chart_rows = []
    pair_h = 2 * BAR_H + PAIR_GAP
    for index, (row, (_avg, median, p90)) in enumerate(zip(rows, figures, strict=True)):
        y = TOP + index * pair_h
        bars = []
        for offset, kind, value, label in (
            (0, "median", median, _("median")),
            (BAR_H, "p90", p90, _("90th percentile")),
        ):
            width = round(plot_w * (value or 0) / longest, 1)
            text = duration_text(value)
            bars.append(
                Bar(
                    kind=kind,
                    y=y + offset,
                    width=width,
                    text_x=round(LABEL_W + width + 4, 1),
                    text=text,
                    title=f"{row.name}: {label} {text}",
                )
            )
        chart_rows.append(ChartRow(name=row.name, text_y=y + BAR_H, bars=bars))
    return {
        "width": WIDTH,
        "height": TOP * 2 + max(1, len(rows)) * pair_h,
        "label_x": LABEL_W - 8,
        "bar_x": LABEL_W,
        "bar_h": BAR_H - 2,
        "rows": chart_rows,
    }
