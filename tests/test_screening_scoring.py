"""Scoring as INSTRUMENTS.md states it: every band boundary, the crisis rules, the flags, the
C-SSRS skip logic, and every kind of invalid input, per instrument. Pure: no app, no database."""
from __future__ import annotations

import pytest

from screening.service.definitions import BUILTIN_DIR, load_instruments
from screening.service.scoring import InvalidAnswers, plan, score

INSTRUMENTS = load_instruments([BUILTIN_DIR])


def answers_totalling(ident: str, total: int) -> list[int]:
    """Answers (printed values) of `ident` that add up to `total`, filled from the first item on."""
    instrument = INSTRUMENTS[ident]
    values = [min(item.values) for item in instrument.items]
    remaining = total - sum(values)
    for index, item in enumerate(instrument.items):
        step = min(remaining, max(item.values) - values[index])
        values[index] += step
        remaining -= step
    assert remaining == 0, f"{ident} cannot total {total}"
    return values


def test_all_ten_instruments_are_built_in():
    assert set(INSTRUMENTS) == {"phq9", "phq2", "gad7", "gad2", "k10", "k6", "who5", "pcl5", "auditc", "cssrs"}


@pytest.mark.parametrize("ident, items, low, high", [
    ("phq9", 9, 0, 27), ("phq2", 2, 0, 6), ("gad7", 7, 0, 21), ("gad2", 2, 0, 6), ("k10", 10, 10, 50),
    ("k6", 6, 0, 24), ("who5", 5, 0, 25), ("pcl5", 20, 0, 80), ("auditc", 3, 0, 12)])
def test_item_counts_and_score_ranges(ident, items, low, high):
    instrument = INSTRUMENTS[ident]
    assert instrument.item_count == items
    assert (instrument.min_score, instrument.max_score) == (low, high)


BOUNDARIES = {
    "phq9": [(0, "minimal"), (4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"), (14, "moderate"),
             (15, "moderately_severe"), (19, "moderately_severe"), (20, "severe"), (27, "severe")],
    "phq2": [(0, "negative"), (2, "negative"), (3, "positive"), (6, "positive")],
    "gad7": [(0, "minimal"), (4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"), (14, "moderate"),
             (15, "severe"), (21, "severe")],
    "gad2": [(0, "negative"), (2, "negative"), (3, "positive"), (6, "positive")],
    "k10": [(10, "low"), (15, "low"), (16, "moderate"), (21, "moderate"), (22, "high"), (29, "high"),
            (30, "very_high"), (50, "very_high")],
    "k6": [(0, "low"), (4, "low"), (5, "moderate"), (12, "moderate"), (13, "serious"), (24, "serious")],
    "who5": [(0, "poor"), (12, "poor"), (13, "adequate"), (25, "adequate")],
    "pcl5": [(0, "below_threshold"), (32, "below_threshold"), (33, "probable_ptsd"), (80, "probable_ptsd")],
    "auditc": [(0, "negative"), (3, "negative"), (4, "positive"), (12, "positive")],
}


@pytest.mark.parametrize("ident, total, band", [(i, t, b) for i, cases in BOUNDARIES.items() for t, b in cases])
def test_band_boundaries(ident, total, band):
    outcome = score(INSTRUMENTS[ident], answers_totalling(ident, total))
    assert outcome.score == total
    assert outcome.band == band
    assert outcome.max_score == INSTRUMENTS[ident].max_score


# ------------------------------------------------------------------ PHQ-9 crisis rule
def test_phq9_item9_alone_makes_a_low_total_a_crisis():
    outcome = score(INSTRUMENTS["phq9"], [0, 0, 0, 0, 0, 0, 0, 0, 1])
    assert outcome.score == 1 and outcome.band == "minimal"
    assert outcome.crisis is True
    assert outcome.flags == ()  # crisis has its own boolean, not a flag


def test_phq9_high_total_without_item9_is_not_a_crisis():
    outcome = score(INSTRUMENTS["phq9"], [3, 3, 3, 3, 3, 3, 3, 3, 0])
    assert outcome.band == "severe" and outcome.score == 24
    assert outcome.crisis is False


@pytest.mark.parametrize("item9", [1, 2, 3])
def test_phq9_any_positive_item9_is_a_crisis(item9):
    assert score(INSTRUMENTS["phq9"], [0] * 8 + [item9]).crisis is True


@pytest.mark.parametrize("ident", ["phq2", "gad7", "gad2", "k10", "k6", "who5", "pcl5", "auditc"])
def test_no_crisis_rule_for_other_sum_instruments(ident):
    instrument = INSTRUMENTS[ident]
    highest = [max(item.values) for item in instrument.items]
    assert score(instrument, highest).crisis is False


# ------------------------------------------------------------------ WHO-5
def test_who5_percentage_is_raw_times_four():
    outcome = score(INSTRUMENTS["who5"], [5, 4, 3, 2, 3])
    assert outcome.score == 17 and outcome.percentage == 68
    assert outcome.as_dict("x")["percentage"] == 68


def test_who5_flag_when_raw_below_13():
    outcome = score(INSTRUMENTS["who5"], [3, 3, 2, 2, 2])
    assert outcome.score == 12 and outcome.band == "poor"
    assert outcome.flags == ("depression_screen_advised",)


def test_who5_flag_when_any_item_at_most_1_even_with_adequate_total():
    outcome = score(INSTRUMENTS["who5"], [5, 5, 5, 5, 1])
    assert outcome.score == 21 and outcome.band == "adequate"
    assert outcome.flags == ("depression_screen_advised",)


def test_who5_no_flag_when_total_13_and_every_item_above_1():
    outcome = score(INSTRUMENTS["who5"], [3, 3, 3, 2, 2])
    assert outcome.score == 13 and outcome.band == "adequate"
    assert outcome.flags == ()


def test_who5_options_print_5_first():
    assert [option.value for option in INSTRUMENTS["who5"].options_of(1)] == [5, 4, 3, 2, 1, 0]


def test_only_who5_has_percentage():
    assert "percentage" not in score(INSTRUMENTS["phq9"], [0] * 9).as_dict("x")


# ------------------------------------------------------------------ PCL-5 pattern
def pcl(ratings: dict[int, int]) -> list[int]:
    return [ratings.get(n, 0) for n in range(1, 21)]


PATTERN = {1: 2, 6: 2, 8: 2, 9: 2, 15: 2, 16: 2}


def test_pcl5_pattern_flag_with_the_minimum_per_cluster():
    outcome = score(INSTRUMENTS["pcl5"], pcl(PATTERN))
    assert outcome.flags == ("dsm5_pattern",)
    assert outcome.score == 12 and outcome.band == "below_threshold"  # the flag does not change the band


@pytest.mark.parametrize("drop", [1, 6, 8, 15])
def test_pcl5_pattern_needs_every_cluster(drop):
    ratings = dict(PATTERN)
    ratings[drop] = 1  # a rating of 1 does not count
    assert score(INSTRUMENTS["pcl5"], pcl(ratings)).flags == ()


def test_pcl5_high_total_without_pattern_has_no_flag():
    ratings = {n: 4 for n in range(1, 15)}  # clusters B, C, D only
    outcome = score(INSTRUMENTS["pcl5"], pcl(ratings))
    assert outcome.band == "probable_ptsd" and outcome.flags == ()


# ------------------------------------------------------------------ AUDIT-C sex-specific threshold
@pytest.mark.parametrize("answers, sex, band", [
    ([1, 1, 1], "female", "positive"), ([1, 1, 1], "male", "negative"), ([1, 1, 1], None, "negative"),
    ([1, 1, 1], "other", "negative"), ([1, 1, 0], "female", "negative"), ([2, 1, 1], "male", "positive"),
    ([2, 1, 1], None, "positive")])
def test_auditc_threshold_is_3_for_women_and_4_otherwise(answers, sex, band):
    assert score(INSTRUMENTS["auditc"], answers, sex=sex).band == band


def test_auditc_rejects_an_unknown_sex():
    with pytest.raises(InvalidAnswers) as error:
        score(INSTRUMENTS["auditc"], [1, 1, 1], sex="F")
    assert set(error.value.fields) == {"sex"}


def test_sex_is_ignored_by_instruments_that_do_not_ask_it():
    outcome = score(INSTRUMENTS["phq9"], [0] * 9, sex="female")
    assert outcome.sex is None and outcome.band == "minimal"


# ------------------------------------------------------------------ C-SSRS
N = None
CSSRS_CASES = [
    ([False, False, N, N, N, False, N], "none", False),
    ([True, False, N, N, N, False, N], "low", True),
    ([False, True, False, False, False, False, N], "low", True),
    ([True, True, True, False, False, False, N], "moderate", True),
    ([False, False, N, N, N, True, False], "moderate", True),
    ([True, True, False, True, False, False, N], "high", True),
    ([True, True, False, False, True, False, N], "high", True),
    ([False, False, N, N, N, True, True], "high", True),
    ([True, True, True, True, True, True, True], "high", True),
]


@pytest.mark.parametrize("answers, risk, crisis", CSSRS_CASES)
def test_cssrs_risk_levels(answers, risk, crisis):
    outcome = score(INSTRUMENTS["cssrs"], answers)
    assert outcome.band == risk and outcome.crisis is crisis
    body = outcome.as_dict("x")
    assert body["risk"] == risk and body["score"] is None and body["max_score"] is None and body["flags"] == []


@pytest.mark.parametrize("answers, bad", [
    ([False, False, True, N, N, False, N], [2]),          # item 3 answered though item 2 is no
    ([False, False, N, N, N, False, True], [6]),          # item 7 answered though item 6 is no
    ([False, True, N, False, False, False, N], [2]),      # item 3 skipped though item 2 is yes
    ([False, False, N, N, N, True, N], [6]),              # item 7 skipped though item 6 is yes
    ([N, False, N, N, N, False, N], [0]),                 # item 1 is always asked
    ([False, N, N, N, N, False, N], [1]),                 # item 2 is always asked
    ([False, False, N, N, N, N, N], [5]),                 # item 6 is always asked
    ([0, False, N, N, N, False, N], [0]),                 # 0 is not false
    (["no", False, N, N, N, False, N], [0]),
])
def test_cssrs_skip_logic_violations_are_rejected(answers, bad):
    with pytest.raises(InvalidAnswers) as error:
        score(INSTRUMENTS["cssrs"], answers)
    assert set(error.value.fields) == {f"answers[{i}]" for i in bad}


def test_cssrs_needs_seven_answers():
    with pytest.raises(InvalidAnswers) as error:
        score(INSTRUMENTS["cssrs"], [False, False])
    assert "answers[5]" in error.value.fields


def test_cssrs_plan_steps_follow_the_skip_logic():
    cssrs = INSTRUMENTS["cssrs"]
    assert [i.number for i in plan(cssrs, {}).ask] == [1, 2]
    assert [i.number for i in plan(cssrs, {1: False, 2: True}).ask] == [3, 4, 5, 6]
    step = plan(cssrs, {1: False, 2: False})
    assert [i.number for i in step.ask] == [6] and step.skipped == {3, 4, 5}
    assert [i.number for i in plan(cssrs, {1: False, 2: False, 6: True}).ask] == [7]
    done = plan(cssrs, {1: False, 2: False, 6: False})
    assert done.complete and done.skipped == {3, 4, 5, 7}


# ------------------------------------------------------------------ invalid input, every instrument
SUM_INSTRUMENTS = ["phq9", "phq2", "gad7", "gad2", "k10", "k6", "who5", "pcl5", "auditc"]


@pytest.mark.parametrize("ident", SUM_INSTRUMENTS)
def test_missing_item_is_named(ident):
    instrument = INSTRUMENTS[ident]
    answers = answers_totalling(ident, instrument.min_score)[:-1]
    with pytest.raises(InvalidAnswers) as error:
        score(instrument, answers)
    assert set(error.value.fields) == {f"answers[{instrument.item_count - 1}]"}


@pytest.mark.parametrize("ident", SUM_INSTRUMENTS + ["cssrs"])
def test_extra_item_is_named(ident):
    instrument = INSTRUMENTS[ident]
    valid = [False, False, N, N, N, False, N] if ident == "cssrs" else answers_totalling(ident, instrument.min_score)
    with pytest.raises(InvalidAnswers) as error:
        score(instrument, valid + [0])
    assert set(error.value.fields) == {"answers"}
    assert f"{instrument.item_count + 1} answers" in str(error.value.fields["answers"])


def test_a_huge_answer_list_is_refused_before_any_item_is_checked():
    """650,000 answers (the review's attack) get one short error, not one message per extra item."""
    with pytest.raises(InvalidAnswers) as error:
        score(INSTRUMENTS["phq9"], [0] * 650_000)
    assert list(error.value.fields) == ["answers"] and len(str(error.value.fields["answers"])) < 100


@pytest.mark.parametrize("ident", SUM_INSTRUMENTS)
def test_value_above_range_is_named(ident):
    instrument = INSTRUMENTS[ident]
    answers = answers_totalling(ident, instrument.min_score)
    answers[1] = max(instrument.items[1].values) + 1
    with pytest.raises(InvalidAnswers) as error:
        score(instrument, answers)
    assert set(error.value.fields) == {"answers[1]"}
    assert "2" in str(error.value.fields["answers[1]"])  # names the item number


@pytest.mark.parametrize("ident", SUM_INSTRUMENTS)
def test_value_below_range_is_named(ident):
    instrument = INSTRUMENTS[ident]
    answers = answers_totalling(ident, instrument.min_score)
    answers[0] = min(instrument.items[0].values) - 1
    with pytest.raises(InvalidAnswers) as error:
        score(instrument, answers)
    assert set(error.value.fields) == {"answers[0]"}


@pytest.mark.parametrize("ident", SUM_INSTRUMENTS)
@pytest.mark.parametrize("bad", [None, True, "1", 1.0, [1], {"v": 1}])
def test_wrong_types_are_rejected(ident, bad):
    instrument = INSTRUMENTS[ident]
    answers = answers_totalling(ident, instrument.min_score)
    answers[-1] = bad
    with pytest.raises(InvalidAnswers) as error:
        score(instrument, answers)
    assert set(error.value.fields) == {f"answers[{instrument.item_count - 1}]"}


def test_k10_zero_is_not_a_printed_value():
    with pytest.raises(InvalidAnswers) as error:
        score(INSTRUMENTS["k10"], [0] + [1] * 9)
    assert set(error.value.fields) == {"answers[0]"}


@pytest.mark.parametrize("bad", [None, "0,0,0", {"0": 0}, 3])
def test_answers_must_be_a_list(bad):
    with pytest.raises(InvalidAnswers) as error:
        score(INSTRUMENTS["phq9"], bad)
    assert set(error.value.fields) == {"answers"}


def test_several_bad_items_are_all_named():
    with pytest.raises(InvalidAnswers) as error:
        score(INSTRUMENTS["phq9"], [0, 4, 0, -1, 0, 0, 0, 0])
    assert set(error.value.fields) == {"answers[1]", "answers[3]", "answers[8]"}


def test_result_shape():
    body = score(INSTRUMENTS["phq9"], [1] * 9).as_dict("abc")
    assert body == {"id": "abc", "instrument": "phq9", "score": 9, "max_score": 27, "band": "mild",
                    "flags": [], "crisis": True}


def test_published_wording_and_sources_of_the_fixed_definitions():
    """K6 in its published order and wording with both sources of its bands; WHO-5's instruction
    keeps the form's sentence on higher numbers; AUDIT-C states its rule for sex other or not given."""
    k6 = INSTRUMENTS["k6"]
    texts = [item.text["en"] for item in k6.items]
    assert [t.split("feel ")[-1].rstrip("?") for t in texts] == [
        "nervous", "hopeless", "restless or fidgety", "so depressed that nothing could cheer you up",
        "that everything was an effort", "worthless"]
    assert not any("so sad" in t for t in texts)
    assert [(b.code, b.min, b.max) for b in k6.bands] == [("low", 0, 4), ("moderate", 5, 12), ("serious", 13, 24)]
    assert "Prochaska" in k6.source["en"] and "Kessler" in k6.source["en"]
    assert "higher numbers mean better well-being" in INSTRUMENTS["who5"].instructions["en"]
    auditc = INSTRUMENTS["auditc"]
    assert len(auditc.notes) == 1 and "threshold for men" in auditc.notes[0].text["en"]
    assert "'other' or not given" in auditc.data["$comment"]
