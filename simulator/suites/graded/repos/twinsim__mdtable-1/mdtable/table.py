"""Markdown tables from rows."""

from .cells import cell_text


def render(header, rows):
    """A Markdown table with columns padded to their widest cell."""
    widths = [len(cell_text(h)) for h in header]
    lines = [_line(header, widths), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += [_line(row, widths) for row in rows]
    return "\n".join(lines)


def _line(cells, widths):
    return "|" + "|".join(f" {cell_text(c).ljust(w)} " for c, w in zip(cells, widths)) + "|"
