"""Paired comparisons of two models on the same items, each checked against a computation done by hand."""
import math, warnings
import pytest
from safesteer.evaluate import (paired_difference, mcnemar_exact, holm, paired_pvalue, pooled_difference, item_id,
                                item_outcomes, paired_comparison)

def test_paired_difference_by_hand():
    # d = [1, 1, 0, 0, -1]: mean 0.2; squared deviations 0.64, 0.64, 0.04, 0.04, 1.44 sum 2.8; sd^2 = 2.8 / 4 = 0.7
    r = paired_difference([0, 0, 1, 0, 1], [1, 1, 1, 0, 0])
    assert r['n'] == 5 and r['delta'] == pytest.approx(0.2) and r['stderr'] == pytest.approx(math.sqrt(0.7) / math.sqrt(5))
    assert math.isnan(paired_difference([1], [0])['stderr'])             # one item: no spread
    assert paired_difference([], [])['n'] == 0
    with pytest.raises(ValueError, match='equal lengths'): paired_difference([1, 0], [1])

def test_mcnemar_exact_by_hand():
    # b = 2, c = 8, 10 discordant: P(X <= 2) = (1 + 10 + 45) / 1024 = 56 / 1024; two-sided 112 / 1024 = 0.109375
    assert mcnemar_exact(2, 8) == pytest.approx(112 / 1024)
    assert mcnemar_exact(8, 2) == mcnemar_exact(2, 8)
    assert mcnemar_exact(0, 10) == pytest.approx(2 / 1024)
    assert mcnemar_exact(5, 5) == 1.0 and mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(0, 1) == 1.0                                     # 2 * 1/2, capped at 1
    with pytest.raises(ValueError): mcnemar_exact(-1, 2)

def test_holm_by_hand():
    # p = [0.04, 0.001, 0.03, 0.2], m = 4: sorted 0.001 (x4 = 0.004), 0.03 (x3 = 0.09), 0.04 (x2 = 0.08 -> 0.09), 0.2 (x1 -> 0.2)
    assert holm([0.04, 0.001, 0.03, 0.2]) == pytest.approx([0.09, 0.004, 0.09, 0.2])
    assert holm([0.6, 0.7]) == pytest.approx([1.0, 1.0])                  # capped at 1
    assert holm([]) == []
    out = holm([float('nan'), 0.01]); assert math.isnan(out[0]) and out[1] == pytest.approx(0.01)

def test_paired_pvalue_binary_uses_mcnemar():
    base, other = [1, 1, 0, 0, 0, 0], [0, 1, 1, 1, 1, 0]                  # b = 1, c = 3: 2 * (1 + 4) / 16
    assert paired_pvalue(base, other) == pytest.approx(10 / 16)
    assert paired_pvalue([True, False], [True, True]) == pytest.approx(1.0)

def test_pooled_difference_by_hand():
    # a: d = [1, 1] (delta 1), b: d = [0, 0, -1] (delta -1/3); pooled d = [1, 1, 0, 0, -1]: mean 0.2, sd^2 0.7 (above)
    r = pooled_difference({'a': ([0, 0], [1, 1]), 'b': ([1, 0, 1], [1, 0, 0])})
    assert r['n'] == 5 and r['delta'] == pytest.approx(0.2) and r['stderr'] == pytest.approx(math.sqrt(0.7 / 5))
    assert r['p'] == pytest.approx(mcnemar_exact(1, 2))                   # b = 1, c = 2 -> 2 * 4 / 8 = 1
    assert r['benchmarks']['a']['delta'] == 1.0 and r['benchmarks']['b']['delta'] == pytest.approx(-1 / 3)
    assert r['benchmarks']['b']['n'] == 3

def test_item_outcomes_and_comparison():
    mc = [dict(question='2+2?', pred=1, pred_norm=0, label=1), dict(question='3+3?', pred=0, pred_norm=0, label=1)]
    hs = [dict(question='ctx', pred=1, pred_norm=0, label=0)]            # hellaswag's primary metric is acc_norm
    safety = [dict(prompt='harm 1', verdict_keyword_xstest=False, verdict_logit=True),
              dict(prompt='harm 2', verdict_keyword_xstest=None)]
    base = item_outcomes({'arc_easy': mc, 'hellaswag': hs, 'advbench': safety, 'benign_anchors': [dict(prompt='hi', verdict_k=False)]})
    assert list(base['arc_easy'].values()) == [1.0, 0.0] and list(base['hellaswag'].values()) == [1.0]
    assert list(base['advbench'].values()) == [0.0, None]                # the primary (first) judge; None kept
    assert list(base['arc_easy']) == [item_id(mc[0]), item_id(mc[1])] and item_id(dict(item_id='HumanEval/0')) == 'HumanEval/0'
    other = {'arc_easy': {item_id(mc[0]): 0.0, item_id(mc[1]): 1.0}, 'hellaswag': {item_id(hs[0]): 0.0},
             'advbench': {item_id(safety[0]): 1.0, item_id(safety[1]): 1.0}, 'benign_anchors': {item_id(dict(prompt='hi')): 1.0}}
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        cmp = paired_comparison(base, other)
    assert any('advbench: 1 items paired' in str(x.message) for x in w)   # the unjudged item is left out
    assert set(cmp) == {'safety', 'over_refusal', 'capability'}
    # capability: d = [-1, 1, -1] mean -1/3; sd^2 = (4/9 + 16/9 + 4/9) / 2 = 4/3; b = 2, c = 1 -> p = 1
    cap = cmp['capability']
    assert cap['n'] == 3 and cap['delta'] == pytest.approx(-1 / 3) and cap['stderr'] == pytest.approx(math.sqrt(4 / 3 / 3))
    assert cap['p'] == 1.0 and set(cap['benchmarks']) == {'arc_easy', 'hellaswag'}
    assert cmp['safety']['delta'] == 1.0 and cmp['safety']['n'] == 1 and cmp['over_refusal']['delta'] == 1.0
    assert all(set(cmp[g]) >= {'delta', 'stderr', 'p', 'n', 'p_holm'} for g in cmp)
