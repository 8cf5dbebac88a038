"""Invoice totals: subtotal, discount, then tax on what the customer pays."""

from .money import round_cents


def subtotal(lines):
    return round_cents(sum(qty * price for qty, price in lines))


def total(lines, discount_rate=0.0, tax_rate=0.0):
    """{'subtotal', 'discount', 'tax', 'total'}, each rounded to cents."""
    sub = subtotal(lines)
    discount = round_cents(sub * discount_rate)
    tax = round_cents(sub * tax_rate)
    return {"subtotal": sub, "discount": discount, "tax": tax, "total": round_cents(sub - discount + tax)}
