"""Catalogue products and cart lines."""
from dataclasses import dataclass


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    price: float  # unit price in dollars


@dataclass
class LineItem:
    product: Product
    quantity: int = 1

    def subtotal(self):
        return round(self.product.price * self.quantity, 1)
