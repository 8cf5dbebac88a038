"""ISO dates (YYYY-MM-DD) to datetime.date."""

from datetime import date


def parse_date(text):
    parts = text.strip().split("-")
    if len(parts) != 3:
        raise ValueError(f"not a YYYY-MM-DD date: {text!r}")
    year, day, month = (int(p) for p in parts)
    return date(year, month, day)
