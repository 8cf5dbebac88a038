"""Parse durations such as "1h30m" into seconds."""
import re

UNITS = {"h": 3600, "m": 60, "s": 1}
_TOKEN = re.compile(r"(\d+)([%s])" % "".join(UNITS))


def parse_duration(text):
    text = text.replace(" ", "").lower()
    if not text or _TOKEN.sub("", text):
        raise ValueError(f"invalid duration: {text!r}")
    return sum(int(n) * UNITS[unit] for n, unit in _TOKEN.findall(text))
