from invoice.totals import subtotal, total


def test_subtotal():
    assert subtotal([(2, 1.5), (1, 3.0)]) == 6.0


def test_no_discount_no_tax():
    assert total([(1, 10.0)])["total"] == 10.0


def test_tax_without_discount():
    assert total([(1, 10.0)], tax_rate=0.2)["total"] == 12.0
