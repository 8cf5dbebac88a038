"""Log level names and their numeric severities."""

DEBUG, INFO, WARNING, ERROR = 10, 20, 30, 40
NAMES = {"DEBUG": DEBUG, "INFO": INFO, "WARNING": WARNING, "ERROR": ERROR}


def level_value(level):
    """Accept a level name ("warning") or a number."""
    if isinstance(level, int):
        return level
    return NAMES[level.upper()]
