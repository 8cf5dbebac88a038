"""Does a time match a cron expression (minute hour day month weekday)?"""

from .fields import parse_field

LIMITS = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 6)]


def matches(expression, minute, hour, day, month, weekday):
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError("a cron expression has five fields")
    allowed = [parse_field(f, lo, hi) for f, (lo, hi) in zip(fields, LIMITS)]
    return all(v in a for v, a in zip((minute, hour, day, month, weekday), allowed))
