"""Formatting amounts with thousands separators."""

from .group import group_thousands


def format_amount(amount, currency="EUR"):
    """-1234.5 -> '-1,234.50 EUR'."""
    whole, cents = f"{amount:.2f}".split(".")
    return f"{group_thousands(whole)}.{cents} {currency}"
