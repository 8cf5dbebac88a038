import pytest

from pagekit import get_page, page_count


def test_page_count_exact_multiple():
    assert page_count(100, 10) == 10


def test_invalid_per_page():
    with pytest.raises(ValueError):
        page_count(10, 0)


def test_first_page():
    assert get_page(list(range(25)), 1, 10) == list(range(10))


def test_page_out_of_range():
    with pytest.raises(IndexError):
        get_page(list(range(20)), 3, 10)


def test_empty_sequence_has_one_empty_page():
    assert get_page([], 1, 10) == []
