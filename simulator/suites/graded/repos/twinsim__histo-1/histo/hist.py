"""Histograms of numbers."""

from .stats import bounds


def histogram(values, bins):
    """Counts of `values` in `bins` equal-width bins from min to max (max goes in the last bin)."""
    if bins < 1:
        raise ValueError("need at least one bin")
    lo, hi = bounds(values)
    width = (hi - lo) / bins or 1
    counts = [0] * bins
    for v in values:
        counts[int((v - lo) / width)] += 1
    return counts
