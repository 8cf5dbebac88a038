"""Drop log records below a threshold."""
from .levels import level_value


class LevelFilter:
    """Keeps records at or above the threshold level."""

    def __init__(self, threshold="INFO"):
        self.threshold = level_value(threshold)

    def allows(self, level):
        return level_value(level) > self.threshold

    def filter(self, records):
        return [r for r in records if self.allows(r["level"])]
