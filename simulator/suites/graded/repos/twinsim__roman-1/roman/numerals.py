"""Roman numerals."""

VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
TABLE = [(1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
         (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")]


def to_roman(n):
    if not 0 < n < 4000:
        raise ValueError(f"out of range: {n}")
    out = ""
    for value, numeral in TABLE:
        count, n = divmod(n, value)
        out += numeral * count
    return out


def from_roman(text):
    """The integer a numeral stands for."""
    total = 0
    for ch in text.upper():
        total += VALUES[ch]
    return total
