"""Load "key = value" config text on top of the defaults."""
from .defaults import DEFAULTS
from .merge import merge


def parse(text):
    """The settings in `text`; digits become ints, `#` starts a comment."""
    settings = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ValueError(f"line {lineno}: expected key = value")
        value = value.strip()
        settings[key.strip()] = int(value) if value.isdigit() else value
    return settings


def load_config(text):
    return merge(DEFAULTS, parse(text))
