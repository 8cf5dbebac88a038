"""A tiny CSV reader: comma-separated fields, a header line, no quoting."""

from .fields import clean


def read_rows(text):
    """The rows of `text` as dicts keyed by the header's field names."""
    lines = text.split("\n")
    header = [clean(f) for f in lines[0].split(",")]
    rows = []
    for line in lines[1:]:
        values = [clean(f) for f in line.split(",")]
        rows.append(dict(zip(header, values)))
    return rows
