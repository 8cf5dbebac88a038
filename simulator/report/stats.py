"""Small-sample statistics for router comparisons: exact where it can be, seeded where it cannot.

Router evaluations run on a handful to a few hundred instances, so a resolved
rate needs an interval (Wilson's, which behaves at 0 and n), two routers on the
same instances need a paired test (McNemar's exact binomial on the discordant
pairs), and a spend difference needs an interval that assumes no distribution
(a paired bootstrap, seeded so a report never changes between runs).
"""

import math
from statistics import NormalDist

import numpy as np

CONFIDENCE = 0.95
RESAMPLES = 10_000


def _z(confidence: float) -> float:
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson_interval(successes: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion; (0, 1) when there is no trial."""
    if not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes}/{n}")
    if n == 0:
        return 0.0, 1.0
    z, p = _z(confidence), successes / n
    center = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    # At 0 or n successes one end is exactly 0 or 1; rounding must not push it past.
    return max(0.0, center - half) if successes else 0.0, min(1.0, center + half) if successes < n else 1.0


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts b (only A succeeded) and c (only B).

    Under no difference each discordant pair goes either way with probability 1/2,
    so p = 2 · P(Binomial(b + c, 1/2) <= min(b, c)), capped at 1.
    """
    if b < 0 or c < 0:
        raise ValueError(f"discordant counts must be >= 0, got {b}, {c}")
    n = b + c
    tail = sum(math.comb(n, i) for i in range(min(b, c) + 1))
    return min(1.0, 2 * tail / 2**n)


def paired_bootstrap_ci(
    a, b, *, seed: int = 0, resamples: int = RESAMPLES, confidence: float = CONFIDENCE
) -> tuple[float, float, float]:
    """Mean of a - b over paired observations, with a percentile bootstrap interval.

    Resamples whole pairs (instances), so what the two routers share per instance
    cancels. Seeded numpy Generator and a fixed number of resamples: the same
    input gives the same interval on every run.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.ndim != 1 or a.shape != b.shape or len(a) == 0:
        raise ValueError(f"need two equally long, non-empty sequences of paired values, got {a.shape} and {b.shape}")
    diffs = a - b
    mean = float(diffs.mean())
    index = np.random.default_rng(seed).integers(0, len(diffs), size=(resamples, len(diffs)))
    means = diffs[index].mean(axis=1)
    alpha = (1 - confidence) / 2
    lo, hi = np.quantile(means, [alpha, 1 - alpha])
    # A constant difference has a zero-width interval; keep float noise from opening it.
    return mean, min(float(lo), mean), max(float(hi), mean)
