import pytest

from stockroom import Inventory


def test_add_and_count():
    inv = Inventory()
    inv.add("apple", 3)
    inv.add("apple", 2)
    assert inv.count("apple") == 5


def test_remove():
    inv = Inventory()
    inv.add("apple", 3)
    inv.remove("apple", 2)
    assert inv.count("apple") == 1


def test_unknown_sku_has_no_stock():
    assert Inventory().count("pear") == 0


def test_quantity_must_be_positive():
    with pytest.raises(ValueError):
        Inventory().add("apple", 0)
