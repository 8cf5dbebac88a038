from intervals.merge import merge, total_length


def test_disjoint():
    assert merge([(1, 2), (4, 5)]) == [(1, 2), (4, 5)]


def test_overlap():
    assert merge([(1, 3), (2, 6)]) == [(1, 6)]


def test_empty():
    assert merge([]) == [] and total_length([]) == 0
