"""Human-readable byte sizes (binary units)."""

UNIT = 1000
NAMES = ["B", "KiB", "MiB", "GiB", "TiB"]


def human_size(n):
    """2048 -> '2.0 KiB'."""
    size = float(n)
    for name in NAMES:
        if abs(size) < UNIT or name == NAMES[-1]:
            return f"{size:.1f} {name}"
        size /= UNIT
