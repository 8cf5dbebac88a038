def shape(a):
    """(rows, columns); every row must have the same length."""
    if not a or any(len(row) != len(a[0]) for row in a):
        raise ValueError("not a rectangular matrix")
    return len(a), len(a[0])


def check_multipliable(a, b):
    (n, m), (m2, p) = shape(a), shape(b)
    if n != m2:
        raise ValueError(f"cannot multiply {n}x{m} by {m2}x{p}")
