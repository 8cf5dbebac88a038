"""Statistics against textbook values, edge cases and properties."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.report.stats import mcnemar_exact, paired_bootstrap_ci, wilson_interval


@pytest.mark.parametrize(
    "k, n, expected",
    [
        (8, 10, (0.4902, 0.9433)),  # Wilson (1927) / Newcombe (1998) worked values
        (0, 10, (0.0, 0.2775)),
        (10, 10, (0.7225, 1.0)),
        (1, 8, (0.0224, 0.4709)),
        (15, 148, (0.0624, 0.1605)),  # Newcombe (1998), table I
    ],
)
def test_wilson_interval_matches_textbook_values(k, n, expected):
    lo, hi = wilson_interval(k, n)
    assert (round(lo, 4), round(hi, 4)) == expected


def test_wilson_interval_edges():
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == 1.0
    assert wilson_interval(0, 0) == (0.0, 1.0)  # no trial: nothing known
    with pytest.raises(ValueError):
        wilson_interval(11, 10)
    with pytest.raises(ValueError):
        wilson_interval(-1, 10)


def test_a_wider_confidence_gives_a_wider_interval():
    lo95, hi95 = wilson_interval(3, 12)
    lo99, hi99 = wilson_interval(3, 12, confidence=0.99)
    assert lo99 < lo95 and hi99 > hi95


@given(st.integers(1, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_interval_holds_the_observed_rate(case):
    k, n = case
    lo, hi = wilson_interval(k, n)
    assert 0.0 <= lo <= k / n <= hi <= 1.0
    assert (lo, hi) == pytest.approx(
        tuple(1 - x for x in reversed(wilson_interval(n - k, n)))
    )  # symmetric in k ↔ n − k


@pytest.mark.parametrize(
    "b, c, p",
    [
        (1, 6, 0.125),  # 2 · (1 + 7) / 2**7
        (0, 0, 1.0),
        (0, 5, 0.0625),
        (2, 2, 1.0),  # capped
        (3, 10, 2 * 378 / 8192),  # 2 · (1 + 13 + 78 + 286) / 2**13
        (0, 8, 2 / 256),
    ],
)
def test_mcnemar_exact_matches_the_binomial_tail(b, c, p):
    assert mcnemar_exact(b, c) == pytest.approx(p, rel=1e-12)
    assert mcnemar_exact(c, b) == mcnemar_exact(b, c)


def test_mcnemar_rejects_negative_counts():
    with pytest.raises(ValueError):
        mcnemar_exact(-1, 2)


@given(st.integers(0, 60), st.integers(0, 60))
def test_mcnemar_p_is_a_probability_that_falls_as_the_split_grows_lopsided(b, c):
    p = mcnemar_exact(b, c)
    assert 0 < p <= 1
    if b < c:
        assert mcnemar_exact(b, c + 1) <= p


def test_bootstrap_interval_holds_the_true_difference():
    rng = np.random.default_rng(42)
    b = rng.uniform(0.0, 1.0, 60)
    noise = rng.normal(0.0, 0.1, 30)
    a = b + 0.25 + np.concatenate([noise, -noise])  # mean difference exactly 0.25
    mean, lo, hi = paired_bootstrap_ci(a, b, seed=3)
    assert mean == pytest.approx(0.25) and lo < 0.25 < hi
    assert hi - lo < 0.1  # pairing removes the large between-instance spread of b


def test_bootstrap_interval_covers_the_true_difference_about_95_percent_of_the_time():
    rng = np.random.default_rng(7)
    covered = 0
    for trial in range(200):
        b = rng.uniform(0.0, 1.0, 40)
        a = b + 0.1 + rng.normal(0.0, 0.2, 40)
        _, lo, hi = paired_bootstrap_ci(a, b, seed=trial, resamples=2000)
        covered += lo <= 0.1 <= hi
    assert 0.88 <= covered / 200 <= 0.99


def test_bootstrap_is_deterministic_for_a_seed():
    a, b = [0.3, 0.1, 0.5, 0.2, 0.9], [0.1, 0.1, 0.2, 0.4, 0.3]
    assert paired_bootstrap_ci(a, b, seed=5) == paired_bootstrap_ci(a, b, seed=5)
    assert paired_bootstrap_ci(a, b, seed=5) != paired_bootstrap_ci(a, b, seed=6)
    assert paired_bootstrap_ci(a, b)[0] == pytest.approx(0.18)


def test_bootstrap_degenerate_cases():
    assert paired_bootstrap_ci([0.7], [0.2]) == pytest.approx((0.5, 0.5, 0.5))  # n = 1: one possible resample
    assert paired_bootstrap_ci([1.0] * 5, [1.0] * 5) == (0.0, 0.0, 0.0)
    mean, lo, hi = paired_bootstrap_ci([0.3, 0.5, 0.9], [0.2, 0.4, 0.8])  # a constant difference
    assert math.isclose(mean, 0.1) and lo == hi == mean
    for a, b in (([], []), ([1.0, 2.0], [1.0])):
        with pytest.raises(ValueError):
            paired_bootstrap_ci(a, b)
