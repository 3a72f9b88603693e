"""colosseum.scoring against values worked out by hand (the arithmetic is in the comments)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from colosseum import scoring

NAN = np.nan


# ----------------------------------------------------------------------------- sign_accuracy

def test_sign_accuracy_nan_and_zero_estimates_are_misses_and_flat_points_are_excluded():
    truth = [1.0, -2.0, 3.0, -4.0, 0.0005, 5.0]
    est = [0.5, -1.0, NAN, 0.0, 7.0, -1.0]
    # zero_tol = 1e-3 drops row 4 (|0.0005| <= 1e-3); signed rows 0, 1, 2, 3, 5:
    #   row 0: + vs +  hit      row 1: - vs -  hit     row 2: NaN  miss
    #   row 3: 0 vs -  miss     row 5: - vs +  miss    -> 2 / 5 = 0.4
    # (had row 4 been kept, its + estimate would be a hit: 3 / 6 = 0.5)
    assert scoring.sign_accuracy(truth, est, zero_tol=1e-3) == pytest.approx(0.4, abs=1e-12)
    # zero_tol = 0 keeps row 4 (a hit): 3 / 6
    assert scoring.sign_accuracy(truth, est, zero_tol=0.0) == pytest.approx(0.5, abs=1e-12)


def test_sign_accuracy_tolerance_boundary_is_excluded():
    # |truth| == zero_tol counts as flat: rows 0 and 1 are dropped, rows 2, 3 both hit -> 2 / 2 = 1.
    # (if rows 0, 1 were kept, both estimates are wrong: 2 / 4 = 0.5)
    truth = [0.5, -0.5, 2.0, -2.0]
    est = [-1.0, 1.0, 1.0, -1.0]
    assert scoring.sign_accuracy(truth, est, zero_tol=0.5) == pytest.approx(1.0, abs=1e-12)
    assert scoring.sign_accuracy(truth, est, zero_tol=0.49) == pytest.approx(0.5, abs=1e-12)


def test_sign_accuracy_all_nan_estimates_score_zero_and_all_flat_truth_is_nan():
    # every estimate abstains: 0 hits out of 4 signed points
    assert scoring.sign_accuracy([1.0, -1.0, 2.0, -2.0], [NAN] * 4) == 0.0
    # no signed point at all (all |truth| <= 0.1): undefined
    assert math.isnan(scoring.sign_accuracy([0.0, 0.05, -0.1, 0.0], [1.0, 1.0, -1.0, 1.0], zero_tol=0.1))


# ----------------------------------------------------------------------------- balanced_sign_accuracy

def test_balanced_sign_accuracy_constant_predictor_scores_one_half():
    truth = [1.0, 2.0, 3.0, -1.0, -2.0, -3.0, -4.0, -5.0]  # 3 positive, 5 negative
    always_neg = [-1.0] * 8
    always_pos = [1.0] * 8
    # always -1: positive recall 0/3, negative recall 5/5 -> (0 + 1) / 2 = 0.5 (plain accuracy 5/8)
    assert scoring.balanced_sign_accuracy(truth, always_neg) == pytest.approx(0.5, abs=1e-12)
    assert scoring.sign_accuracy(truth, always_neg) == pytest.approx(5 / 8, abs=1e-12)
    # always +1: positive recall 3/3, negative recall 0/5 -> 0.5 (plain accuracy 3/8)
    assert scoring.balanced_sign_accuracy(truth, always_pos) == pytest.approx(0.5, abs=1e-12)
    assert scoring.sign_accuracy(truth, always_pos) == pytest.approx(3 / 8, abs=1e-12)


def test_balanced_sign_accuracy_by_hand():
    truth = [1.0, 2.0, 3.0, -1.0, -2.0, -3.0, -4.0, -5.0]
    est = [1.0, NAN, -1.0, -1.0, -1.0, 0.0, -2.0, 3.0]
    # positives (rows 0-2): hit, NaN miss, miss               -> recall 1/3
    # negatives (rows 3-7): hit, hit, 0 miss, hit, miss        -> recall 3/5
    # balanced = (1/3 + 3/5) / 2 = (5/15 + 9/15) / 2 = 7/15
    assert scoring.balanced_sign_accuracy(truth, est) == pytest.approx(7 / 15, abs=1e-12)
    # plain accuracy for comparison: 4 hits / 8 = 0.5
    assert scoring.sign_accuracy(truth, est) == pytest.approx(0.5, abs=1e-12)


def test_balanced_sign_accuracy_excludes_flat_points_and_handles_one_class():
    truth = [0.01, -0.01, 2.0, 3.0, -4.0]
    est = [-1.0, 1.0, 1.0, -1.0, -1.0]
    # zero_tol 0.1 drops rows 0, 1; positives rows 2, 3: recall 1/2; negatives row 4: recall 1
    # -> (1/2 + 1) / 2 = 0.75.  (with rows 0, 1 kept: pos 1/3, neg 1/2 -> 5/12)
    assert scoring.balanced_sign_accuracy(truth, est, zero_tol=0.1) == pytest.approx(0.75, abs=1e-12)
    assert scoring.balanced_sign_accuracy(truth, est, zero_tol=0.0) == pytest.approx(5 / 12, abs=1e-12)
    # only the positive class present: undefined, or a positive constant would score 1
    assert math.isnan(scoring.balanced_sign_accuracy([1.0, 2.0, 3.0, 4.0], [1.0, -1.0, NAN, 2.0]))
    assert math.isnan(scoring.balanced_sign_accuracy([-1.0, -2.0], [-1.0, -1.0]))
    # nothing signed: NaN
    assert math.isnan(scoring.balanced_sign_accuracy([0.0, 0.0], [1.0, -1.0]))


# ----------------------------------------------------------------------------- coverage

def test_coverage_counts_finite_estimates_over_all_points():
    # finite: 1, -2, 0 (rows 0, 3, 4); NaN and inf abstain -> 3 / 5 = 0.6.
    # Flat truth (row 4, |0| <= tol) still counts: coverage is over every evaluation point.
    truth = [1.0, -1.0, 2.0, -2.0, 0.0]
    est = [1.0, NAN, np.inf, -2.0, 0.0]
    assert scoring.coverage(truth, est, zero_tol=0.5) == pytest.approx(0.6, abs=1e-12)
    assert scoring.coverage(truth, [NAN] * 5) == 0.0
    assert scoring.coverage(truth, [1.0] * 5) == 1.0
    assert math.isnan(scoring.coverage([], []))


# ----------------------------------------------------------------------------- auroc

def test_auroc_by_hand_with_a_tie():
    truth = [1.0, 2.0, 3.0, -1.0, -2.0]
    est = [0.9, 0.5, 0.1, 0.5, 0.2]
    # positive vs negative pairs (pos est, neg est):
    #   (0.9,0.5)=1 (0.9,0.2)=1 (0.5,0.5)=tie 1/2 (0.5,0.2)=1 (0.1,0.5)=0 (0.1,0.2)=0
    #   -> 3.5 / 6 = 7/12
    assert scoring.auroc(truth, est) == pytest.approx(7 / 12, abs=1e-12)


def test_auroc_all_ties_is_one_half_perfect_is_one_reversed_is_zero():
    truth = [1.0, 2.0, -1.0, -2.0]
    # all 4 pairs tied: 4 * 1/2 / 4 = 0.5
    assert scoring.auroc(truth, [3.0, 3.0, 3.0, 3.0]) == pytest.approx(0.5, abs=1e-12)
    assert scoring.auroc(truth, [2.0, 1.0, -1.0, -2.0]) == pytest.approx(1.0, abs=1e-12)
    assert scoring.auroc(truth, [-2.0, -1.0, 1.0, 2.0]) == pytest.approx(0.0, abs=1e-12)


def test_auroc_drops_nan_estimates_and_flat_points():
    # rows 0-4 as in the by-hand test (7/12); row 5 (positive) abstains and is dropped;
    # row 6 is flat (|0.001| <= 0.01) and dropped even though its estimate would add pairs.
    truth = [1.0, 2.0, 3.0, -1.0, -2.0, 4.0, 0.001]
    est = [0.9, 0.5, 0.1, 0.5, 0.2, NAN, 100.0]
    assert scoring.auroc(truth, est, zero_tol=0.01) == pytest.approx(7 / 12, abs=1e-12)
    # with zero_tol = 0 row 6 is a positive with the top estimate: 2 more wins -> 5.5 / 8
    assert scoring.auroc(truth, est, zero_tol=0.0) == pytest.approx(5.5 / 8, abs=1e-12)


def test_auroc_is_nan_with_one_class():
    assert math.isnan(scoring.auroc([1.0, 2.0, 3.0, 4.0], [1.0, -1.0, 0.5, 2.0]))
    assert math.isnan(scoring.auroc([-1.0, -2.0, -3.0, -4.0], [1.0, -1.0, 0.5, 2.0]))
    # the only negative abstains: one class left among finite estimates
    assert math.isnan(scoring.auroc([1.0, 2.0, -3.0, 4.0], [1.0, -1.0, NAN, 2.0]))
    # the only negative is flat: one class left among signed points
    assert math.isnan(scoring.auroc([1.0, 2.0, -0.01, 4.0], [1.0, -1.0, 0.0, 2.0], zero_tol=0.1))


# ----------------------------------------------------------------------------- pearson / spearman

def test_pearson_by_hand():
    truth = [1.0, 2.0, 3.0, 4.0]
    est = [2.0, 4.0, 5.0, 9.0]
    # mean t = 2.5, dt = (-1.5, -0.5, 0.5, 1.5), sum dt^2 = 5
    # mean e = 5,   de = (-3, -1, 0, 4),       sum de^2 = 26
    # sum dt*de = 4.5 + 0.5 + 0 + 6 = 11  ->  r = 11 / sqrt(5 * 26) = 11 / sqrt(130)
    assert scoring.pearson(truth, est) == pytest.approx(11 / math.sqrt(130), rel=1e-12)
    # a NaN estimate drops its row: rows 0-3 unchanged
    assert scoring.pearson(truth + [10.0], est + [NAN]) == pytest.approx(11 / math.sqrt(130), rel=1e-12)
    # exact linear relation: 1 and -1
    assert scoring.pearson(truth, [-3.0, -5.0, -7.0, -9.0]) == pytest.approx(-1.0, abs=1e-12)


def test_pearson_nan_for_constant_input_or_too_few_points():
    assert math.isnan(scoring.pearson([1.0, 2.0, 3.0, 4.0], [2.0, 2.0, 2.0, 2.0]))
    assert math.isnan(scoring.pearson([2.0, 2.0, 2.0, 2.0], [1.0, 2.0, 3.0, 4.0]))
    # only two finite pairs remain
    assert math.isnan(scoring.pearson([1.0, 2.0, 3.0, 4.0], [1.0, NAN, NAN, 4.0]))


def test_spearman_by_hand():
    truth = [1.0, 2.0, 3.0, 4.0, 5.0]
    est = [10.0, 30.0, 20.0, 40.0, 50.0]
    # ranks of est: (1, 3, 2, 4, 5); d = (0, 1, -1, 0, 0), sum d^2 = 2
    # rho = 1 - 6 * 2 / (5 * (25 - 1)) = 1 - 12/120 = 0.9
    assert scoring.spearman(truth, est) == pytest.approx(0.9, rel=1e-12)
    # monotone but non-linear: rank correlation is exactly 1 while Pearson is below 1
    cube = [1.0, 8.0, 27.0, 64.0, 1000.0]
    assert scoring.spearman(truth, cube) == pytest.approx(1.0, abs=1e-12)
    assert scoring.pearson(truth, cube) < 0.95


def test_spearman_with_ties_uses_average_ranks():
    truth = [1.0, 2.0, 3.0, 4.0]
    est = [1.0, 1.0, 2.0, 3.0]
    # ranks: t = (1, 2, 3, 4), e = (1.5, 1.5, 3, 4); both have mean 2.5
    # dt = (-1.5, -0.5, 0.5, 1.5), de = (-1, -1, 0.5, 1.5)
    # sum dt*de = 1.5 + 0.5 + 0.25 + 2.25 = 4.5; sum dt^2 = 5; sum de^2 = 1 + 1 + 0.25 + 2.25 = 4.5
    # rho = 4.5 / sqrt(5 * 4.5) = sqrt(0.9)
    assert scoring.spearman(truth, est) == pytest.approx(math.sqrt(0.9), rel=1e-12)


def test_spearman_nan_for_constant_input():
    assert math.isnan(scoring.spearman([1.0, 2.0, 3.0, 4.0], [5.0, 5.0, 5.0, 5.0]))
    assert math.isnan(scoring.spearman([0.0, 0.0, 0.0, 0.0], [1.0, 2.0, 3.0, 4.0]))
    assert math.isnan(scoring.spearman([1.0, 2.0, 3.0], [1.0, NAN, 3.0]))


# ----------------------------------------------------------------------------- metric_values / class_shares

def _points_table() -> pd.DataFrame:
    # rows with point -1 stand for a cell without evaluation points and must be ignored.
    return pd.DataFrame({
        "point":          [0,    1,    2,    3,    4,    5,   -1],
        "true_curvature": [0.5, -0.5,  2.0, -3.0,  0.05, 1.0, 9.0],
        "zero_tol":       [0.1,  1.0,  0.1,  0.1,  0.1,  0.0, 0.0],
        "estimate":       [1.0,  1.0, -1.0, -0.5,  NAN,  3.0, -5.0],
    })


def test_metric_values_applies_each_rows_own_zero_tol():
    vals = scoring.metric_values(_points_table())
    assert set(vals) == set(scoring.METRICS)
    # flat by their own tolerance: row 1 (0.5 <= 1.0) and row 4 (0.05 <= 0.1).
    # signed rows: 0 (+, est +), 2 (+, est -), 3 (-, est -), 5 (+, est +)
    # sign_accuracy = 3/4.  (one global tol 0 would give 3/6; a global tol 1.0 would give 2/3)
    assert vals["sign_accuracy"] == pytest.approx(0.75, abs=1e-12)
    # positives 0, 2, 5: recall 2/3; negative 3: recall 1 -> (2/3 + 1)/2 = 5/6
    assert vals["balanced_sign_accuracy"] == pytest.approx(5 / 6, abs=1e-12)
    # rows 0-5 (point >= 0): 5 finite of 6 (row 4 NaN); the point -1 row is not counted
    assert vals["coverage"] == pytest.approx(5 / 6, abs=1e-12)
    # auroc over signed finite rows: positives est 1.0, -1.0, 3.0 vs negative est -0.5
    #   1.0 > -0.5 win, -1.0 < -0.5 loss, 3.0 > -0.5 win -> 2/3
    #   (were flat row 1 (negative, est 1.0) included it would be 3.5/6)
    assert vals["auroc"] == pytest.approx(2 / 3, abs=1e-12)
    # pearson over finite rows 0, 1, 2, 3, 5 (flat rows included, NaN row 4 dropped):
    #   t = (0.5, -0.5, 2, -3, 1), mean 0;  e = (1, 1, -1, -0.5, 3), mean 0.7
    #   de = (0.3, 0.3, -1.7, -1.2, 2.3)
    #   sum t*de = 0.15 - 0.15 - 3.4 + 3.6 + 2.3 = 2.5
    #   sum t^2 = 0.25 + 0.25 + 4 + 9 + 1 = 14.5;  sum de^2 = 0.09 + 0.09 + 2.89 + 1.44 + 5.29 = 9.8
    #   r = 2.5 / sqrt(14.5 * 9.8) = 2.5 / sqrt(142.1)
    assert vals["pearson"] == pytest.approx(2.5 / math.sqrt(142.1), rel=1e-9)
    # spearman: ranks t = (3, 2, 5, 1, 4), ranks e = (3.5, 3.5, 1, 2, 5), both mean 3
    #   dt = (0, -1, 2, -2, 1), de = (0.5, 0.5, -2, -1, 2)
    #   sum dt*de = 0 - 0.5 - 4 + 2 + 2 = -0.5; sum dt^2 = 10; sum de^2 = 9.5
    #   rho = -0.5 / sqrt(95)
    assert vals["spearman"] == pytest.approx(-0.5 / math.sqrt(95), rel=1e-9)


def test_metric_values_subset_of_metrics():
    vals = scoring.metric_values(_points_table(), metrics=("coverage", "auroc"))
    assert list(vals) == ["coverage", "auroc"]


def test_class_shares():
    # signed rows (point >= 0, |truth| > own zero_tol): 0, 2, 3, 5 -> n = 4; positive: 0, 2, 5 -> 3/4
    n, share = scoring.class_shares(_points_table())
    assert n == 4
    assert share == pytest.approx(0.75, abs=1e-12)
    # all flat: (0, NaN)
    flat = pd.DataFrame({"point": [0, 1], "true_curvature": [0.0, 0.01],
                         "zero_tol": [0.1, 0.1], "estimate": [1.0, 1.0]})
    n, share = scoring.class_shares(flat)
    assert n == 0 and math.isnan(share)
