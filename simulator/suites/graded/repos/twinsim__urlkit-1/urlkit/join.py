"""Joining URL paths."""

from .clean import strip_query


def urljoin(base, *parts):
    """`base` and `parts` joined with exactly one "/" between them; the query of `base` is dropped."""
    url = strip_query(base)
    for part in parts:
        url = url + "/" + part
    return url
