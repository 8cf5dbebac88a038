from .cart import Cart
from .models import LineItem, Product

__all__ = ["Cart", "LineItem", "Product"]
