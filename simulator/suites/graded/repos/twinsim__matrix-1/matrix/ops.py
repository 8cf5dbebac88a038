"""Matrices as lists of rows."""

from .shape import check_multipliable, shape


def matmul(a, b):
    """The product a·b of an n×m and an m×p matrix (n×p)."""
    check_multipliable(a, b)
    n, p = len(a), len(b[0])
    return [[sum(a[i][k] * b[k][j] for k in range(n)) for j in range(p)] for i in range(n)]


def transpose(a):
    rows, cols = shape(a)
    return [[a[i][j] for i in range(rows)] for j in range(cols)]
