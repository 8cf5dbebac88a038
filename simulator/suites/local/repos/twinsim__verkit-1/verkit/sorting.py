"""Ordering helpers for version strings."""
from .version import parse_version


def sort_versions(versions, reverse=False):
    return sorted(versions, key=parse_version, reverse=reverse)


def latest(versions):
    """The highest version in `versions`, or None if there are none."""
    return max(versions, key=parse_version, default=None)


def is_newer(candidate, current):
    return parse_version(candidate) > parse_version(current)
