"""The small-count rule, CSV neutralisation, percentiles and periods."""
from datetime import date

import pytest

from carecycle.validation import Invalid
from supervision.service.common import (
    Count,
    Period,
    csv_text,
    month_period,
    neutralise,
    percentile,
    period_from,
    small,
    small_group,
    whole_period,
)


@pytest.mark.parametrize("n, shown", [(0, "<5"), (1, "<5"), (4, "<5"), (5, 5), (6, 6), (1234, 1234)])
def test_counts_below_five_are_shown_as_less_than_five(n, shown):
    assert small(n) == shown


def test_one_hidden_count_of_a_breakdown_hides_the_next_smallest_too():
    shown = small_group({"minimal": 20, "mild": 9, "moderate": 3, "severe": 12})
    # 3 = total - others otherwise; the 9 hidden with it is no small count: it says "hidden", never "<5"
    assert shown == {"minimal": 20, "mild": "hidden", "moderate": "<5", "severe": 12}
    assert small_group({"a": 2, "b": 1, "c": 30}) == {"a": "<5", "b": "<5", "c": 30}  # two hidden already
    assert small_group({"a": 7, "b": 8}) == {"a": 7, "b": 8}


def test_formula_cells_are_neutralised_in_csv():
    text = csv_text([["=cmd|' /C calc'!A0", "+1", "-1", "@SUM(1)", "\tx", "\rx", "plain", 5]])
    cells = text.strip("\r\n").split(",")
    assert cells[:4] == ["'=cmd|' /C calc'!A0", "'+1", "'-1", "'@SUM(1)"]
    assert text.count("'\t") == 1 and '"\'\rx"' in text and cells[-2:] == ["plain", "5"]
    assert neutralise("-") == "'-" and neutralise("1-2") == "1-2"


@pytest.mark.parametrize("cell", [" =1+1", "  +1", " -1", "\u00a0@SUM(1)", "\u3000=HYPERLINK(\"x\")", "\n=1"])
def test_formulas_after_leading_whitespace_are_neutralised(cell):
    """A spreadsheet skips leading spaces and still reads a formula: the cell must start with ' too."""
    assert neutralise(cell) == "'" + cell
    assert neutralise(" plain") == " plain"


def test_capped_counts_add_up_and_say_at_least():
    assert str(Count(3) + Count(200, True)) == "203+"
    assert Count(0).as_json() == {"count": 0, "at_least": False}


def test_percentile_is_nearest_rank():
    assert percentile([], 0.5) is None
    assert percentile([5, 1, 3], 0.5) == 3
    assert percentile(list(range(1, 11)), 0.9) == 9
    assert percentile(list(range(1, 11)), 0.5) == 5


def test_periods_are_checked():
    today = date(2026, 3, 15)
    assert period_from(None, None, today=today) == Period(date(2026, 3, 1), date(2026, 3, 31))
    assert period_from("2026-01-01", "2026-01-31", today=today).days == 31
    assert period_from("2026-03-09", "2026-03-15", today=today).days == 7          # ISO week Mon-Sun
    assert period_from("2026-01-01", "2026-03-31", today=today).days == 90         # calendar quarter
    for first, last in (("2026-01-01", "2026-01-30"), ("2026-03-10", "2026-03-16"), ("2026-02-01", "2026-04-30")):
        with pytest.raises(Invalid) as free:
            period_from(first, last, today=today)
        assert set(free.value.fields) == {"from"}
    assert whole_period("week", date(2026, 3, 15)) == Period(date(2026, 3, 9), date(2026, 3, 15))
    assert whole_period("quarter", date(2026, 11, 2)) == Period(date(2026, 10, 1), date(2026, 12, 31))
    assert whole_period("month", date(2024, 2, 10)).last == date(2024, 2, 29)
    with pytest.raises(Invalid) as bad:
        period_from("2026-02-30", "yesterday", today=today)
    assert set(bad.value.fields) == {"from", "to"}
    with pytest.raises(Invalid):
        period_from("2026-03-02", "2026-03-01", today=today)
    assert month_period("2026-02").last == date(2026, 2, 28)
    assert month_period(None, today=today).first == date(2026, 2, 1)
    with pytest.raises(Invalid):
        month_period("2026-13")
