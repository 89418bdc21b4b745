"""The usage chart (gateway/web/usage_chart.py): every day present, a round axis, an accessible SVG that says
what the table says, and nothing unescaped."""
import re
from datetime import date

from gateway.web.usage_chart import chart, daily_series, nice_top


def test_days_without_visits_are_zeros():
    rows = daily_series([{"period": "2026-12-03", "page_views": 7, "visits": 2, "users": 1}], date(2026, 12, 1), 5)
    assert [(r["day"].isoformat(), r["page_views"], r["visits"]) for r in rows] == [
        ("2026-12-01", 0, 0), ("2026-12-02", 0, 0), ("2026-12-03", 7, 2), ("2026-12-04", 0, 0), ("2026-12-05", 0, 0)]
    assert rows[2]["long"] == "3 December 2026" and rows[2]["label"] == "3 Dec"


def test_the_axis_top_is_round_and_at_least_the_largest_figure():
    assert nice_top(0) == 4 and nice_top(3) == 4 and nice_top(7) == 8 and nice_top(55) == 80
    assert all(nice_top(n) >= n for n in range(0, 5000, 37))


def test_the_svg_is_an_image_with_a_title_a_description_and_text_labels():
    rows = daily_series([{"period": "2026-12-02", "page_views": 12, "visits": 3},
                         {"period": "2026-12-03", "page_views": 5, "visits": 1}], date(2026, 12, 1), 3)
    svg = str(chart(rows, "Page views & visits <per day>"))
    assert svg.startswith('<svg class="concord-chart" width="100%" viewBox=') and 'role="img"' in svg
    assert 'aria-labelledby="usage-chart-title usage-chart-desc"' in svg
    assert "<title id=\"usage-chart-title\">Page views &amp; visits &lt;per day&gt;</title>" in svg
    desc = re.search(r"<desc[^>]*>(.*?)</desc>", svg).group(1)
    assert "17 page views and 4 visits in all" in desc and "busiest day was 2 December 2026 with 12" in desc
    assert len(re.findall(r"<rect x=", svg)) == 1 + 2          # the legend's swatch and two days' bars
    assert ">1 Dec<" in svg and ">Day<" in svg and "Page views (bars)" in svg and "Visits (line)" in svg


def test_no_visits_at_all_still_draws():
    svg = str(chart(daily_series([], date(2026, 12, 1), 30), "Nothing yet"))
    assert "0 page views and 0 visits in all" in svg and "busiest" not in svg
