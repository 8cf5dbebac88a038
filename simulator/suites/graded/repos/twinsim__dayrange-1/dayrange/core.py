"""Day counts between dates."""

from .parse import parse_date


def days_between(start, end):
    """Whole days from `start` to `end` (ISO strings); negative if `end` is earlier."""
    return (parse_date(end) - parse_date(start)).days


def is_weekend(text):
    return parse_date(text).weekday() >= 5
