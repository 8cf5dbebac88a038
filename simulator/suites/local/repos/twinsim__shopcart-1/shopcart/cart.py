"""A shopping cart."""
from .models import LineItem


class Cart:
    def __init__(self):
        self.lines = {}

    def add(self, product, quantity=1):
        if quantity < 1:
            raise ValueError("quantity must be at least 1")
        line = self.lines.setdefault(product.sku, LineItem(product, 0))
        line.quantity += quantity

    def remove(self, sku):
        self.lines.pop(sku, None)

    def total(self, discount=0.0):
        """Sum of the line subtotals minus a fractional `discount` (0.1 is 10% off)."""
        subtotal = sum(line.subtotal() for line in self.lines.values())
        return round(subtotal * (1 - discount), 2)
