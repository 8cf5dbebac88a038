import pytest

from shopcart import Cart, Product

TEA = Product("tea", "Green tea", 2.50)
MUG = Product("mug", "Mug", 1.20)


def test_empty_cart():
    assert Cart().total() == 0


def test_total():
    cart = Cart()
    cart.add(TEA, 2)
    cart.add(MUG)
    assert cart.total() == 6.2


def test_adding_twice_increases_quantity():
    cart = Cart()
    cart.add(TEA)
    cart.add(TEA, 2)
    assert cart.lines["tea"].quantity == 3


def test_remove():
    cart = Cart()
    cart.add(TEA)
    cart.remove("tea")
    assert cart.total() == 0


def test_discount():
    cart = Cart()
    cart.add(Product("box", "Gift box", 10.0))
    assert cart.total(discount=0.1) == 9.0


def test_invalid_quantity():
    with pytest.raises(ValueError):
        Cart().add(TEA, 0)
