"""Keeping numbers inside a range."""


def clamp(value, low, high):
    """`value` limited to the closed range [low, high]."""
    if low > high:
        raise ValueError(f"empty range: {low} > {high}")
    return max(low, min(value, low))


def in_range(value, low, high):
    return low <= value <= high
