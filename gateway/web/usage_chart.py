"""The usage chart: page views (bars) and visits (a line with points) per day, as an accessible SVG.

Drawn on the server (no JavaScript): `role="img"` with a <title> and <desc> that say what it shows and its
totals, axis labels and a legend as real text, colours with at least 3:1 contrast on white. The page puts the
same figures in a table beneath it, which is what a screen reader should read for the detail.
"""
from datetime import date, timedelta

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 40, 44
BAR_COLOUR, LINE_COLOUR, GRID_COLOUR, TEXT_COLOUR = "#0b4f5c", "#b5400c", "#b1b4b6", "#0b0c0c"


def daily_series(series: list[dict], first: date, days: int) -> list[dict]:
    """The API's series (only days with visits) as one row per day, days without any as zeros."""
    by_day = {item["period"][:10]: item for item in series}
    rows = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        item = by_day.get(day.isoformat(), {})
        rows.append({"day": day, "label": f"{day.day} {day.strftime('%b')}", "long": f"{day.day} {day.strftime('%B %Y')}",
                     "page_views": int(item.get("page_views", 0)), "visits": int(item.get("visits", 0)),
                     "users": int(item.get("users", 0))})
    return rows


def nice_top(value: int) -> int:
    """A round number at or above the largest figure, for the y axis."""
    top = max(value, 4)
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000):
        if top <= step * 4:
            return step * 4
    return top


def chart(rows: list[dict], title: str) -> Markup:
    top = nice_top(max([row["page_views"] for row in rows] + [row["visits"] for row in rows] + [0]))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(rows), 1)

    def y(value):
        return TOP + plot_h - plot_h * value / top

    total_views, total_visits = sum(r["page_views"] for r in rows), sum(r["visits"] for r in rows)
    busiest = max(rows, key=lambda r: r["page_views"], default=None)
    description = (f"{len(rows)} days from {rows[0]['long']} to {rows[-1]['long']}: {total_views} page views "
                   f"and {total_visits} visits in all" if rows else "No days")
    if busiest and busiest["page_views"]:
        description += f"; the busiest day was {busiest['long']} with {busiest['page_views']} page views"
    description += ". The table below the chart gives every day's figures."
    parts = [f'<svg class="concord-chart" width="100%" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-labelledby="usage-chart-title usage-chart-desc" xmlns="http://www.w3.org/2000/svg" '
             f'font-family="system-ui, sans-serif" font-size="12">',
             f'<title id="usage-chart-title">{escape(title)}</title>',
             f'<desc id="usage-chart-desc">{escape(description)}</desc>',
             # the legend, as text
             f'<rect x="{LEFT}" y="10" width="14" height="14" fill="{BAR_COLOUR}"/>',
             f'<text x="{LEFT + 20}" y="22" fill="{TEXT_COLOUR}">Page views (bars)</text>',
             f'<line x1="{LEFT + 170}" y1="17" x2="{LEFT + 196}" y2="17" stroke="{LINE_COLOUR}" stroke-width="3"/>',
             f'<circle cx="{LEFT + 183}" cy="17" r="4" fill="{LINE_COLOUR}"/>',
             f'<text x="{LEFT + 202}" y="22" fill="{TEXT_COLOUR}">Visits (line)</text>']
    for tick in range(5):                                     # y axis: 0, ¼, ½, ¾, top
        value = top * tick // 4
        parts.append(f'<line x1="{LEFT}" y1="{y(value):.1f}" x2="{WIDTH - RIGHT}" y2="{y(value):.1f}" '
                     f'stroke="{GRID_COLOUR}" stroke-width="1"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end" fill="{TEXT_COLOUR}">{value}</text>')
    label_every = max(1, round(len(rows) / 6))
    for index, row in enumerate(rows):
        x = LEFT + index * step
        height = plot_h * row["page_views"] / top
        if row["page_views"]:
            parts.append(f'<rect x="{x + step * 0.15:.1f}" y="{y(row["page_views"]):.1f}" width="{step * 0.7:.1f}" '
                         f'height="{height:.1f}" fill="{BAR_COLOUR}"/>')
        if index % label_every == 0 or index == len(rows) - 1:
            parts.append(f'<text x="{x + step / 2:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
                         f'fill="{TEXT_COLOUR}">{escape(row["label"])}</text>')
    points = " ".join(f"{LEFT + i * step + step / 2:.1f},{y(row['visits']):.1f}" for i, row in enumerate(rows))
    if rows:
        parts.append(f'<polyline points="{points}" fill="none" stroke="{LINE_COLOUR}" stroke-width="2.5"/>')
        parts += [f'<circle cx="{LEFT + i * step + step / 2:.1f}" cy="{y(row["visits"]):.1f}" r="3" fill="{LINE_COLOUR}"/>'
                  for i, row in enumerate(rows) if row["visits"]]
    parts.append(f'<text x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 8}" text-anchor="middle" fill="{TEXT_COLOUR}">Day</text>')
    parts.append(f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_h}" '
                 f'stroke="{TEXT_COLOUR}" stroke-width="1"/>')
    parts.append("</svg>")
    return Markup("".join(parts))
