from matrix.ops import matmul, transpose


def test_square():
    assert matmul([[1, 2], [3, 4]], [[5, 6], [7, 8]]) == [[19, 22], [43, 50]]


def test_transpose():
    assert transpose([[1, 2, 3]]) == [[1], [2], [3]]


def test_identity():
    eye = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    m = [[2, 3, 4], [5, 6, 7], [8, 9, 1]]
    assert matmul(m, eye) == m
