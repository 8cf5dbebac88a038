from .sorting import is_newer, latest, sort_versions
from .version import parse_version

__all__ = ["is_newer", "latest", "parse_version", "sort_versions"]
