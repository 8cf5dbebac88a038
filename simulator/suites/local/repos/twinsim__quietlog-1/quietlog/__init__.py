from .filter import LevelFilter
from .levels import level_value

__all__ = ["LevelFilter", "level_value"]
