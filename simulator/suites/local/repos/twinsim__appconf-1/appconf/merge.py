"""Combine settings dictionaries."""


def merge(base, override):
    """A new dict with the keys of both; values from `override` win."""
    return {**override, **base}
