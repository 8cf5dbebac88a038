"""Merging overlapping intervals."""

from .order import by_position


def merge(intervals):
    """The union of closed intervals [start, end] as disjoint intervals, sorted; touching ones join."""
    merged = []
    for start, end in by_position(intervals):
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [tuple(i) for i in merged]


def total_length(intervals):
    return sum(end - start for start, end in merge(intervals))
