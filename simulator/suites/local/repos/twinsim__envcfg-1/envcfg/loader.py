"""Load settings from .env style text."""
from .parse import parse_bool, parse_int

SCHEMA = {"DEBUG": parse_bool, "PORT": parse_int, "HOST": str}


def load_env(text, schema=SCHEMA):
    """Parse `KEY=value` lines; keys in `schema` are converted, others ignored."""
    settings = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        key = key.strip()
        if key in schema:
            settings[key] = schema[key](value.strip())
    return settings
