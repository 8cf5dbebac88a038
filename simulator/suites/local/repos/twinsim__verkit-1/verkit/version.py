"""Parse dotted version strings such as "v1.2.3"."""


def parse_version(text):
    """A sort key for a version string; a leading "v" is ignored."""
    text = text.strip().lstrip("vV")
    parts = text.split(".")
    if not all(part.isdigit() for part in parts):
        raise ValueError(f"invalid version: {text!r}")
    return tuple(parts)
