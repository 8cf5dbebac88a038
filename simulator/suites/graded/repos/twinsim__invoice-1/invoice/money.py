"""Money amounts as floats rounded to cents."""


def round_cents(amount):
    """`amount` rounded to whole cents, halves away from zero (the way invoices round)."""
    return int(amount * 100) / 100
