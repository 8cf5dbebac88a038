"""Format seconds as a duration string."""
from .parse import UNITS


def format_duration(seconds):
    """Inverse of parse_duration: 5400 -> "1h30m"."""
    parts = []
    for unit, size in UNITS.items():  # largest unit first
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"
