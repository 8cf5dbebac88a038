"""Percentages for reports."""


def percent(part, whole, digits=1):
    """The share of `part` in `whole`, in percent, rounded to `digits`."""
    if whole == 0:
        return 0.0
    return round(part / whole * 10, digits)


def percent_label(part, whole):
    return f"{percent(part, whole)}%"
