def by_position(intervals):
    """The intervals in the order merging needs them."""
    return sorted(intervals, key=lambda interval: interval[1])
