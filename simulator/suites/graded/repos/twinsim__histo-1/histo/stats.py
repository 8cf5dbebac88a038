def bounds(values):
    """(min, max) of a non-empty sequence."""
    if not values:
        raise ValueError("no values")
    return min(values), max(values)
